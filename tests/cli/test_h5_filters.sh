#!/usr/bin/env bash
# Compressed HDF5 input (issue 12 item 17): gzip and shuffle+gzip read like
# the uncompressed dataset; a filter libhdf5 lacks (h5py's LZF) is refused
# while planning, naming the file, the dataset and the filter; a damaged
# compressed chunk (bytes overwritten at its offset, found with h5py's
# get_chunk_info) is an input error (exit 2) naming the file, the dataset
# and the rows, never an I/O error, with no output left behind. One process
# and mpirun -n 2.
source "$MS_SRC/tests/lib.sh"
make_fixtures
cd "$T"
"$MS_PYTHON" - <<'EOF'
import h5py, numpy as np
# small integers compress well, so every chunk really goes through the filter
rng = np.random.RandomState(17)
X = rng.randint(0, 5, size=(5000, 3)).astype("float32")
ids = np.array([b"row%d" % i for i in range(len(X))])
def write(name, damage=None, **kw):
    with h5py.File(name, "w") as f:
        d = f.create_dataset("features", data=X, chunks=(1000, 3), **kw)
        d.attrs["feature_names"] = ["a", "b", "c"]
        f.create_dataset("ids", data=ids, chunks=(1000,), **kw)
    if damage:
        with h5py.File(name, "r") as f:
            info = f[damage].id.get_chunk_info(1)  # rows 1001..2000
            assert info.filter_mask == 0 and info.size > 64, info
        with open(name, "r+b") as f:
            f.seek(info.byte_offset + info.size // 2)
            f.write(b"\xa5" * 32)
write("plain.h5")
write("gzip.h5", compression="gzip")
write("shuffle.h5", compression="gzip", shuffle=True)
write("lzf.h5", compression="lzf")
write("gzip_bad.h5", damage="features", compression="gzip")
write("shuffle_bad.h5", damage="features", compression="gzip", shuffle=True)
write("ids_bad.h5", damage="ids", compression="gzip")
with h5py.File("lzf_ids.h5", "w") as f:
    d = f.create_dataset("features", data=X, chunks=(1000, 3))
    d.attrs["feature_names"] = ["a", "b", "c"]
    f.create_dataset("ids", data=ids, chunks=(1000,), compression="lzf")
EOF

args=(--model "$T/model.h5" --id-column /ids --mini-batch-rows 1000)
mpis 0 run "${args[@]}" --input plain.h5 --output plain.csv
for f in gzip shuffle; do
    for n in 0 2; do
        rm -f "$f.csv"
        mpis "$n" run "${args[@]}" --input "$f.h5" --output "$f.csv"
        same plain.csv "$f.csv" "$f, $n ranks: scored like the uncompressed dataset"
    done
done

# refused CODE PATTERN INPUT: every launch exits CODE with the one line, and
# leaves no output, partial or journal
refused() {
    local code=$1 pat=$2 input=$3
    for n in 0 2; do
        rm -f out.csv out.csv.partial out.csv.journal
        expect_fail "$code" "$pat" mpis "$n" run "${args[@]}" --input "$input" --output out.csv
        # (mpirun adds its own notice of a non-zero exit)
        [ "$(grep -c '^mpiscore:' "$T/err.txt")" = 1 ] ||
            bad "$input, $n ranks: not one line: $(cat "$T/err.txt")"
        if [ -e out.csv ] || [ -e out.csv.partial ] || [ -e out.csv.journal ]; then
            bad "$input, $n ranks: output left behind"
        fi
    done
}
lzf_msg='filter LZF \(filter id 32000\) is not available in this HDF5 library; rewrite the dataset with gzip \(compression="gzip"\) or uncompressed$'
refused 2 "^mpiscore: error: lzf\.h5: /features: $lzf_msg" lzf.h5
refused 2 "^mpiscore: error: lzf_ids\.h5: /ids: $lzf_msg" lzf_ids.h5
damaged='cannot read rows 1001\.\.2000: a compressed chunk is damaged \(its filter failed to decode it\)$'
refused 2 "^mpiscore: error: gzip_bad\.h5: /features: $damaged" gzip_bad.h5
refused 2 "^mpiscore: error: shuffle_bad\.h5: /features: $damaged" shuffle_bad.h5
refused 2 "^mpiscore: error: ids_bad\.h5: /ids: cannot read ids 1001\.\.2000: a compressed chunk is damaged" \
    ids_bad.h5
finish
