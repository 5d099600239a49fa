#!/usr/bin/env bash
# hub_progress.sh - progress display: on a terminal (a pseudo-terminal from
# script(1)) one line per active file (bytes, %, rate, ETA) and a total
# line, redrawn in place with ANSI cursor movement; no escape codes when
# stderr is not a terminal; --json keeps its events on stdout and draws
# nothing; -q prints nothing on stderr.
. "$(dirname "$0")/lib/hub.sh"
command -v script >/dev/null || { echo "FAIL: no script(1)"; exit 1; }
make_model "$T/src" 200000000
"$HXZOO" -q serve --root "$T/root" --import "$T/src" org/p >/dev/null || fail "import"
start_server P "$T/root"
export HF_ENDPOINT=$URL_P HF_TOKEN=hf_t
ESC=$(printf '\033')
# redraw on every update so that each file's line shows however fast the
# machine (the default is at most 10 redraws a second)
export HXZOO_PROGRESS_INTERVAL_MS=0

# a terminal: per-file lines and the total line, redrawn in place
HF_HUB_CACHE=$T/c1 script -qfec "'$HXZOO' download org/p --jobs 2" /dev/null >"$T/tty.out" 2>&1 \
  || { cat -v "$T/tty.out" | tail -5; fail "download on a pseudo-terminal"; }
tr '\r' '\n' <"$T/tty.out" | sed "s/$ESC\[[0-9]*[AKJ]//g" >"$T/tty.txt"
grep -Eq '^  big\.bin +[0-9.]+ [kMG]?B / 200\.0 MB +[0-9]+%  [0-9.]+ [kMG]?B/s  ETA ([0-9:]+|--:--)$' "$T/tty.txt" \
  || { head -20 "$T/tty.txt"; fail "no per-file line for big.bin"; }
grep -Eq '^download total \[[0-9]+/[0-9]+ files\]  [0-9.]+ [kMG]?B / [0-9.]+ MB +[0-9]+%  [0-9.]+ [kMG]?B/s  ETA' "$T/tty.txt" \
  || fail "no total line"
grep -Eq '^download total \[[0-9]+/[0-9]+ files\] .*100%.*  done$' "$T/tty.txt" || fail "no final total line"
grep -q "$ESC\[[0-9]*A" "$T/tty.out" || fail "no cursor movement (not redrawn in place)"
n=$(grep -c "$ESC\[[0-9]*A" "$T/tty.out")
[ "$n" -ge 1 ] || fail "no redraw"
ok "terminal: per-file lines and total line redrawn in place ($n redraws)"

# upload on a terminal, same display
make_model "$T/up" 120000000
script -qfec "'$HXZOO' upload org/p2 '$T/up'" /dev/null >"$T/tty2.out" 2>&1 || fail "upload on a pty"
tr '\r' '\n' <"$T/tty2.out" | sed "s/$ESC\[[0-9]*[AKJ]//g" >"$T/tty2.txt"
grep -Eq '^upload total \[[0-9]+/[0-9]+ files\] .*  done$' "$T/tty2.txt" || fail "no upload total line"
grep -Eq '^  (big\.bin|model\.safetensors) +[0-9.]+ [kMG]?B / [0-9.]+ [kM]B' "$T/tty2.txt" \
  || { head "$T/tty2.txt"; fail "no per-file upload line"; }
ok "terminal: upload shows per-file and total lines"

# not a terminal: no escape codes at all
HF_HUB_CACHE=$T/c2 "$HXZOO" download org/p >"$T/o.txt" 2>"$T/e.txt" || fail "download"
grep -q "$ESC" "$T/e.txt" "$T/o.txt" && fail "escape codes written to a pipe"
# --json on a terminal: JSON events on stdout, no bars
HF_HUB_CACHE=$T/c3 script -qfec "'$HXZOO' download org/p --json" /dev/null >"$T/j.out" 2>&1 || fail "--json"
grep -q "$ESC\[" "$T/j.out" && fail "--json drew progress bars"
grep -q '"event":"start"' "$T/j.out" && grep -q '"event":"downloaded","path":"big.bin"' "$T/j.out" \
  || fail "--json events missing"
# -q on a terminal: nothing but the result path
HF_HUB_CACHE=$T/c4 script -qfec "'$HXZOO' -q download org/p" /dev/null >"$T/q.out" 2>&1 || fail "-q"
grep -q "$ESC\|total" "$T/q.out" && fail "-q printed progress"
ok "pipe: no escape codes; --json: events only; -q: quiet"

# the default rate limit: a 200 MB download redraws at most ~10x a second.
# Not a timing assumption: redraws but the last are >= 100 ms apart on the
# monotonic clock that also times the download (its "in S s"), so the
# cursor-up count n (every redraw but the first) is <= 10 S + 1 however
# loaded the machine (+2: S is rounded to 0.01 s); a slow machine only
# lowers n.
unset HXZOO_PROGRESS_INTERVAL_MS
HF_HUB_CACHE=$T/c5 script -qfec "'$HXZOO' download org/p --jobs 2" /dev/null >"$T/tty5.out" 2>&1 || fail "download"
n=$(grep -o "$ESC\[[0-9]*A" "$T/tty5.out" | wc -l)
s=$(grep -Eo 'in [0-9.]+ s' "$T/tty5.out" | tail -1 | grep -Eo '[0-9.]+')
[ -n "$s" ] || fail "no summary line"
[ "$(echo "$n <= $s * 10 + 3" | bc)" = 1 ] || fail "$n redraws in $s s: more than 10 a second"
ok "default: $n redraws in $s s (at most 10 a second)"
exit 0
