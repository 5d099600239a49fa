# hub.sh - helpers sourced by tests/integration/hub_*.sh: a private temp
# dir, `hxzoo serve` on a free 127.0.0.1 port (killed on exit), fixture
# folders, and small assertions. Waits for a server wait for its port file or
# its exit, not for a time.
set -u
: "${HXZOO:?HXZOO must point to build/hxzoo}"
: "${PY:=${HXZOO_ROOT:-.}/.venv/bin/python}"
T=$(mktemp -d /tmp/hxzoo-hubtest.XXXXXX)
SERVER_PIDS=()
cleanup() {
  for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
export HF_HUB_DISABLE_PROGRESS_BARS=1 HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_XET=1 HF_HUB_ETAG_TIMEOUT=30 HF_HUB_DOWNLOAD_TIMEOUT=30
export HXZOO_RETRY_BASE_MS=${HXZOO_RETRY_BASE_MS:-50}
unset HF_TOKEN HF_HUB_OFFLINE HF_HOME HF_HUB_CACHE

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
have_py() { [ -x "$PY" ] && "$PY" -c "import huggingface_hub" 2>/dev/null; }

# start_server NAME ROOT [serve options...]: sets URL_<NAME> and PID_<NAME>
start_server() {
  local name=$1 root=$2; shift 2
  rm -f "$T/$name.port"
  "$HXZOO" serve --root "$root" --port 0 --port-file "$T/$name.port" "$@" >"$T/$name.log" 2>&1 &
  local pid=$!
  SERVER_PIDS+=("$pid")
  # until it wrote its port (it does once listening) or exited: no time
  # limit, a loaded machine only makes this slower
  while [ ! -s "$T/$name.port" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  [ -s "$T/$name.port" ] || { cat "$T/$name.log"; fail "server $name exited before listening"; }
  printf -v "URL_$name" 'http://127.0.0.1:%s' "$(cat "$T/$name.port")"
  printf -v "PID_$name" '%s' "$pid"
}
# start_fake SCRIPT.py PORTFILE [ARGS...]: a Python fake Hub (built on
# lib/fakehub.py, importable as fakehub) that writes its port to PORTFILE
# once listening; sets FAKE_URL (waits for the port or the
# script's exit: no time limit)
start_fake() {
  local script=$1 pf=$2; shift 2
  rm -f "$pf"
  PYTHONPATH="$(dirname "${BASH_SOURCE[0]}")${PYTHONPATH:+:$PYTHONPATH}" "$PY" "$script" "$pf" "$@" & SERVER_PIDS+=($!)
  local pid=$!
  while [ ! -s "$pf" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  [ -s "$pf" ] || fail "fake server $script exited before listening"
  FAKE_URL=http://127.0.0.1:$(cat "$pf")
}
stop_server() { local p="PID_$1"; kill "${!p}" 2>/dev/null; wait "${!p}" 2>/dev/null; }
kill9_server() { local p="PID_$1"; kill -9 "${!p}" 2>/dev/null; wait "${!p}" 2>/dev/null; }

# make_model DIR [big_bytes]: a small model-like folder
make_model() {
  local d=$1 big=${2:-0}
  mkdir -p "$d/sub/deeper"
  printf '{"model_type":"llama","hidden_size":64}\n' >"$d/config.json"
  head -c 3000000 /dev/urandom >"$d/model.safetensors"
  head -c 200000 /dev/urandom >"$d/tokenizer.model"
  printf 'hello world\n' >"$d/sub/x.txt"
  printf 'nested file with space\n' >"$d/sub/deeper/a b.txt"
  for i in 1 2 3 4 5; do printf 'small %s\n' "$i" >"$d/sub/s$i.txt"; done
  [ "$big" -gt 0 ] && head -c "$big" /dev/urandom >"$d/big.bin"
  return 0
}

# same_tree A B: identical files (content), ignoring .gitattributes and .cache
same_tree() {
  diff -r -x .gitattributes -x .cache "$1" "$2" >/dev/null || { diff -r -x .gitattributes -x .cache "$1" "$2" | head; return 1; }
}
# commits URL REPO: number of commits on main
commits() {
  curl -sf --retry 10 --retry-delay 1 --retry-all-errors "$1/api/models/$2/commits/main?limit=1000" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
