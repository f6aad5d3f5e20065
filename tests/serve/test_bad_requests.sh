#!/usr/bin/env bash
# Bad requests and limits: malformed JSON, wrong shapes and datatypes,
# unknown model, missing feature, bad values, huge bodies, too many rows,
# slow clients, too many requests in flight or connections open. Each gets
# the right status and a JSON error, and the server keeps serving.
. "$MS_SRC/tests/lib.sh"
. "$MS_SRC/tests/serve/serve_lib.sh"
one_model_endpoint bad
start_server bad --max-body 1M --max-rows 100 --request-timeout 1.5 --idle-timeout 2 \
    --max-inflight 2 --max-connections 4
A=(-H "Authorization: Bearer $PKEY")

post() { # post PATH BODY WANT WHAT [PATTERN]
    http POST "$1" "${A[@]}" -H 'Content-Type: application/json' --data-binary "$2"
    expect_code "$3" "$4"
    if [ -n "${5:-}" ] && ! grep -Eq "$5" "$T/body"; then bad "$4: error does not say /$5/: $(cat "$T/body")"; fi
}
I=/v2/models/bad/infer
post /score '{"columns": ["a", "b"' 400 "truncated JSON" 'malformed JSON at line 1'
post $I 'not json' 400 "infer: not JSON" 'malformed JSON'
post /score '42' 400 "a JSON number" "expected near '42'"
post /score '{"columns":["a","b","c"],"data":[[1,2]]}' 400 "a short row" 'data\[0\]: 2 values for 3 columns'
post /score '{"columns":["a","b","c"],"data":[[1,2,{}]]}' 400 "an object as a value" 'row 0, column \\"c\\"'
post /score '{"columns":["a","a","c"],"data":[[1,2,3]]}' 400 "duplicate column" 'duplicate column name'
post /score '{"columns":["a","b"],"data":[[1,2]]}' 400 "missing feature" 'missing feature column \\"c\\"'
post /score '{"columns":["a","b","c"],"data":[[1,"abc",3]]}' 400 "not a number" 'row 0, column \\"b\\": not a number: \\"abc\\"'
post /score '{"columns":["a","b","c"],"data":[[1,2,3],[1,null,3]]}' 400 "missing value, linear model" 'row 1, column \\"b\\": missing value'
post /score '{"columns":["a","b","c"],"data":[[1,2,"1e999"]]}' 400 "beyond float64 (the model's precision)" 'value out of float64 range'
post /score '[{"a":1,"b":2,"c":3},5]' 400 "a record that is not an object" 'record 1'
post $I '{"inputs":[]}' 400 "no inputs" 'inputs'
post $I '{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3]}]}' 400 "shape/data mismatch" 'shape holds 6 values, data has 3'
post $I '{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}' 400 "wrong feature count" 'model takes 3 features'
post $I '{"inputs":[{"name":"x","shape":[1,1,3],"datatype":"FP32","data":[1,2,3]}]}' 400 "3-D shape" 'shape must be'
post $I '{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP99","data":[1,2,3]}]}' 400 "unknown datatype" 'unknown datatype'
post $I '{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,"2",3]}]}' 400 "a string in FP32 data" 'data\[1\] is not a number'
post $I '{"inputs":[{"name":"a","shape":[1],"datatype":"BYTES","data":[1]}]}' 400 "a number in BYTES data" 'not a string'
post $I '{"inputs":[{"name":"a","shape":[2],"datatype":"FP32","data":[1,2]},{"name":"b","shape":[1],"datatype":"FP32","data":[1]}]}' 400 "inputs of different lengths" 'has 1 rows'
post $I '{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]},{"name":"b","shape":[1],"datatype":"FP32","data":[1]}]}' 400 "infer: missing feature" 'missing feature column \\"c\\"'
post $I '{"inputs":[{"name":"x","shape":[-1,3],"datatype":"FP32","data":[1,2,3]}]}' 400 "negative shape" 'not a size'
post /v2/models/nosuch/infer '{}' 404 "unknown model" 'unknown model \\"nosuch\\"'
printf 'id,a,b,c\nx,1,2\n' >"$T/short.csv"
http POST /score "${A[@]}" -H 'Content-Type: text/csv' --data-binary @"$T/short.csv"
expect_code 400 "CSV body with a short record"
grep -q 'line 2: expected 4 fields, found 3' "$T/body" || bad "short CSV: $(cat "$T/body")"
printf 'a,b,c\n1,"2,3\n' >"$T/open.csv"
http POST /score "${A[@]}" -H 'Content-Type: text/csv' --data-binary @"$T/open.csv"
expect_code 400 "CSV body with an open quote"
still_serving "bad request bodies"

