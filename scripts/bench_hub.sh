#!/usr/bin/env bash
# bench_hub.sh [BUILD_DIR] - loopback transfer benchmark: a repo with one
# large file (HUB_BENCH_BIG_MB, default 2048) and 200 small files served by
# `hxzoo serve`, downloaded by `hxzoo download` and by huggingface_hub's
# snapshot_download from the same server in the same run (fresh caches),
# then uploaded by `hxzoo upload` and by upload_folder (each into a fresh
# server store, so nothing is deduplicated). Prints the median times of
# HUB_BENCH_REPEAT rounds and the ratios. The upload's floor is measured in
# the same rounds: hashing every file (openssl), then ingesting the large
# file as the server must (written and hashed at once, then fsync'd), the
# two stages the LFS protocol puts in sequence; the upload targets are
# checked against it: no slower than huggingface_hub, within 1.3x of the
# floor.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
HX=${HUB_BENCH_HXZOO:-$root/$build/hxzoo}  # HUB_BENCH_HXZOO: compare another binary
PY=${PY:-$root/.venv/bin/python}
BIG_MB=${HUB_BENCH_BIG_MB:-2048}
JOBS=${HUB_BENCH_JOBS:-8}
# HUB_BENCH_DIR: where the source folder, the server roots and both
# clients' caches live (default /tmp; /dev/shm measures the clients rather
# than the disk). Needs about 4.5x the large file there.
base=${HUB_BENCH_DIR:-/tmp}
need_kb=$(( BIG_MB * 1024 * 9 / 2 + 65536 ))
avail_kb=$(df -Pk "$base" | awk 'NR==2 {print $4}')
if [ "$avail_kb" -lt "$need_kb" ]; then
  echo "hub bench: $base has $((avail_kb / 1024)) MB free, needs $((need_kb / 1024)) MB; skipped" >&2
  exit 0
