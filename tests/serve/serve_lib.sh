# tests/serve/serve_lib.sh — helpers for the endpoint server tests (sourced
# after tests/lib.sh). Each test gets its own $MPISCORE_HOME under $T and
# servers on ports the kernel picks (--port 0 + --port-file), so tests never
# collide; every server started here is stopped on exit.
export MPISCORE_HOME="$T/home"
SERVER_PIDS=()
cleanup_servers() {
    local p
    for p in "${SERVER_PIDS[@]}"; do
        { kill -9 "$p" && wait "$p"; } 2>/dev/null || true
    done
    rm -rf "$T" "$MS_OMPI_TMP"
}
trap cleanup_servers EXIT

# new_endpoint NAME: create it; keys into $PKEY and $SKEY.
new_endpoint() {
    "$MPISCORE" endpoint create "$1" >"$T/keys.$1"
    PKEY=$(awk '/^primary: /{print $2}' "$T/keys.$1")
    SKEY=$(awk '/^secondary: /{print $2}' "$T/keys.$1")
}

# one_model_endpoint NAME: the fixtures' logistic model registered as
# churn:1, endpoint NAME created (keys in $PKEY/$SKEY) with blue=churn:1.
one_model_endpoint() {
    make_fixtures
    "$MPISCORE" model register churn "$T/model.h5" >/dev/null
    new_endpoint "$1"
    "$MPISCORE" endpoint update "$1" --deployment blue=churn:1 >/dev/null
}

# start_server NAME [ARGS...]: serve in the background; sets SPID and PORT
# (waits until it listens, fails the test if it does not within 20 s).
start_server() {
    local name=$1
    shift
    rm -f "$T/port.$name"
    "$MPISCORE" serve "$name" --port 0 --port-file "$T/port.$name" "$@" 2>>"$T/serve.$name.err" &
    SPID=$!
    SERVER_PIDS+=("$SPID")
    for _ in $(seq 200); do
        [ -s "$T/port.$name" ] && break
        if ! kill -0 "$SPID" 2>/dev/null; then
            cat "$T/serve.$name.err" >&2
            bad "server for $name exited at start"
            return 1
        fi
        sleep 0.1
    done
    PORT=$(cat "$T/port.$name")
    URL="http://127.0.0.1:$PORT"
}

# stop_server PID: SIGTERM and wait; its exit code in $STOP_RC.
stop_server() {
    STOP_RC=0
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" || STOP_RC=$?
}

# http METHOD PATH [CURL ARGS...]: body into $T/body, status in $CODE.
http() {
    local m=$1 p=$2
    shift 2
    CODE=$(curl -s -o "$T/body" -w '%{http_code}' -X "$m" "$@" "$URL$p" || true)
}

# expect_code WANT WHAT: $CODE is WANT; for errors the body is {"error": "..."}.
expect_code() {
    if [ "$CODE" != "$1" ]; then
        bad "$2: expected HTTP $1, got $CODE: $(head -c 300 "$T/body")"
    elif [ "$1" -ge 400 ] && ! "$MS_PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, dict) and set(d) == {"error"} and isinstance(d["error"], str) and d["error"]
' "$T/body" 2>/dev/null; then
        bad "$2: HTTP $1 but the body is not {\"error\": \"...\"}: $(head -c 300 "$T/body")"
    else
        ok "$2: HTTP $1"
    fi
}

# still_serving WHAT: a health probe and a scored request still work.
still_serving() {
    local c1 c2
    c1=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v2/health/live" || true)
    c2=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $PKEY" \
        -d '{"columns":["a","b","c"],"data":[[0.1,0.2,0.3]]}' "$URL/score" || true)
    if [ "$c1" = 200 ] && [ "$c2" = 200 ]; then ok "still serving after $1"; else bad "not serving after $1 ($c1, $c2)"; fi
}

# metric NAME_AND_LABELS: the value of one /metrics sample (0 when absent).
metric() {
    curl -s -H "Authorization: Bearer $PKEY" "$URL/metrics" |
        awk -v k="$1" '$1 == k {print $2; found=1} END {if (!found) print 0}'
}

# wrk_script FILE KEY [EXTRA_HEADER_LUA]: a wrk script POSTing one row to /score.
wrk_script() {
    cat >"$1" <<LUA
wrk.method = "POST"
wrk.path = "/score"
wrk.body = '{"columns":["a","b","c"],"data":[[0.1,0.2,0.3]]}'
wrk.headers["Authorization"] = "Bearer $2"
wrk.headers["Content-Type"] = "application/json"
${3:-}
LUA
}

# wrk_clean OUT WHAT: wrk's report OUT shows requests and no error of any kind.
wrk_clean() {
    if grep -Eq 'Non-2xx|Socket errors' "$1" || ! grep -q 'requests in' "$1"; then
        bad "$2: $(cat "$1")"
    else
        ok "$2: $(grep -o '[0-9]* requests in [^,]*' "$1"), no error"
    fi
}
