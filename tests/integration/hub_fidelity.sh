#!/usr/bin/env bash
# hub_fidelity.sh - hxzoo serve answers like the Hub, checked with
# huggingface_hub and git: with expand=True every tree / paths-info entry
# (files and folders) names the last commit that changed it; folders are
# named by their git tree ids (equal to what git computes for the same
# files, LFS files as their pointers; unchanged when the folder did not
# change); commit history and tree pages range-check p/cursor/limit
# (beyond the end: an empty page; not a whole number: 400).
. "$(dirname "$0")/lib/hub.sh"
have_py || { echo "FAIL: huggingface_hub not installed in $PY"; exit 1; }
command -v git >/dev/null || { echo "FAIL: git not installed"; exit 1; }
start_server A "$T/root"
export HF_ENDPOINT=$URL_A HF_TOKEN=hf_test HF_HUB_CACHE=$T/cache
src=$T/src
mkdir -p "$src/d" "$src/X/sub/deep"
printf 'a\n' >"$src/a.txt"; printf 'b1\n' >"$src/d/b.txt"; printf 'c1\n' >"$src/c.txt"
printf 'xa\n' >"$src/X/a.txt"; printf 'xb\n' >"$src/X/sub/b.txt"; printf 'xe\n' >"$src/X/sub/deep/e.txt"
printf 'x.\n' >"$src/X/sub.txt"; printf 'x-\n' >"$src/X/sub-1.txt"; printf 'x0\n' >"$src/X/sub0"
head -c 5000 /dev/urandom >"$src/X/w.bin"   # LFS (*.bin in the default .gitattributes)

# three commits touching different files: c1 everything, c2 d/b.txt, c3 c.txt
"$PY" - "$src" >"$T/ids" <<'PY' || fail "python commits"
import sys
from huggingface_hub import HfApi
api = HfApi()
api.create_repo("org/hist")
c1 = api.upload_folder(repo_id="org/hist", folder_path=sys.argv[1], commit_message="one").oid
c2 = api.upload_file(repo_id="org/hist", path_or_fileobj=b"b2\n", path_in_repo="d/b.txt", commit_message="two").oid
c3 = api.upload_file(repo_id="org/hist", path_or_fileobj=b"c2\n", path_in_repo="c.txt", commit_message="three").oid
print(c1, c2, c3)
PY
read -r c1 c2 c3 <"$T/ids"

# 1. lastCommit per path, from list_repo_tree and get_paths_info
"$PY" - "$c1" "$c2" "$c3" <<'PY' || fail "lastCommit"
import sys
from huggingface_hub import HfApi, RepoFolder
c1, c2, c3 = sys.argv[1:4]
api = HfApi()
c0 = api.list_repo_commits("org/hist")[-1].commit_id  # the repo's initial commit (.gitattributes)
want = {".gitattributes": c0, "a.txt": c1, "c.txt": c3, "d": c2, "d/b.txt": c2, "X": c1, "X/sub": c1,
        "X/sub/deep/e.txt": c1, "X/w.bin": c1}
got = {e.path: e for e in api.list_repo_tree("org/hist", recursive=True, expand=True)}
for p, c in want.items():
    assert got[p].last_commit is not None and got[p].last_commit.oid == c, (p, got[p].last_commit, c)
titles = {c1: "one", c2: "two", c3: "three"}
assert got["d"].last_commit.title == "two" and got["c.txt"].last_commit.title == "three"
assert isinstance(got["X"], RepoFolder) and got["X/w.bin"].lfs is not None
# the listing at an older revision: c.txt was last changed by c1 there
old = {e.path: e for e in api.list_repo_tree("org/hist", revision=c2, expand=True)}
assert old["c.txt"].last_commit.oid == c1 and old["d"].last_commit.oid == c2, old
info = {e.path: e for e in api.get_paths_info("org/hist", ["a.txt", "d", "c.txt", "X/sub", "nope"], expand=True)}
assert set(info) == {"a.txt", "d", "c.txt", "X/sub"}, info
for p in info:
    assert info[p].last_commit.oid == want[p], (p, info[p].last_commit, want[p])
