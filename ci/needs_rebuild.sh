#!/usr/bin/env bash
# needs_rebuild.sh NAME [--org ORG] [--manifest FILE] [--hxzoo PATH]
# Does zoo model NAME need rebuilding? Compares the upstream commit its
# revision resolves to now, the codec version of this hxzoo and the model's
# manifest entry with what its published hxzoo_build.json records. Plain
# bash + curl + python3 (JSON); runs anywhere, not only in GitHub Actions.
# Prints "rebuild NAME: reason" or "skip NAME: reason", exits 0 for both
# (1 on errors). In GitHub Actions it also writes rebuild=true|false and
# reason=... to $GITHUB_OUTPUT. Endpoint: $HF_ENDPOINT (default
# https://huggingface.co); token: $HF_TOKEN when set.
set -euo pipefail
name=${1:?usage: needs_rebuild.sh NAME [--org ORG] [--manifest FILE] [--hxzoo PATH]}
shift
org=${ZOO_ORG:-} manifest=() hxzoo=${HXZOO:-build/hxzoo}
while [ $# -gt 0 ]; do
  case $1 in
    --org) org=$2; shift 2 ;;
    --manifest) manifest=(--manifest "$2"); shift 2 ;;
    --hxzoo) hxzoo=$2; shift 2 ;;
    *) echo "needs_rebuild.sh: unknown option $1" >&2; exit 1 ;;
  esac
done
ep=${HF_ENDPOINT:-https://huggingface.co}
ep=${ep%/}
auth=()
[ -n "${HF_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $HF_TOKEN")

line=$("$hxzoo" list --tsv "${manifest[@]}" | awk -F'\t' -v n="$name" '$1 == n')
[ -n "$line" ] || { echo "needs_rebuild.sh: no model $name in the manifest" >&2; exit 1; }
IFS=$'\t' read -r _ source revision target digest codec _ <<<"$line"
[ -n "$org" ] && target="$org/${target#*/}"

json_get() { python3 -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d.get(k, {}) if isinstance(d, dict) else {}
print(d if isinstance(d, str) else "")' "$1"; }

# a revision may hold slashes (refs/pr/1): one path segment, as huggingface_hub sends it
rev_enc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$revision")
upstream=$(curl -sSf "${auth[@]}" "$ep/api/models/$source/revision/$rev_enc" | json_get sha) ||
  { echo "needs_rebuild.sh: cannot resolve $source@$revision at $ep" >&2; exit 1; }
[ -n "$upstream" ] || { echo "needs_rebuild.sh: no commit for $source@$revision" >&2; exit 1; }

decide() {
  echo "$1 $name: $2"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    { echo "rebuild=$([ "$1" = rebuild ] && echo true || echo false)"; echo "reason=$2"; } >>"$GITHUB_OUTPUT"
  fi
  exit 0
}

code=$(curl -sS "${auth[@]}" -o "${TMPDIR:-/tmp}/hxzoo-nr.$$" -w '%{http_code}' "$ep/$target/resolve/main/hxzoo_build.json") || code=000
receipt=$(cat "${TMPDIR:-/tmp}/hxzoo-nr.$$" 2>/dev/null || true)
rm -f "${TMPDIR:-/tmp}/hxzoo-nr.$$"
case $code in
  200) ;;
  401|403|404) decide rebuild "$target has no published hxzoo_build.json (HTTP $code)" ;;
  *) echo "needs_rebuild.sh: $ep/$target: HTTP $code" >&2; exit 1 ;;
esac
pub_commit=$(json_get source.commit <<<"$receipt")
pub_codec=$(json_get codec <<<"$receipt")
pub_digest=$(json_get manifest_digest <<<"$receipt")
[ "$pub_commit" = "$upstream" ] || decide rebuild "upstream $source@$revision moved: published from ${pub_commit:0:12}, now ${upstream:0:12}"
[ "$pub_codec" = "$codec" ] || decide rebuild "codec changed: published with '$pub_codec', now '$codec'"
[ "$pub_digest" = "$digest" ] || decide rebuild "the manifest entry changed"
decide skip "up to date (upstream ${upstream:0:12}, $codec)"
