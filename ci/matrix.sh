#!/usr/bin/env bash
# matrix.sh [NAMES] - the build matrix as a JSON list on stdout: the given
# space-separated names, or every model of zoo/manifest.json that is not a
# test model.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python3 - "$root/zoo/manifest.json" "${1:-}" <<'PY'
import json, sys
names = sys.argv[2].split()
models = json.load(open(sys.argv[1]))["models"]
known = {m["name"] for m in models}
bad = [n for n in names if n not in known]
if bad:
    sys.exit("matrix.sh: not in the manifest: " + " ".join(bad))
print(json.dumps(names or [m["name"] for m in models if not m.get("test_model")]))
PY
