#!/usr/bin/env bash
# bench_hub_cpu.sh BIN_A BIN_B [ROUNDS] - CPU seconds (user+sys) and wall
# time of the client and of the server for one large-file download and one
# large-file upload, alternating two hxzoo binaries (e.g. before/after a
# change) on the same data. CPU time is far less sensitive than wall time
# to other jobs sharing the machine. HUB_BENCH_BIG_MB (default 1024),
# HUB_BENCH_DIR (default /tmp).
set -euo pipefail
A=$1 B=$2 ROUNDS=${3:-3}
BIG_MB=${HUB_BENCH_BIG_MB:-1024}
W=$(mktemp -d "${HUB_BENCH_DIR:-/tmp}/hxzoo-hubcpu.XXXXXX")
SP=
cleanup() { [ -n "$SP" ] && kill "$SP" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
export HF_TOKEN=hf_bench HF_HUB_DISABLE_TELEMETRY=1
unset HF_HUB_OFFLINE HF_HOME
mkdir -p "$W/src"
head -c $((BIG_MB << 20)) /dev/urandom >"$W/src/big.bin"
cpu() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; } # utime+stime in s (USER_HZ 100)
serve() { # serve BIN ROOT
  rm -f "$W/port"; "$1" -q serve --root "$2" --port 0 --port-file "$W/port" >/dev/null 2>&1 & SP=$!
  for _ in $(seq 200); do [ -s "$W/port" ] && break; sleep 0.05; done
  HF_ENDPOINT=http://127.0.0.1:$(cat "$W/port"); export HF_ENDPOINT
}
stop() { kill "$SP"; wait "$SP" 2>/dev/null || true; SP=; }
warm() { # same memory state for every run (see bench_hub.sh)
  [ -w /dev/shm ] || return 0
  dd if=/dev/zero of="/dev/shm/hxzoo-warm.$$" bs=4M count=$((BIG_MB * 3 / 8 + 1)) status=none 2>/dev/null || true
  rm -f "/dev/shm/hxzoo-warm.$$"
}
"$A" -q serve --root "$W/root" --import "$W/src" bench/repo >/dev/null
printf '%-6s %-9s %8s %10s %10s\n' bin what wall client_cpu server_cpu
for _ in $(seq "$ROUNDS"); do
  for tag in A B; do
    bin=$A; [ $tag = B ] && bin=$B
    serve "$bin" "$W/root"; s0=$(cpu "$SP"); rm -rf "$W/c"; sync; warm
    /usr/bin/time -f '%e %U %S' -o "$W/t" env HF_HUB_CACHE="$W/c" "$bin" -q download bench/repo --no-progress >/dev/null
    s1=$(cpu "$SP"); stop
    read -r e u s <"$W/t"; printf '%-6s %-9s %8.2f %10.2f %10.2f\n' $tag download "$e" "$(echo "$u + $s" | bc)" "$(echo "$s1 - $s0" | bc)"
    rm -rf "$W/r2"; serve "$bin" "$W/r2"; s0=$(cpu "$SP"); sync; warm
    /usr/bin/time -f '%e %U %S' -o "$W/t" "$bin" -q upload bench/up "$W/src" --no-progress >/dev/null
    s1=$(cpu "$SP"); stop
    read -r e u s <"$W/t"; printf '%-6s %-9s %8.2f %10.2f %10.2f\n' $tag upload "$e" "$(echo "$u + $s" | bc)" "$(echo "$s1 - $s0" | bc)"
  done
done
