#!/usr/bin/env bash
# hub_interop.sh - hxzoo download/upload against hxzoo serve, and the
# official huggingface_hub client against the same server: snapshot_download,
# hf_hub_download, create_repo, upload_folder; cache shared both ways; old
# revisions, branches, no-op re-publish, tokens and private repos, errors.
. "$(dirname "$0")/lib/hub.sh"
have_py || { echo "FAIL: huggingface_hub not installed in $PY"; exit 1; }
make_model "$T/src" 12000000
"$HXZOO" -q serve --root "$T/root" --import "$T/src" org/base >/dev/null || fail "import"
start_server A "$T/root" --multipart-chunk 4000000
export HF_ENDPOINT=$URL_A HF_TOKEN=hf_anything

# 1. our client into cache A, Python reads it offline
export HF_HUB_CACHE=$T/cacheA
snap=$("$HXZOO" -q download org/base) || fail "hxzoo download"
same_tree "$T/src" "$snap" || fail "downloaded snapshot differs"
[ -L "$snap/config.json" ] && [ "$(readlink "$snap/sub/x.txt" | cut -c1-15)" = "../../../blobs/" ] || fail "snapshot links are not relative blob links"
HF_HUB_OFFLINE=1 "$PY" - "$snap" <<'PY' || fail "huggingface_hub cannot use a cache written by hxzoo"
import sys
from huggingface_hub import snapshot_download, hf_hub_download, scan_cache_dir
p = snapshot_download("org/base")
assert p == sys.argv[1], (p, sys.argv[1])
f = hf_hub_download("org/base", "sub/deeper/a b.txt")
assert open(f).read() == "nested file with space\n"
info = scan_cache_dir()
assert not info.warnings, info.warnings
print("python offline ok", len(list(info.repos)[0].revisions))
PY
ok "hxzoo cache read by huggingface_hub offline"

# 2. Python downloads into cache B, we read it offline
export HF_HUB_CACHE=$T/cacheB
"$PY" -c 'from huggingface_hub import snapshot_download; snapshot_download("org/base")' 2>/dev/null || fail "python snapshot_download"
snapB=$(HF_HUB_OFFLINE=1 "$HXZOO" -q download org/base) || fail "hxzoo offline download from a python cache"
same_tree "$T/src" "$snapB" || fail "python cache content differs"
HF_HUB_OFFLINE=1 "$HXZOO" -q download org/base@nosuchbranch >/dev/null 2>&1 && fail "offline unknown revision should fail"
ok "huggingface_hub cache read by hxzoo offline"

# 3. Python create_repo + upload_folder, hxzoo downloads
export HF_HUB_CACHE=$T/cacheC
make_model "$T/srcpy" 9000000  # fresh content: the LFS PUT/multipart path is exercised
"$PY" - "$T/srcpy" <<'PY' || fail "python upload_folder"
import sys
from huggingface_hub import create_repo, upload_folder, hf_hub_download, HfApi
create_repo("org/pyup", exist_ok=True)
create_repo("org/pyup", exist_ok=True)
upload_folder(repo_id="org/pyup", folder_path=sys.argv[1], commit_message="from python")
api = HfApi()
files = api.list_repo_files("org/pyup")
assert "big.bin" in files and "sub/deeper/a b.txt" in files, files
PY
snap=$("$HXZOO" -q download org/pyup) || fail "hxzoo download of a python upload"
same_tree "$T/srcpy" "$snap" || fail "python-uploaded content differs"
ok "huggingface_hub upload_folder/create_repo, hxzoo download"