# sizes
head -c 2000000 /dev/zero | tr '\0' ' ' >"$T/big"
http POST /score "${A[@]}" --data-binary @"$T/big"
expect_code 413 "a 2 MB body (Content-Length) over --max-body 1M"
http POST /score "${A[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$T/big"
expect_code 413 "a 2 MB chunked body over --max-body 1M"
"$MS_PYTHON" -c 'import json; print(json.dumps({"columns": ["a","b","c"], "data": [[1,2,3]] * 101}))' >"$T/rows101"
http POST /score "${A[@]}" --data-binary @"$T/rows101"
expect_code 413 "101 rows over --max-rows 100"
"$MS_PYTHON" -c 'import json; print(json.dumps({"columns": ["a","b","c"], "data": [[1,2,3]] * 100}))' >"$T/rows100"
http POST /score "${A[@]}" --data-binary @"$T/rows100"
[ "$CODE" = 200 ] && ok "100 rows: at the limit, answered" || bad "100 rows: $CODE"
still_serving "huge bodies"

# slow clients, in-flight and connection limits: raw sockets
"$MS_PYTHON" - "$PORT" "$PKEY" <<'PY' && ok "slow clients and connection limits" || bad "slow clients and connection limits"
import json, socket, sys, time
port, key = int(sys.argv[1]), sys.argv[2]
body = b'{"columns":["a","b","c"],"data":[[0.1,0.2,0.3]]}'
def head(n):
    return (b"POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key.encode() +
            b"\r\nContent-Type: application/json\r\nContent-Length: " + str(n).encode() + b"\r\n\r\n")
def conn():
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    return s
def answer(s):
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
        if b"\r\n\r\n" in data:
            h, _, b = data.partition(b"\r\n\r\n")
            n = [int(l.split(b":")[1]) for l in h.split(b"\r\n") if l.lower().startswith(b"content-length")]
            if n and len(b) >= n[0]:
                break
    return data
def status(data):
    return int(data.split(b" ", 2)[1]) if data else None
def json_error(data):
    return "error" in json.loads(data.partition(b"\r\n\r\n")[2])

# idle: headers and half a body, then silence: closed after --idle-timeout 2
s = conn()
s.sendall(head(len(body)) + body[:10])
t0 = time.time()
d = answer(s)
dt = time.time() - t0
assert dt < 6, ("idle connection held", dt)
print("idle client cut after %.1f s" % dt, file=sys.stderr)
# slow: the whole body, a byte every 0.3 s (never idle), past --request-timeout 1.5: 408 JSON
s = conn()
s.sendall(head(len(body)))
for i in range(len(body)):
    s.send(body[i:i + 1])
    time.sleep(0.3 if i < 8 else 0)
d = answer(s)
assert status(d) == 408 and json_error(d), d
# in flight: two requests still arriving hold the 2 slots: the third gets 429
hold = [conn(), conn()]
for h in hold:
    h.sendall(head(len(body)) + body[:5])
time.sleep(0.3)
s = conn()
s.sendall(head(len(body)) + body)
d = answer(s)
assert status(d) == 429 and json_error(d) and b"Retry-After" in d, d
for h in hold:
    h.close()
time.sleep(0.5)
# connections: 4 open (one of them ours) is the limit, the 5th is answered 503
idle = [conn() for _ in range(4)]
time.sleep(0.3)
s = conn()
s.sendall(head(len(body)) + body)
d = answer(s)
assert status(d) == 503 and json_error(d), d
for i in idle:
    i.close()
time.sleep(0.3)
s = conn()
s.sendall(head(len(body)) + body)
d = answer(s)
assert status(d) == 200, d
PY
[ "$(metric 'mpiscore_requests_total{deployment="",code="408"}')" -ge 1 ] && ok "408 counted in /metrics" || bad "no 408 in /metrics"
still_serving "slow clients and limits"

# bodies held by all requests together: --max-buffered
stop_server "$SPID"
start_server bad --max-buffered 16K
"$MS_PYTHON" - "$PORT" "$PKEY" <<'PY' && ok "--max-buffered: a body beyond what all requests may hold is 503, released after" || bad "--max-buffered"
import socket, sys, time
port, key = int(sys.argv[1]), sys.argv[2]
def body(n):
    b = b'{"columns":["a","b","c"],"data":[[0.1,0.2,0.3]]}'
    return b + b" " * (n - len(b))
def send(n, part=None):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    b = body(n)
    s.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key.encode() +
              b"\r\nContent-Length: " + str(n).encode() + b"\r\n\r\n" + (b[:part] if part else b))
    return s
def status(s):
    d = b""
    while b"\r\n\r\n" not in d:
        c = s.recv(65536)
        if not c:
            break
        d += c
    return int(d.split(b" ", 2)[1])
held = [send(8000, 6000), send(8000, 6000)]
time.sleep(0.3)
assert status(send(6000)) == 503
for h in held:
    h.close()
time.sleep(0.3)
assert status(send(6000)) == 200
PY
finish
