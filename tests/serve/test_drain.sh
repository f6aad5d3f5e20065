#!/usr/bin/env bash
# SIGTERM drains: the listening socket closes at once, a request in flight
# is still answered (with Connection: close), then the server exits 0.
# A second instance set (--instances 2) keeps answering while one instance
# is killed -9 under load, and the supervisor restarts it.
. "$MS_SRC/tests/lib.sh"
. "$MS_SRC/tests/serve/serve_lib.sh"
one_model_endpoint drain
start_server drain --idle-timeout 20

"$MS_PYTHON" - "$PORT" "$PKEY" "$SPID" <<'PY' && ok "SIGTERM: no new connections, the in-flight request answered" || bad "drain"
import json, os, signal, socket, sys, time
port, key, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
body = b'{"columns":["id","a","b","c"],"data":[["late",0.1,0.2,0.3]]}'
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key.encode() +
          b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:20])
time.sleep(0.3)
os.kill(pid, signal.SIGTERM)
time.sleep(0.5)
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    raise SystemExit("a new connection was accepted while draining")
except ConnectionRefusedError:
    pass
s.sendall(body[20:])
data = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    data += c
h, _, b = data.partition(b"\r\n\r\n")
assert h.startswith(b"HTTP/1.1 200"), data
assert b"connection: close" in h.lower(), h
assert json.loads(b)["data"][0][0] == "late", b
PY
stop_server "$SPID"
[ "$STOP_RC" = 0 ] && ok "drained server exits 0" || bad "drained server: exit $STOP_RC"
grep -q 'drained (0 requests cut short)' "$T/serve.drain.err" && ok "drain logged" || bad "drain log: $(tail -2 "$T/serve.drain.err")"

# --instances 2: kill -9 one under load
start_server drain --instances 2
sleep 1
kids=$(pgrep -P "$SPID" | tr '\n' ' ')
set -- $kids
[ $# = 2 ] && ok "two instances: $kids" || bad "instances: '$kids'"
grep -q 'instance 1: .*core' "$T/serve.drain.err" && ok "instances are pinned with hwloc" || bad "no binding line: $(cat "$T/serve.drain.err")"
wrk_script "$T/one.lua" "$PKEY"
wrk -t2 -c8 -d6s -s "$T/one.lua" "$URL" >"$T/wrk.out" &
WRK=$!
sleep 2
kill -9 "$1"
wait "$WRK"
# connections the killed process held die with it (wrk counts those as
# socket errors); answers from the survivors never fail
if grep -q 'Non-2xx' "$T/wrk.out" || ! grep -q 'requests in' "$T/wrk.out"; then
    bad "load across a kill -9: $(cat "$T/wrk.out")"
else
    ok "load across a kill -9 of one instance: $(grep -o '[0-9]* requests in [^,]*' "$T/wrk.out"), no non-2xx answer"
fi
for _ in $(seq 200); do
    [ "$(pgrep -P "$SPID" | wc -l)" = 2 ] && break
    sleep 0.1
done
now=$(pgrep -P "$SPID" | tr '\n' ' ')
if [ "$(pgrep -P "$SPID" | wc -l)" = 2 ] && ! grep -qw "$1" <<<"$now"; then
    ok "the supervisor restarted the killed instance ($now)"
else
    bad "instances after kill: '$now'"
fi
grep -q "instance 0 (pid $1) killed by signal 9; restarting it" "$T/serve.drain.err" && ok "the restart is reported" || bad "no restart line: $(tail -5 "$T/serve.drain.err")"
for _ in $(seq 200); do
    curl -s -o /dev/null -H "Authorization: Bearer $PKEY" "$URL/v2" && break
    sleep 0.1
done
still_serving "an instance restart"
stop_server "$SPID"
[ "$STOP_RC" = 0 ] && ok "supervisor: SIGTERM drains every instance, exit 0" || bad "supervisor exit $STOP_RC"
[ -z "$(pgrep -P "$SPID")" ] && ok "no instance left" || bad "instances left"

# instances that cannot start (the port is held by another program) are not restarted forever
"$MS_PYTHON" -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(60)' "$T/held" &
HOLD=$!
SERVER_PIDS+=("$HOLD")
for _ in $(seq 200); do [ -s "$T/held" ] && break; sleep 0.1; done
rc=0
timeout 60 "$MPISCORE" serve drain --instances 2 --port "$(cat "$T/held")" 2>"$T/held.err" || rc=$?
[ "$rc" = 4 ] && grep -q 'died 5 times within 2 s of starting; stopping' "$T/held.err" &&
    ok "a port held by another program: the supervisor gives up (exit 4)" || bad "held port: exit $rc, $(tail -3 "$T/held.err")"
kill "$HOLD" 2>/dev/null || true
finish
