#!/usr/bin/env bash
# mkvenv.sh DIR REQUIREMENTS - create a private Python venv and install the
# pinned requirements into it (PyPI), plus the data-only wheels of
# requirements-nodeps.txt without their dependencies. Used for tests and
# benchmarks only; the product itself is C.
set -euo pipefail
dir=$1 req=$2
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
if [ ! -x "$dir/bin/python" ]; then
  "$py" -m venv "$dir"
fi
"$dir/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
"$dir/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$here/requirements-nodeps.txt"
