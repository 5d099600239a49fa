#!/usr/bin/env bash
# link_split.sh - the parts link alone (Makefile "link-check", tests/link/):
# the Hub client without libmicrohttpd, the server and the codec; the
# server without libcurl, the client and the codec; the HXQ decoder
# without the encoder, the model-directory pipeline and the Hub. Checked
# on the binaries (dynamic dependencies with readelf, symbols with nm),
# then each runs: the server serves a fixture, the client lists it, the
# decoder's floats equal what `hxzoo decompress` writes.
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
hx=${HXZOO:-$root/build/hxzoo}
link=$(dirname "$hx")/link
work=$(mktemp -d "${TMPDIR:-/tmp}/hxzoo-link.XXXXXX")
srv_pid=
cleanup() { [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail=0
ok() { echo "PASS $*"; }
bad() { echo "FAIL $*"; fail=1; }

for p in client server decoder; do
  [ -x "$link/$p" ] || { echo "FAIL: $link/$p missing (make link-check)"; exit 1; }
  echo "link line of $p: $(cat "$link/$p.cmd" 2>/dev/null)"
done

# $1 binary, $2 label, $3 regex of shared libraries it must not need,
# $4 regex of symbols it must not contain
check_parts() {
  local needed syms
  needed=$(readelf -d "$1" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
  # the tools answered: a dynamic program needs libc and has main
  case "$needed" in *libc.so*) ;; *) bad "$2: readelf lists no libc ('$needed')"; return ;; esac
  nm "$1" | grep -q ' T main$' || { bad "$2: nm finds no main"; return; }
  if echo "$needed" | grep -Eq "$3"; then bad "$2 needs $(echo "$needed" | grep -Eo "$3" | head -1) ($needed)"
  else ok "$2 needs none of $3 ($needed)"; fi
  syms=$(nm "$1" | awk '$2 ~ /^[TtDdBbRr]$/ {print $3}' | grep -E "$4" | head -3 | tr '\n' ' ')
  if [ -n "$syms" ]; then bad "$2 contains $syms"; else ok "$2 has no symbol matching $4"; fi
}
check_parts "$link/client" client 'libmicrohttpd|libzstd|libyaml' '^(MHD_|hub_server_|store_|hxq_|hx_st_)'
check_parts "$link/server" server 'libcurl|libzstd' '^(curl_|hub_client_|hub_download|hub_upload|hxq_|hx_st_)'
check_parts "$link/decoder" decoder 'libcurl|libmicrohttpd|libyaml' \
  '^(curl_|MHD_|hub_|hxq_encode|hxq_fit|hxq_compress|hxq_lloyd)'

# they run: serve a fixture, list it, decode a weight
fx=$root/tests/fixtures/stories260k-hxq
mkfifo "$work/in"
"$link/server" "$work/store" "$fx" demo/link <"$work/in" >"$work/srv.out" 2>"$work/srv.err" &
srv_pid=$!
exec 3>"$work/in"
port=
while [ -z "$port" ] && kill -0 "$srv_pid" 2>/dev/null; do
  port=$(sed -n 's/^port //p' "$work/srv.out")
  [ -n "$port" ] || sleep 0.05
done
[ -n "$port" ] || { cat "$work/srv.err"; echo "FAIL: the server did not start"; exit 1; }
if "$link/client" "http://127.0.0.1:$port" demo/link >"$work/list" 2>"$work/cli.err"; then
  (cd "$fx" && find . -type f -printf '%s %P\n' | LC_ALL=C sort -k2) >"$work/want"
  grep -v '^commit ' "$work/list" | grep -v ' .gitattributes$' | LC_ALL=C sort -k2 >"$work/got"
  if cmp -s "$work/want" "$work/got" && grep -q "^commit $(sed -n 's/^commit //p' "$work/srv.out")$" "$work/list"; then
    ok "client lists the served commit's $(wc -l <"$work/got") files with their sizes"
  else
    bad "client listing differs"; diff "$work/want" "$work/got" | head
  fi
else
  bad "client: $(cat "$work/cli.err")"
fi
exec 3>&-
wait "$srv_pid" && ok "server stopped at end of input" || bad "server exit status"
srv_pid=

w=model.layers.0.mlp.down_proj.weight
"$hx" -q decompress "$fx" "$work/dense" || bad "hxzoo decompress"
a=$("$link/decoder" "$fx" "$w") || bad "decoder on the HXQ model"
b=$("$link/decoder" "$work/dense" "$w") || bad "decoder on the dense model"
if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "decoder: $w decodes to what hxzoo decompress writes ($(echo "$a" | tr '\n' ' '))"
else bad "decoder: '$a' vs '$b'"; fi
exit $fail
