#!/bin/sh
# netns-agent.sh — Open MPI's rsh agent (OMPI_MCA_plm_rsh_agent) for hosts
# simulated on one machine by network namespaces (tests/multinode/test_netns.sh).
#
# mpirun calls it as an ssh stand-in: `netns-agent.sh HOST WORD...`, the
# WORDs being the orted command line quoted for a remote shell. The agent
# runs that line inside HOST's namespace, as ssh would on a real host, with
# the host's own name (UTS namespace: Open MPI's session directories, and
# gethostname() in --report-bindings, differ per host) and its own mounts
# (mount namespace: folders hidden from that host stay hidden from it alone).
#
# Configured through the environment, which mpirun passes on to it:
#   MS_NETNS_HOSTS  "ADDR=NETNS=HOSTNAME ..."  the simulated hosts
#   MS_NETNS_HIDE   "ADDR=DIR ..."   cover DIR with an empty tmpfs on that host
#   MS_NETNS_ENV    "ADDR=VAR=VALUE ..."   environment of that host's daemon
#                                          and ranks
# Values hold no spaces (the test's folders come from mktemp).
set -eu
host=$1
shift
ns='' name='' hide='' envs=''
for e in ${MS_NETNS_HOSTS:?netns-agent: MS_NETNS_HOSTS is not set}; do
    case $e in
    "$host="*)
        rest=${e#"$host="}
        ns=${rest%%=*}
        name=${rest#*=}
        ;;
    esac
done
if [ -z "$ns" ]; then
    echo "netns-agent: no simulated host $host in MS_NETNS_HOSTS" >&2
    exit 255
fi
for e in ${MS_NETNS_HIDE:-}; do
    case $e in "$host="*) hide="$hide ${e#"$host="}" ;; esac
done
for e in ${MS_NETNS_ENV:-}; do
    case $e in "$host="*) envs="$envs ${e#"$host="}" ;; esac
done
# --propagation private: the tmpfs mounts never reach the other hosts.
# shellcheck disable=SC2016  # expanded by the inner shell
exec ip netns exec "$ns" unshare --uts --mount --propagation private sh -c '
    name=$1 hide=$2 envs=$3
    shift 3
    hostname "$name"
    for d in $hide; do
        mount -t tmpfs -o size=1m,mode=0755 ms-hidden "$d" || exit 255
    done
    for v in $envs; do
        export "$v"
    done
    exec sh -c "$*"' netns-agent "$name" "$hide" "$envs" "$@"
