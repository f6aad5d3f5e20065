#!/usr/bin/env bash
# Name-list options (--features of run, --feature-names of model import):
# "a,b,c", @FILE (one name per line, kept as written) and a JSON array give
# the same names, so feature names holding commas or blanks can be named;
# bad lists are usage errors that say why. The model is scored end to end
# and compared with scikit-learn's own predict_proba.
source "$MS_SRC/tests/lib.sh"
cd "$T"

"$MS_PYTHON" - <<'PY'
import subprocess, sys, os
import numpy as np, pandas as pd, h5py
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(7)
names = ["income, net", " age", "score"]
x = rng.normal(size=(400, 3))
y = (x @ [1.0, -2.0, 0.5] > 0).astype(int)
clf = LogisticRegression().fit(pd.DataFrame(x, columns=names), y)
import pickle
pickle.dump(clf, open("m.pkl", "wb"))
subprocess.check_call([sys.executable, os.environ["MS_SRC"] + "/scripts/export_sklearn.py", "m.pkl", "m.h5"])
with h5py.File("in.h5", "w") as f:  # no feature_names attribute: --features names them
    f["features"] = x
open("names.txt", "w").write("\n".join(names) + "\n")
open("names_crlf.txt", "w", newline="").write("\r\n".join(names) + "\r\n")
p = clf.predict_proba(pd.DataFrame(x, columns=names))
np.savetxt("ref.txt", p[:, 1])
PY

check_scores() { # OUT WHAT: p_1 equals scikit-learn's within 1e-6
    "$MS_PYTHON" - "$1" <<'PY' && ok "$2" || bad "$2"
import sys, numpy as np, pandas as pd
got = pd.read_csv(sys.argv[1])["p_1"].to_numpy()
ref = np.loadtxt("ref.txt")
sys.exit(0 if got.shape == ref.shape and np.max(np.abs(got - ref)) < 1e-6 else 1)
PY
}

for form in @names.txt @names_crlf.txt '["income, net"," age","score"]'; do
    rm -f out.csv
    if mpis 0 run --model m.h5 --input in.h5 --output out.csv --features "$form" 2>err.txt; then
        check_scores out.csv "--features $form names a comma and a leading blank"
    else
        bad "--features $form: $(cat err.txt)"
    fi
done
# the same under mpirun: every rank parses the option
rm -f out.csv
mpis 2 run --model m.h5 --input in.h5 --output out.csv --features @names.txt 2>err.txt ||
    bad "mpirun -n 2 --features @names.txt: $(cat err.txt)"
check_scores out.csv "--features @FILE under mpirun -n 2"

# a comma list cannot hold "income, net": it splits into four names
expect_fail 2 "in\.h5: /features has 3 columns but 4 feature names were given" mpis 0 run --model m.h5 --input in.h5 \
    --output out.csv --features 'income, net, age,score'
printf 'a\n\nb\n' >gap.txt
expect_fail 1 "^mpiscore run: --features @gap\.txt:2: empty name" \
    mpis 0 run --model m.h5 --input in.h5 --output out.csv --features @gap.txt
expect_fail 1 "^mpiscore run: --features @nothere\.txt: No such file or directory" \
    mpis 0 run --model m.h5 --input in.h5 --output out.csv --features @nothere.txt
: >empty.txt
expect_fail 1 "^mpiscore run: --features @empty\.txt: the file lists no names" \
    mpis 0 run --model m.h5 --input in.h5 --output out.csv --features @empty.txt
expect_fail 1 "^mpiscore run: --features: element 2 is not a string" \
    mpis 0 run --model m.h5 --input in.h5 --output out.csv --features '["a",2]'
expect_fail 1 "^mpiscore run: --features: not a JSON array of names" \
    mpis 0 run --model m.h5 --input in.h5 --output out.csv --features '[broken'
expect_fail 1 "^mpiscore run: --features a,,b: empty name" \
    mpis 0 run --model m.h5 --input in.h5 --output out.csv --features 'a,,b'

# model import xgboost --feature-names takes the same forms
"$MS_PYTHON" - <<'PY'
import numpy as np, xgboost as xgb
rng = np.random.default_rng(3)
x = rng.normal(size=(300, 3)); y = (x[:, 0] > 0).astype(int)
b = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(x, label=y), 3)
b.save_model("x.json")
PY
for form in @names.txt '["income, net"," age","score"]'; do
    rm -f x.h5
    if mpis 0 model import xgboost x.json -o x.h5 --feature-names "$form" >/dev/null 2>err.txt &&
        mpis 0 model info x.h5 | grep -q "income, net"; then
        ok "model import --feature-names $form"
    else
        bad "model import --feature-names $form: $(cat err.txt)"
    fi
done
expect_fail 1 "^mpiscore model import: --feature-names @gap\.txt:2: empty name" \
    mpis 0 model import xgboost x.json -o x2.h5 --feature-names @gap.txt
finish
