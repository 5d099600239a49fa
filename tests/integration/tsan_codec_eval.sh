#!/usr/bin/env bash
# tsan_codec_eval.sh - the threaded encoder and the evaluator under
# ThreadSanitizer (build/tsan/hxzoo, `make test-tsan`, part of `make test`;
# issue 13). Fails on any TSan report (halt_on_error, exit code 66).
#   1. hxzoo compress of the stories260k fixture with 4 threads: small F32
#      tensors, encoded several at a time (compress/shards.c's batches);
#   2. hxzoo compress, 4 threads, of a synthetic model whose tensors span
#      several 2^20-element blocks: a BF16 one of 4 * 2^20 + 3072 elements
#      (the 16-bit histogram in 4 shares, the index pass over 5 blocks, the
#      index buffer's prefault thread) and an F32 one of 2^20 + 4096 (the
#      bucketed F32 histogram and index pass over 2 blocks); each output
#      must be byte-identical to a 1-thread run of the same binary;
#   3. hxzoo eval of the compressed stories260k against its base (helix,
#      2 windows), which runs the forward pass and the logits reduction on
#      hx_ncpus() threads (no option or variable sets that count: on a
#      1-CPU machine nothing would run concurrently, so the test says so
#      and skips).
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${HXZOO_TSAN:-$root/build/tsan/hxzoo} # (HXZOO_TSAN: another TSan build, to check this test)
py=${PY:-$root/.venv/bin/python}
[ -x "$bin" ] || { echo "FAIL: $bin not built (make test builds it)"; exit 1; }
[ -x "$py" ] || { echo "FAIL: no Python at $py (make test creates it)"; exit 1; }
ncpu=$(getconf _NPROCESSORS_ONLN)
[ "$ncpu" -ge 2 ] || { echo "skipped: $ncpu CPU online: the evaluator would run one thread"; exit 77; }
T=$(mktemp -d /tmp/hxzoo-tsan-ce.XXXXXX)
trap 'rm -rf "$T"' EXIT
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
rc=0
fail() { echo "FAIL: $*"; rc=1; }

# run NAME CMD...: runs CMD (the TSan binary) with its output in $T/NAME.log;
# a TSan report is exit code 66 and a WARNING line in the log
run() {
  local name=$1; shift
  "$@" >"$T/$name.log" 2>&1
  local st=$?
  if [ $st = 66 ] || grep -q '^WARNING: ThreadSanitizer' "$T/$name.log"; then
    sed -n '/^WARNING: ThreadSanitizer/,/^SUMMARY/p' "$T/$name.log" | head -80
    fail "$name: ThreadSanitizer report (rc=$st)"
    return 1
  elif [ $st != 0 ]; then
    tail -5 "$T/$name.log"
    fail "$name: rc=$st"
    return 1
  fi
  echo "ok - $name: no ThreadSanitizer report"
}

same() { # same A B WHAT: the two model.safetensors are byte-identical
  if cmp -s "$1/model.safetensors" "$2/model.safetensors"; then
    echo "ok - $3: identical output with 1 and 4 threads"
  else
    fail "$3: output differs between 1 and 4 threads"
  fi
}

# 1. the fixture: small tensors encoded concurrently
run compress-stories "$bin" -q compress "$root/tests/fixtures/stories260k" "$T/s4" --threads 4 &&
  run compress-stories-1 "$bin" -q compress "$root/tests/fixtures/stories260k" "$T/s1" --threads 1 &&
  same "$T/s1" "$T/s4" "stories260k"

# 2. tensors over several blocks (Python's standard library only)
"$py" - "$T/big" <<'PY' || fail "could not write the synthetic model"
import array, json, os, random, struct, sys
out = sys.argv[1]
os.makedirs(out)
rng = random.Random(13)
def values(n):
    # a Student-t-like spread with rare outliers: a sidecar in every block
    v = array.array("f", (rng.gauss(0, 0.02) * (25 if rng.random() < 0.002 else 1) for _ in range(n)))
    assert v.itemsize == 4 and sys.byteorder == "little"
    return v.tobytes()
def bf16(f32):  # the high halves of the float32 patterns
    b = bytearray(len(f32) // 2)
    b[0::2] = f32[2::4]
    b[1::2] = f32[3::4]
    return bytes(b)
tensors = [  # name, dtype, shape, bytes
    ("model.embed_tokens.weight", "BF16", [64, 64], bf16(values(64 * 64))),
    ("model.layers.0.mlp.down_proj.weight", "BF16", [1024, 4099], bf16(values(1024 * 4099))),
    ("model.layers.0.mlp.up_proj.weight", "F32", [1028, 1024], values(1028 * 1024)),
    ("model.norm.weight", "BF16", [64], bf16(values(64))),
]
assert 1024 * 4099 == 4 * 2**20 + 3072 and 1028 * 1024 == 2**20 + 4096
hdr, off = {}, 0
for name, dt, shape, data in tensors:
    hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
    off += len(data)
h = json.dumps(hdr).encode()
h += b" " * (-len(h) % 8)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    for _, _, _, data in tensors:
        f.write(data)
json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "bfloat16",
           "tie_word_embeddings": True}, open(os.path.join(out, "config.json"), "w"))
PY
if [ -f "$T/big/model.safetensors" ] && run compress-blocks "$bin" -q compress "$T/big" "$T/b4" --threads 4; then
  # the two large tensors were encoded, not copied
  for t in down_proj up_proj; do
    "$bin" inspect "$T/b4" --tensors | grep -q "model\.layers\.0\.mlp\.$t\.indices " || fail "$t was not encoded"
  done
  run compress-blocks-1 "$bin" -q compress "$T/big" "$T/b1" --threads 1 &&
    same "$T/b1" "$T/b4" "synthetic model over several blocks"
fi

# 3. the evaluator: the compressed fixture against its base, 2 windows
if [ -f "$T/s4/model.safetensors" ]; then
  run eval "$bin" eval "$T/s4" --base "$root/tests/fixtures/stories260k" --device cpu \
    --text "$root/tests/fixtures/eval/valid-head30k.txt" --protocol helix --seq-len 128 --n-tokens 256 \
    --max-windows 2 --json &&
    { grep -q '"kld_mean"' "$T/eval.log" || fail "eval: no receipt: $(tail -3 "$T/eval.log")"; }
fi
[ $rc = 0 ] && echo "ok - compress (1 and 4 threads) and eval under ThreadSanitizer: no reports"
exit $rc
