#!/usr/bin/env bash
# mkvenv.sh DIR REQUIREMENTS - create a private Python venv and install the
# pinned requirements into it (PyPI). Used for tests and benchmarks only;
# the product itself is C.
set -euo pipefail
dir=$1 req=$2
py=${PYTHON:-python3}
if [ ! -x "$dir/bin/python" ]; then
  "$py" -m venv "$dir"
fi
"$dir/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
