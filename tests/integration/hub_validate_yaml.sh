#!/usr/bin/env bash
# hub_validate_yaml.sh - POST /api/validate-yaml of hxzoo serve checked with
# huggingface_hub (ModelCard.validate, the check create_commit makes before
# committing a README.md): good metadata accepted, a license off the Hub's
# list / a model-index that is not a list / YAML that does not parse
# refused with the Hub's error shapes (JSON errors/warnings, text/plain
# "- Error: ..." lines), a card without metadata accepted with a warning;
# and hxzoo build's publish step, which asks the endpoint before uploading
# and stops with the server's message when the card is refused.
. "$(dirname "$0")/lib/hub.sh"
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
have_py || { echo "FAIL: huggingface_hub not installed in $PY"; exit 1; }
"$HXZOO" -q serve --root "$T/hub" --import "$root/tests/fixtures/stories260k" hxzoo-fixtures/stories260k >/dev/null ||
  fail "import"
start_server A "$T/hub"
export HF_ENDPOINT=$URL_A HF_TOKEN=hf_test HF_HUB_CACHE=$T/cache

# 1. huggingface_hub against the endpoint
"$PY" - <<'PY' || fail "huggingface_hub and /api/validate-yaml"
import warnings
from huggingface_hub import HfApi, ModelCard
from huggingface_hub.errors import HfHubHTTPError

def refused(fn, *want):
    try:
        fn()
    except ValueError as e:
        for w in want:
            assert w in str(e), (w, str(e))
        return str(e)
    raise AssertionError("accepted: %r" % (want,))

good = "---\nlicense: mit\nbase_model: org/base\nbase_model_relation: quantized\ntags:\n- hxq\nmodel-index:\n- name: m\n  results: []\n---\n# card\n"
ModelCard(good).validate()                                   # text/plain, 200
refused(lambda: ModelCard("---\nlicense: asdf\n---\n# x\n").validate(), '- Error: "license" must be one of [', "apache-2.0")
refused(lambda: ModelCard("---\nlicense: [mit, nope]\n---\n").validate(), '"license" must be one of')
refused(lambda: ModelCard("---\nbase_model_relation: quantised\n---\n").validate(), '"base_model_relation" must be one of')
api = HfApi()
api.create_repo("org/cards")
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    api._validate_yaml(good)
    assert not w, [str(x.message) for x in w]
    api._validate_yaml("a card without metadata\n")          # JSON: a warning, accepted
    assert any("empty or missing yaml metadata" in str(x.message) for x in w), [str(x.message) for x in w]
# create_commit checks a README.md first: JSON errors -> ValueError("Invalid metadata in README.md.\n- ...")
for bad, msg in (("---\nmodel-index: foo\n---\n", '"model-index" must be an array'),
                 ("---\nlicense: mit\na: b: c\n---\n", "Error parsing YAML metadata (README.md line 3)"),
                 ("---\nlicense: mit\nlicense: mit\n---\n", "duplicated mapping key"),
                 ("---\ntags: [a, b\n---\n", "unterminated flow collection")):
    refused(lambda: api.upload_file(repo_id="org/cards", path_or_fileobj=bad.encode(), path_in_repo="README.md"),
            "Invalid metadata in README.md.\n- ", msg)
assert "README.md" not in api.list_repo_files("org/cards")
api.upload_file(repo_id="org/cards", path_or_fileobj=good.encode(), path_in_repo="README.md")
assert "README.md" in api.list_repo_files("org/cards")
print("validate-yaml ok")
PY
code=$(curl -s -o "$T/body" -w '%{http_code}' -X POST "$URL_A/api/validate-yaml" -H 'Content-Type: application/json' -d '{"repoType":"model"}')
[ "$code" = 400 ] && grep -q '"errors":\[{"message":"\\"content\\" is required' "$T/body" || fail "no content: $code $(cat "$T/body")"
code=$(curl -s -o "$T/body" -w '%{http_code}' -X POST "$URL_A/api/validate-yaml" -d 'not json')
[ "$code" = 400 ] && grep -q '"errors"' "$T/body" || fail "malformed body: $code $(cat "$T/body")"
ok "validate-yaml: good card accepted, bad license / model-index / YAML refused in the Hub's shapes (huggingface_hub)"

# 2. the build's publish step asks the endpoint and stops with its message
export HXZOO_BUILD_ROOT=$T/zb
tgt=EchoLabs33/stories260k-hxq
"$HXZOO" build stories260k --stop-after card >"$T/o1" 2>&1 || fail "build to the card: $(cat "$T/o1")"
card=$T/zb/stories260k/repo/README.md
cp "$card" "$T/card.good"
sed -i 's/^license: .*/license: "not-a-license"/' "$card"
"$HXZOO" build stories260k >"$T/o2" 2>&1; rc=$?
[ $rc = 5 ] && grep -q 'the Hub refused the card.s metadata: "license" must be one of \[apache-2.0' "$T/o2" ||
  fail "a refused card: rc=$rc $(cat "$T/o2")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL_A/api/models/$tgt")
[ "$code" = 404 ] || fail "something was published for a refused card (HTTP $code)"
cp "$T/card.good" "$card"
"$HXZOO" build stories260k >"$T/o3" 2>&1 || fail "build with the card restored: $(cat "$T/o3")"
grep -q "published [0-9a-f]\{40\} (new commit)" "$T/o3" || fail "not published: $(cat "$T/o3")"
ok "hxzoo build checks the card with validate-yaml: refused -> exit 5 with the Hub's message, nothing published"
exit 0