# 4. hxzoo upload, Python downloads; no-op re-publish; branch; history
out=$("$HXZOO" -q upload org/cup "$T/src" --json --no-progress) || fail "hxzoo upload"
c1=$(echo "$out" | "$PY" -c 'import json,sys; d=[json.loads(l) for l in sys.stdin][-1]; assert d["committed"]; print(d["commit"])')
n1=$(commits "$URL_A" org/cup)
out=$("$HXZOO" -q upload org/cup "$T/src" --json --no-progress) || fail "re-upload"
echo "$out" | grep -q '"committed":false' || fail "identical re-publish committed something: $out"
echo "$out" | grep -q '"bytes_uploaded":0' || fail "identical re-publish uploaded bytes"
[ "$(commits "$URL_A" org/cup)" = "$n1" ] || fail "commit count changed on no-op"
"$PY" - "$T/src" <<'PY' || fail "python snapshot_download of an hxzoo upload"
import sys, filecmp, os
from huggingface_hub import snapshot_download
p = snapshot_download("org/cup")
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        a = os.path.join(root, f); b = os.path.join(p, os.path.relpath(a, sys.argv[1]))
        assert filecmp.cmp(a, b, shallow=False), b
PY
cp -r "$T/src" "$T/src2"; printf 'changed\n' >"$T/src2/sub/x.txt"; rm "$T/src2/sub/s1.txt"
"$HXZOO" -q upload org/cup "$T/src2" --branch dev --message "dev change" --no-progress >/dev/null || fail "branch upload"
snap=$("$HXZOO" -q download org/cup@dev) || fail "download branch"
[ "$(cat "$snap/sub/x.txt")" = changed ] || fail "branch content"
[ -e "$snap/sub/s1.txt" ] || fail "upload must add and update, never delete"
snap=$("$HXZOO" -q download "org/cup@$c1") || fail "download by commit"
same_tree "$T/src" "$snap" || fail "old revision content"
ok "hxzoo upload, python download, no-op re-publish, branch, old revision"

# 5. local dir
"$HXZOO" -q download org/cup --local-dir "$T/ld" --include 'sub/*' --include config.json >/dev/null || fail "local-dir"
[ -f "$T/ld/sub/deeper/a b.txt" ] && [ -f "$T/ld/config.json" ] && [ ! -e "$T/ld/big.bin" ] || fail "local-dir selection"
[ -f "$T/ld/.cache/huggingface/download/config.json.metadata" ] || fail "local-dir metadata"
ok "local-dir with --include"

# 6. errors
"$HXZOO" -q download org/nope >/dev/null 2>"$T/err"; rc=$?
[ $rc = 9 ] && grep -q "repository not found" "$T/err" || fail "missing repo: rc=$rc $(cat "$T/err")"
"$HXZOO" -q download org/base@nobranch >/dev/null 2>"$T/err"; rc=$?
[ $rc = 9 ] && grep -q "revision not found" "$T/err" || fail "missing revision: rc=$rc $(cat "$T/err")"
ok "clear errors for missing repo and revision"

# 7. tokens file: permissions and private repos
printf '# token user role orgs\nhf_write1 alice write team\nhf_read1 bob read\n' >"$T/tokens"
"$HXZOO" -q serve --root "$T/root2" --import "$T/src" team/secret --private >/dev/null || fail "import private"
start_server B "$T/root2" --tokens "$T/tokens"
export HF_ENDPOINT=$URL_B HF_HUB_CACHE=$T/cacheD
unset HF_TOKEN
"$HXZOO" -q download team/secret >/dev/null 2>"$T/err"; rc=$?
[ $rc = 9 ] || fail "anonymous read of a private repo: rc=$rc"
grep -q hf_ "$T/err" && fail "token leaked into an error"
HF_TOKEN=hf_read1 "$HXZOO" -q download team/secret >/dev/null 2>&1 && fail "outsider read a private repo"
HF_TOKEN=hf_wrong "$HXZOO" -q download team/secret >/dev/null 2>"$T/err"; rc=$?
[ $rc = 8 ] && ! grep -q hf_wrong "$T/err" || fail "bad token: rc=$rc $(cat "$T/err")"
HF_TOKEN=hf_write1 "$HXZOO" -q download team/secret >/dev/null || fail "member read"
mkdir -p "$T/tokhome"; printf 'hf_write1\n' >"$T/tokhome/token"
HF_HOME=$T/tokhome HF_HUB_CACHE=$T/cacheE "$HXZOO" -q download team/secret >/dev/null || fail "token from \$HF_HOME/token"
HF_TOKEN=hf_read1 "$HXZOO" -q upload bob/x "$T/src2" --no-progress >/dev/null 2>&1 && fail "read token uploaded"
HF_TOKEN=hf_write1 "$HXZOO" -q upload team/pub "$T/src2" --no-progress >/dev/null || fail "write token upload"
HF_TOKEN=hf_read1 "$HXZOO" -q download team/pub >/dev/null || fail "public read with read token"
HF_TOKEN=hf_read1 HF_HUB_CACHE=$T/cacheF "$PY" - <<'PY' || fail "python sees a private repo as not found"
from huggingface_hub import snapshot_download
from huggingface_hub.errors import RepositoryNotFoundError
try:
    snapshot_download("team/secret")
    raise SystemExit("outsider got a private repo")
