#!/usr/bin/env bash
# Install everything mpiscore needs to build, test and benchmark, with apt-get
# (Debian 12). Idempotent: quiet and quick when all is already installed.
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config
    openmpi-bin libopenmpi-dev
    libhdf5-dev hdf5-tools
    libcsv-dev libhwloc-dev hwloc libjansson-dev
    python3 python3-numpy python3-sklearn python3-h5py python3-pandas python3-xgboost python3-requests
    gnuplot-nox
    slurm-wlm munge
    iproute2 clang libclang-rt-14-dev
    help2man dpkg-dev
    libmicrohttpd-dev wrk
    libsnappy-dev libzstd-dev zlib1g-dev liblz4-dev libbrotli-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
