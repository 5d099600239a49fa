#!/usr/bin/env bash
# tok_wikitext.sh - our tokenizers against the Python `tokenizers` package
# on the whole WikiText-2 test text (count + SHA-256 of the ids, from
# tests/golden/tok_ids.txt), the encoding speed (< 1 s CPU per tokenizer), and
# each evaluation protocol's text, ids, window and scored-token counts
# against the original evaluation loops (hxzoo eval --plan).
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
hx=${HXZOO:-$root/build/hxzoo}
gold=$root/tests/golden/tok_ids.txt
wiki=$root/tests/fixtures/eval/wiki.test.raw
fail=0
TMPDIR_T=$(mktemp)
want() { awk -v a="$1" -v b="$2" -v c="$3" '$1==a && $2==b && $3==c {print $4}' "$gold"; }
check() { # name what field got
  local w; w=$(want "$1" "$2" "$3")
  if [ "$w" = "$4" ]; then echo "ok   $1 $2 $3 = $4"; else echo "FAIL $1 $2 $3: got $4, want $w"; fail=1; fi
}
for t in gpt2 llama2 qwen2; do
  tok=$root/tests/fixtures/tokenizers/$t
  read -r n sha < <("$hx" tokenize "$tok" --file "$wiki" --sha --time 2> "$TMPDIR_T.time" || true)
  check $t text:raw ids "$n"; check $t text:raw ids_sha256 "$sha"
  # CPU time (wall time depends on the machine's load)
  secs=$(sed 's/.*(cpu \([0-9.]*\) s).*/\1/' "$TMPDIR_T.time")
  if awk -v s="$secs" 'BEGIN{exit !(s < 1.0)}'; then echo "ok   $t encodes WikiText-2 in $secs s CPU"; else echo "FAIL $t too slow: $secs s CPU"; fail=1; fi
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
