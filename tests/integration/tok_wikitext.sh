#!/usr/bin/env bash
# tok_wikitext.sh - our tokenizers against the Python `tokenizers` package
# on the whole WikiText-2 test text (count + SHA-256 of the ids, from
# tests/golden/tok_ids.txt), the encoding speed (< 1 s CPU per tokenizer), and
# each evaluation protocol's text, ids, window and scored-token counts
# against the original evaluation loops (hxzoo eval --plan). The tokenizers:
# the committed fixtures (GPT-2, Llama 2, Qwen2, GPT-NeoX-20B of Mamba and
# Mamba2, Mistral v0.1 of Zamba2) and mistral-metaspace, Mistral's vocabulary
# in transformers' legacy=False layout, derived here as gen_tok_ids.py does.
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
hx=${HXZOO:-$root/build/hxzoo}
py=${PY:-$root/.venv/bin/python}
gold=$root/tests/golden/tok_ids.txt
wiki=$root/tests/fixtures/eval/wiki.test.raw
fail=0
TMPDIR_T=$(mktemp)
meta=$(mktemp -d)
trap 'rm -rf "$meta" "$TMPDIR_T" "$TMPDIR_T.time" "$TMPDIR_T.wiki4"' EXIT
zstd -dc "$root/tests/fixtures/tokenizers/mistral/tokenizer.json.zst" | "$py" -c '
import json, sys
j = json.load(sys.stdin)
j["normalizer"] = None
j["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}
json.dump(j, sys.stdout)' > "$meta/tokenizer.json" || { echo "FAIL cannot derive mistral-metaspace"; fail=1; }
want() { awk -v a="$1" -v b="$2" -v c="$3" '$1==a && $2==b && $3==c {print $4}' "$gold"; }
check() { # name what field got
  local w; w=$(want "$1" "$2" "$3")
  if [ "$w" = "$4" ]; then echo "ok   $1 $2 $3 = $4"; else echo "FAIL $1 $2 $3: got $4, want $w"; fail=1; fi
}
wiki4=$TMPDIR_T.wiki4
cat "$wiki" "$wiki" "$wiki" "$wiki" > "$wiki4"
for t in gpt2 llama2 qwen2 neox mistral mistral-metaspace; do
  tok=$root/tests/fixtures/tokenizers/$t
  [ $t = mistral-metaspace ] && tok=$meta
  read -r n sha < <("$hx" tokenize "$tok" --file "$wiki" --sha --time 2> "$TMPDIR_T.time" || true)
  check $t text:raw ids "$n"; check $t text:raw ids_sha256 "$sha"
  # linear time: 4 copies of the text must not cost more than 10x one copy
  # (CPU time, a ratio on this machine: no absolute limit; a quadratic
  # tokenizer would take 16x)
  secs=$(sed 's/.*(cpu \([0-9.]*\) s).*/\1/' "$TMPDIR_T.time")
  "$hx" tokenize "$tok" --file "$wiki4" --sha --time 2> "$TMPDIR_T.time" > /dev/null || true
  secs4=$(sed 's/.*(cpu \([0-9.]*\) s).*/\1/' "$TMPDIR_T.time")
  if awk -v a="$secs" -v b="$secs4" 'BEGIN{exit !(b <= 10 * (a > 0.01 ? a : 0.01))}'; then
    echo "ok   $t encodes WikiText-2 in $secs s CPU, 4 copies in $secs4 s"
  else echo "FAIL $t not linear: $secs s CPU for WikiText-2, $secs4 s for 4 copies"; fail=1; fi
  for p in helix gptq sliding; do
    out=$("$hx" eval none --tokenizer "$tok" --text "$wiki" --protocol $p --plan) || { fail=1; continue; }
    ids=$(echo "$out" | awk '$1=="ids"{print $2}'); idsha=$(echo "$out" | awk '$1=="ids"{print $4}')
    win=$(echo "$out" | awk '$1=="windows"{print $2}'); sc=$(echo "$out" | awk '$1=="windows"{print $4}')
    tsha=$(echo "$out" | awk '$1=="protocol"{print $NF}')
    check $t protocol:$p ids "$ids"; check $t protocol:$p windows "$win"; check $t protocol:$p scored "$sc"
    if [ $p != sliding ]; then check $t protocol:$p ids_sha256 "$idsha"; check $t protocol:$p text_sha256 "$tsha"; fi
  done
done
rm -f "$TMPDIR_T.time"
exit $fail