fi
W=$(mktemp -d "$base/hxzoo-hubbench.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
export HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_XET=1 HF_HUB_DISABLE_PROGRESS_BARS=1 HF_TOKEN=hf_bench
unset HF_HUB_OFFLINE HF_HOME

serve() { # serve NAME ROOT -> URL in $URL
  rm -f "$W/$1.port"
  "$HX" -q serve --root "$2" --port 0 --port-file "$W/$1.port" >"$W/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do [ -s "$W/$1.port" ] && break; sleep 0.05; done
  URL=http://127.0.0.1:$(cat "$W/$1.port")
}
now() { date +%s.%N; }
# Every timed run starts from the same memory state: write and delete a
# file 1.5x the large one on tmpfs first. This VM hands freed memory back
# to its host after a moment, and writing into such pages costs up to 3x
# more (a 2 GiB write measured 0.7 s or 1.6-7 s depending on what ran
# before), which otherwise falls at random on whichever client runs after
# a pause.
warm() {
  [ -d /dev/shm ] && [ -w /dev/shm ] || return 0
  dd if=/dev/zero of="/dev/shm/hxzoo-warm.$$" bs=4M count=$((BIG_MB * 3 / 8 + 1)) status=none 2>/dev/null || true
  rm -f "/dev/shm/hxzoo-warm.$$"
}
secs() { echo "$2 - $1" | bc -l; }

echo "hub bench: ${BIG_MB} MB file + 200 small files, $(nproc) cores, $(uname -sr)"
echo "storage: $base ($(df -PT "$W" | awk 'NR==2 {print $2}')); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$W/src/small"
head -c $((BIG_MB << 20)) /dev/urandom >"$W/src/big.bin"
for i in $(seq -w 1 200); do head -c $(( (RANDOM % 60 + 4) * 1024 )) /dev/urandom >"$W/src/small/f$i.txt"; done
printf '{"model_type":"bench"}\n' >"$W/src/config.json"
total=$(du -sb "$W/src" | cut -f1)
"$HX" -q serve --root "$W/root" --import "$W/src" bench/repo >/dev/null
serve dl "$W/root"
export HF_ENDPOINT=$URL

# ---- downloads
dl_hx() { rm -rf "$W/c"; sync; warm; local t0; t0=$(now); HF_HUB_CACHE=$W/c "$HX" -q download bench/repo --jobs "$JOBS" --no-progress "$@" >/dev/null; secs "$t0" "$(now)"; }
dl_py() { rm -rf "$W/c"; sync; warm; HF_HUB_CACHE=$W/c "$PY" - "$@" <<'PY'
import sys, time
from huggingface_hub import snapshot_download
pat = sys.argv[1:] or None
t0 = time.time(); snapshot_download("bench/repo", allow_patterns=pat); print(time.time() - t0)
PY
}
# HUB_BENCH_REPEAT rounds (default 3), hxzoo and Python alternating; each
# figure is the median of its rounds (the machine may be shared)
REPEAT=${HUB_BENCH_REPEAT:-3}
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
l_hx_all='' l_py_all='' l_hx_big='' l_py_big='' l_hx_small='' l_py_small=''
for _ in $(seq "$REPEAT"); do
  l_hx_all+=" $(dl_hx)"; l_py_all+=" $(dl_py)"
  l_hx_big+=" $(dl_hx --include big.bin)"; l_py_big+=" $(dl_py big.bin)"
  l_hx_small+=" $(dl_hx --include 'small/*')"; l_py_small+=" $(dl_py 'small/*')"
done
t_hx_all=$(median <<<"$l_hx_all"); t_py_all=$(median <<<"$l_py_all")
t_hx_big=$(median <<<"$l_hx_big"); t_py_big=$(median <<<"$l_py_big")
t_hx_small=$(median <<<"$l_hx_small"); t_py_small=$(median <<<"$l_py_small")

# ---- uploads (fresh store each, nothing deduplicated); the server runs
# outside $(...) so that it is tracked and stopped
up_run() { # up_run hx|py -> seconds in $W/up.t
  rm -rf "$W/r2"; serve up "$W/r2"; sync; warm
  if [ "$1" = floor ]; then
    # what no client can avoid: the SHA-256 of every file before the LFS
    # batch (openssl, one file per core), then the server's ingest of the
    # LFS bytes: written and hashed at once (tee | openssl, the server's
    # receive-write-hash loop without the socket) and made durable (fsync)
    local t0 t1 t2
    t0=$(now)
    find "$W/src" -type f -print0 | xargs -0 -P "$(nproc)" -n 16 openssl dgst -sha256 >/dev/null
    t1=$(now)
    tee "$W/r2/ingest.bin" <"$W/src/big.bin" | openssl dgst -sha256 >/dev/null
    sync "$W/r2/ingest.bin"
    t2=$(now)
    printf 'hash %.2f s, ingest %.2f s\n' "$(secs "$t0" "$t1")" "$(secs "$t1" "$t2")" >>"$W/floors.txt"
    secs "$t0" "$t2" >"$W/up.t"
  elif [ "$1" = hx ]; then
    local t0; t0=$(now)
    HF_ENDPOINT=$URL "$HX" -q upload bench/up "$W/src" --jobs "$JOBS" --no-progress >/dev/null
    secs "$t0" "$(now)" >"$W/up.t"
  else
    HF_ENDPOINT=$URL "$PY" - "$W/src" >"$W/up.t" 2>"$W/py.err" <<'PY' || { cat "$W/py.err" >&2; exit 1; }
import sys, time
from huggingface_hub import upload_folder, create_repo
t0 = time.time(); create_repo("bench/up", exist_ok=True)
upload_folder(repo_id="bench/up", folder_path=sys.argv[1]); print(time.time() - t0)
PY
  fi
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
}
l_hx_up='' l_py_up='' l_floor=''
for _ in $(seq "$REPEAT"); do
  up_run hx; l_hx_up+=" $(cat "$W/up.t")"
  up_run py; l_py_up+=" $(cat "$W/up.t")"
  up_run floor; l_floor+=" $(cat "$W/up.t")"
done
t_hx_up=$(median <<<"$l_hx_up"); t_py_up=$(median <<<"$l_py_up"); t_floor=$(median <<<"$l_floor")

row() { printf '%-34s %9.2f s %9.2f s %7.2fx %10.0f MB/s %10.0f MB/s\n' "$1" "$2" "$3" "$(echo "$3 / $2" | bc -l)" \
  "$(echo "$4 / $2 / 1000000" | bc -l)" "$(echo "$4 / $3 / 1000000" | bc -l)"; }
bigb=$((BIG_MB << 20)); smallb=$(du -sb "$W/src/small" | cut -f1)
printf '%-34s %11s %11s %8s %15s %15s\n' "transfer" "hxzoo" "python" "ratio" "hxzoo rate" "python rate"
row "download all (1 big + 201 small)" "$t_hx_all" "$t_py_all" "$total"
row "download big file only" "$t_hx_big" "$t_py_big" "$bigb"
row "download 200 small files only" "$t_hx_small" "$t_py_small" "$smallb"
row "upload all (fresh store)" "$t_hx_up" "$t_py_up" "$total"
echo "rounds (s): all hx$l_hx_all / py$l_py_all; big hx$l_hx_big / py$l_py_big; up hx$l_hx_up / py$l_py_up / floor$l_floor"
echo "upload floor per round (hash every file, then write+hash+fsync the LFS bytes):"
sed 's/^/  /' "$W/floors.txt"
r_py=$(echo "$t_py_up / $t_hx_up" | bc -l); r_floor=$(echo "$t_hx_up / $t_floor" | bc -l)
printf 'upload: hxzoo %.2f s, huggingface_hub %.2f s (%.2fx), floor %.2f s (hxzoo at %.2fx of it)\n' \
  "$t_hx_up" "$t_py_up" "$r_py" "$t_floor" "$r_floor"
printf 'upload targets: no slower than huggingface_hub: %s; within 1.3x of the floor: %s\n' \
  "$( [ "$(echo "$t_hx_up <= $t_py_up" | bc)" = 1 ] && echo met || echo NOT met)" \
  "$( [ "$(echo "$r_floor <= 1.3" | bc)" = 1 ] && echo met || echo NOT met)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
