#!/usr/bin/env bash
# deps.sh - install the Debian packages hxzoo needs, only those missing.
# Run by `make deps` (and so by `make test`/`make demo`). Needs root or sudo
# when something is missing; does nothing when everything is present.
set -euo pipefail
pkgs=(build-essential pkg-config libcurl4-openssl-dev libcjson-dev libyaml-dev libssl-dev libzstd-dev
      check libsubunit-dev libpcre2-dev libicu-dev libmicrohttpd-dev libopenblas-dev python3 python3-venv
      python3-pip ca-certificates curl shellcheck bsdutils zstd bc git time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all system packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: missing ${missing[*]}: run as root or install sudo" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