# without expand: no lastCommit
assert all(e.last_commit is None for e in api.list_repo_tree("org/hist", recursive=True))
PY
ok "expand=True: lastCommit is the last commit that changed each file and folder (tree, paths-info)"

# 2. folder oids are git tree ids
"$PY" - "$c1" "$c3" >"$T/trees" <<'PY' || fail "tree ids from the server"
import sys
from huggingface_hub import HfApi
api = HfApi()
def dirs(rev):
    return {e.path: e.tree_id for e in api.list_repo_tree("org/hist", revision=rev, recursive=True)
            if not hasattr(e, "size")}
a, b = dirs(sys.argv[1]), dirs(sys.argv[2])
assert set(a) == {"d", "X", "X/sub", "X/sub/deep"}, a
assert a["X"] == b["X"] and a["X/sub"] == b["X/sub"], ("X unchanged by c2/c3", a, b)
assert a["d"] != b["d"], ("d changed in c2", a, b)
pi = api.get_paths_info("org/hist", ["X/sub"], revision=sys.argv[2])[0]
assert pi.tree_id == b["X/sub"], (pi, b)
for p in ("X", "X/sub", "X/sub/deep", "d"):
    print(p, b[p])
PY
g=$T/git; mkdir -p "$g"; git -C "$g" init -q
cp -r "$src/X" "$g/X"; mkdir -p "$g/d"; printf 'b2\n' >"$g/d/b.txt"
sha=$(sha256sum "$src/X/w.bin" | cut -d' ' -f1)
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %s\n' "$sha" "$(stat -c %s "$src/X/w.bin")" >"$g/X/w.bin"
git -C "$g" add -A
while read -r p oid; do
  want=$(git -C "$g" write-tree --prefix="$p/") || fail "git write-tree $p"
  [ "$oid" = "$want" ] || fail "folder $p: server oid $oid, git tree id $want"
done <"$T/trees"
ok "folder oids are git tree ids (git write-tree agrees; LFS files as pointers) and stay when the folder is unchanged"

# 3. p, cursor and limit are range-checked
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
api=$URL_A/api/models/org/hist
for p in 1000000000000000000 9223372036854775807 99999999999999999999999; do
  c=$(code "$api/commits/main?p=$p&limit=1000")
  [ "$c" = 200 ] && [ "$(cat "$T/body")" = "[]" ] || fail "commits p=$p: HTTP $c $(head -c 200 "$T/body")"
done
for p in 1e18 -1 abc; do
  c=$(code "$api/commits/main?p=$p")
  [ "$c" = 400 ] || fail "commits p='$p': HTTP $c (want 400)"
done
c=$(code "$api/commits/main?limit=1x")
[ "$c" = 400 ] || fail "commits limit=1x: HTTP $c"
c=$(code -D "$T/hdr" "$api/commits/main?p=1&limit=1")
[ "$c" = 200 ] && grep -q "$c2" "$T/body" && grep -qi '^link: .*p=2&limit=1>; rel="next"' "$T/hdr" ||
  fail "commits page 1 of 1: HTTP $c $(cat "$T/body") $(cat "$T/hdr")"
c=$(code "$api/tree/main?recursive=true&cursor=9223372036854775807&limit=10000")
[ "$c" = 200 ] && [ "$(cat "$T/body")" = "[]" ] || fail "tree cursor=LONG_MAX: HTTP $c"
c=$(code "$api/tree/main?cursor=99999999999999999999999")
[ "$c" = 200 ] && [ "$(cat "$T/body")" = "[]" ] || fail "tree cursor past LONG_MAX: HTTP $c"
for q in cursor=abc cursor=-5 limit=1e3; do
  c=$(code "$api/tree/main?$q")
  [ "$c" = 400 ] || fail "tree $q: HTTP $c (want 400)"
done
c=$(code -D "$T/hdr" "$api/tree/main?recursive=true&limit=3&cursor=3")
[ "$c" = 200 ] && [ "$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/body")" = 3 ] &&
  grep -qi '^link: .*cursor=6>; rel="next"' "$T/hdr" || fail "tree page: HTTP $c $(cat "$T/hdr")"
ok "commits p / tree cursor beyond the end: empty page; not whole numbers: 400; paging intact"
exit 0
