#!/usr/bin/env bash
# bench.sh BUILD_DIR - every side-by-side benchmark (make bench).
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/bench_hub.sh" "$build"