except RepositoryNotFoundError:
    pass
PY
ok "tokens: read/write roles, private repos 401/404, token never in errors"

# 8. gated repo: its info, listing and history are public (as on the Hub);
# its files are not: anonymous 401 GatedRepo, not granted 403 GatedRepo
curl -sf -X PUT -H "Authorization: Bearer hf_write1" -H 'Content-Type: application/json' \
  -d '{"gated":"manual"}' "$URL_B/api/models/team/pub/settings" >/dev/null || fail "set gated"
HF_HUB_CACHE=$T/cacheG "$HXZOO" -q download team/pub >/dev/null 2>"$T/err"; rc=$?
[ $rc = 8 ] && grep -q "gated" "$T/err" || fail "anonymous read of a gated repo: rc=$rc $(cat "$T/err")"
HF_TOKEN=hf_read1 HF_HUB_CACHE=$T/cacheG "$HXZOO" -q download team/pub >/dev/null 2>"$T/err"; rc=$?
[ $rc = 8 ] && grep -q "not been granted" "$T/err" || fail "ungranted read of a gated repo: rc=$rc $(cat "$T/err")"
for tok in hf_read1 ""; do
  HF_TOKEN=$tok HF_HUB_CACHE=$T/cacheG "$PY" - "$tok" <<'PY' || fail "python and a gated repo (token '$tok')"
import sys
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import GatedRepoError
api = HfApi(token=sys.argv[1] or False)
info = api.model_info("team/pub")
assert info.gated == "manual" and info.sha, info
files = api.list_repo_files("team/pub")
assert "config.json" in files and "sub/x.txt" in files, files
tree = list(api.list_repo_tree("team/pub", recursive=True, expand=True))
assert any(e.path == "config.json" for e in tree)
assert api.get_paths_info("team/pub", ["config.json"])[0].path == "config.json"
assert api.list_repo_commits("team/pub") and api.list_repo_refs("team/pub").branches
for f in ("config.json", "model.safetensors"):  # a regular and an LFS file
    try:
        hf_hub_download("team/pub", f, token=sys.argv[1] or False)
        raise SystemExit("gated file downloaded: " + f)
    except GatedRepoError as e:
        assert e.response.status_code == (403 if sys.argv[1] else 401), e.response.status_code
PY
done
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/vnd.git-lfs+json' \
  -d '{"operation":"download","objects":[{"oid":"'"$(printf 'a%.0s' $(seq 64))"'","size":1}]}' "$URL_B/team/pub.git/info/lfs/objects/batch")
[ "$code" = 401 ] || fail "LFS download batch of a gated repo without a token: HTTP $code"
curl -sf -X PUT -H "Authorization: Bearer hf_write1" -H 'Content-Type: application/json' \
  -d '{"gated":"manual","granted":["bob"]}' "$URL_B/api/models/team/pub/settings" >/dev/null || fail "grant bob"
HF_TOKEN=hf_read1 HF_HUB_CACHE=$T/cacheH "$HXZOO" -q download team/pub >/dev/null || fail "granted user cannot download"
ok "gated repos: info, listing, history readable by anyone; files 401/403 GatedRepo (GatedRepoError); granted users download"
exit 0
