#!/usr/bin/env bash
# hub_asan_server.sh - hostile request lines against `hxzoo serve` built with
# ASan/UBSan (build/asan/hxzoo, made by `make test-asan` before the
# integration tests): a target made only of a query (`GET ?a`), an empty
# target, and a path of only slashes must get an HTTP error, and the server
# must stay up and answer a normal request after them. (Before the fix, `GET
# ?a` read past the path buffer and ASan killed the server.)
. "$(dirname "$0")/lib/hub.sh"
asan=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/build/asan/hxzoo
[ -x "$asan" ] || { echo "skip: $asan not built (make test-asan)"; exit 77; }
HXZOO=$asan
export ASAN_OPTIONS=abort_on_error=0:exitcode=66 UBSAN_OPTIONS=halt_on_error=1:exitcode=66
make_model "$T/src" 1000
"$HXZOO" -q serve --root "$T/root" --import "$T/src" org/m >/dev/null || fail "import"
start_server S "$T/root"
port=${URL_S##*:}
raw() { # request line -> the status line of the answer
  "$PY" - "$port" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(sys.argv[2].encode() + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
print(data.split(b"\r\n", 1)[0].decode(errors="replace"))
PY
}
for line in "GET ?a HTTP/1.1" "GET ?api/models HTTP/1.1" "GET //// HTTP/1.1" "GET /?x=1 HTTP/1.1"; do
  st=$(raw "$line") || fail "no answer to '$line' (server died?)"
  case $st in HTTP/1.1\ [45]??*) ;; *) fail "'$line' answered '$st'" ;; esac
  kill -0 "$PID_S" 2>/dev/null || fail "the ASan server died on '$line'"
done
st=$(raw "GET /api/models/org/m HTTP/1.1")
case $st in "HTTP/1.1 200"*) ;; *) fail "normal request after the hostile ones: '$st'" ;; esac
ok "hostile request targets answered with errors; the ASan/UBSan server stays up"
exit 0
