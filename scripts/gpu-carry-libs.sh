#!/usr/bin/env bash
# gpu-carry-libs.sh [BUILD_DIR] - copy the shared libraries build/hxzoo
# needs (whatever ldd lists: libcurl, microhttpd, cJSON, libyaml, PCRE2, ICU,
# OpenSSL, zstd and theirs) into BUILD_DIR/gpu-libs, so that the carried
# binary starts on a lent GPU machine whose image lacks them
# (scripts/gpu-run.sh puts the folder last on LD_LIBRARY_PATH). The C/C++
# runtime (libc, libm, libstdc++, libgcc_s, the loader) is left out: the
# machine's own must be used. About 50 MiB.
set -eu
build=${1:-build}
dst=$build/gpu-libs
rm -rf "$dst"
mkdir -p "$dst"
ldd "$build/hxzoo" | awk '$3 ~ /^\// { print $3 }' |
  grep -v -E '/(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|ld-linux[^/]*)\.so' |
  while read -r so; do cp -L "$so" "$dst/"; done
du -sh "$dst"
