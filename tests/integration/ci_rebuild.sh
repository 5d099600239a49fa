#!/usr/bin/env bash
# ci_rebuild.sh - the nightly's rebuild decision (ci/needs_rebuild.sh)
# against `hxzoo serve`: two zoo models built and published, then one
# upstream gets a new commit and the other does not; a changed codec
# version in a published receipt also triggers a rebuild. Then the summary
# table, and the linters: shellcheck on ci/ and on every `run:` block of the
# workflow, actionlint when installed (else a structural check with PyYAML).
. "$(dirname "$0")/lib/hub.sh"
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
have_py || { echo "FAIL: huggingface_hub not installed in $PY"; exit 1; }
fx=$root/tests/fixtures/stories260k
"$HXZOO" -q serve --root "$T/hub" --import "$fx" up/alpha >/dev/null || fail "import alpha"
"$HXZOO" -q serve --root "$T/hub" --import "$fx" up/beta >/dev/null || fail "import beta"
start_server A "$T/hub"
export HF_ENDPOINT=$URL_A HF_TOKEN=hf_test HF_HUB_CACHE=$T/cache HXZOO_BUILD_ROOT=$T/zb
"$PY" - "$root/zoo/manifest.json" "$T/m.json" "$root" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["root"] = sys.argv[3]
s = next(m for m in d["models"] if m["name"] == "stories260k")
d["models"] = []
for n in ("alpha", "beta"):
    m = json.loads(json.dumps(s)); m.update(name=n, source="up/" + n, target="zoo/" + n + "-hxq")
    d["models"].append(m)
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
nr() { bash "$root/ci/needs_rebuild.sh" "$1" --manifest "$T/m.json" --hxzoo "$HXZOO"; }
out=$(nr alpha) || fail "decision before publication"
[[ $out == "rebuild alpha: zoo/alpha-hxq has no published hxzoo_build.json"* ]] || fail "unpublished: $out"
for m in alpha beta; do "$HXZOO" -q build $m --manifest "$T/m.json" >/dev/null 2>&1 || fail "build $m"; done
for m in alpha beta; do out=$(nr $m); [[ $out == "skip $m: up to date"* ]] || fail "after build: $out"; done
ok "freshly published models: skip"

printf 'a new upstream commit\n' >"$T/NOTE.md"
mkdir -p "$T/newup" && cp "$T/NOTE.md" "$T/newup/"
"$HXZOO" -q upload up/alpha "$T/newup" --message "upstream change" --no-progress >/dev/null || fail "upstream commit"
out=$(nr alpha); [[ $out == "rebuild alpha: upstream up/alpha@main moved"* ]] || fail "moved upstream: $out"
out=$(nr beta); [[ $out == "skip beta: up to date"* ]] || fail "unchanged upstream: $out"
GITHUB_OUTPUT=$T/gho nr alpha >/dev/null && grep -q '^rebuild=true$' "$T/gho" || fail "GITHUB_OUTPUT"
ok "upstream alpha has a new commit -> rebuild; beta unchanged -> skip"

# the rebuild itself: the build sees the moved upstream and publishes a new commit
"$HXZOO" build alpha --manifest "$T/m.json" >"$T/o" 2>&1 || fail "rebuild alpha: $(cat "$T/o")"
grep -q "upstream moved" "$T/o" && grep -q "published .* (new commit)" "$T/o" || fail "rebuild output: $(cat "$T/o")"
out=$(nr alpha); [[ $out == "skip alpha: up to date"* ]] || fail "after rebuild: $out"
ok "hxzoo build follows the moved upstream; afterwards alpha is up to date"

# a codec version change
snap=$("$HXZOO" -q download zoo/beta-hxq) && cp -rL "$snap" "$T/beta" || fail "download beta"
sed -i "s/\"codec\":[[:space:]]*\"hxzoo-codec [0-9]*\"/\"codec\": \"hxzoo-codec 0\"/" "$T/beta/hxzoo_build.json"
"$HXZOO" -q upload zoo/beta-hxq "$T/beta" --no-progress >/dev/null || fail "upload beta receipt"
out=$(nr beta); [[ $out == "rebuild beta: codec changed"* ]] || fail "codec change: $out"
ok "a codec version change -> rebuild"

# summary table and record script
for x in "alpha true success moved" "beta false skipped unchanged" "gamma true failure moved"; do
  set -- $x; bash "$root/ci/record.sh" "$1" "$2" "$3" "$4" "$T/res/$1" || fail "record.sh"
done
[ -d "$T/res/alpha/receipts" ] || fail "receipts not kept"
bash "$root/ci/summary.sh" "$T/res" >"$T/sum" && fail "summary must fail when a build failed"
grep -q '| alpha | rebuilt | moved |' "$T/sum" && grep -q '| beta | skipped | unchanged |' "$T/sum" && grep -q 'rebuilt 1, skipped 1, failed 1' "$T/sum" || fail "summary: $(cat "$T/sum")"
[ "$(bash "$root/ci/matrix.sh" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 11 ] || fail "matrix"
ok "record/summary/matrix scripts"

# linters
command -v shellcheck >/dev/null || { echo "FAIL: shellcheck missing"; exit 1; }
shellcheck "$root"/ci/*.sh "$root/scripts/demo.sh" || fail "shellcheck ci/"
wf=$root/.github/workflows/zoo-nightly.yml
if command -v actionlint >/dev/null; then
  actionlint "$wf" || fail "actionlint"
  ok "actionlint"
fi
"$PY" - "$wf" "$T/runs" <<'PY' || fail "workflow structure"
import sys, os, re, yaml
wf = yaml.safe_load(open(sys.argv[1]))
on = wf.get(True, wf.get("on"))
assert "schedule" in on and on["schedule"][0]["cron"], "no schedule"
b = wf["jobs"]["build"]
assert "self-hosted" in b["runs-on"] and "gpu" in b["runs-on"]
assert b["strategy"]["fail-fast"] is False and "model" in b["strategy"]["matrix"]
assert "matrix.model" in b["concurrency"]["group"], "one concurrent build per model"
assert "secrets.HF_TOKEN" in b["env"]["HF_TOKEN"]
assert any("upload-artifact" in s.get("uses", "") for s in b["steps"])
assert wf["jobs"]["summary"]["if"] == "always()"
os.makedirs(sys.argv[2], exist_ok=True)
n = 0
for jn, job in wf["jobs"].items():
    for s in job["steps"]:
        if "run" in s:
            body = re.sub(r"\$\{\{[^}]*\}\}", "EXPR", s["run"])
            open(os.path.join(sys.argv[2], f"{jn}-{n}.sh"), "w").write("#!/usr/bin/env bash\nset -euo pipefail\n" + body + "\n")
            n += 1
print("workflow structure ok,", n, "run blocks")
PY
shellcheck "$T"/runs/*.sh || fail "shellcheck of the workflow's run blocks"
ok "linters: shellcheck (ci/, demo, workflow run blocks), workflow structure$(command -v actionlint >/dev/null || echo '; actionlint not installed')"
exit 0
