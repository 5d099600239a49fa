#!/usr/bin/env bash
# layering.sh - the direction of dependencies between modules
# (docs/ARCHITECTURE.md): the Makefile's MODULES lists the module folders
# from the top of the graph down, and a file of a module may include
# headers only of its own module or of modules after it. A header named
# *_internal.h is private to its folder: included only from that folder
# (and from tests/). Checks every .c/.h/.cu/.cuh file of every module.
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 1
mods=$(make -s --no-print-directory -f - print-modules <<'MK'
include Makefile
print-modules:
	@echo $(MODULES)
MK
)
[ -n "$mods" ] || { echo "FAIL: no MODULES in the Makefile"; exit 1; }
echo "modules, top down: $mods"
fail=0 n=0
# the module of a path: the longest module folder that is its directory
module_of() {
  local d best=
  d=$(dirname "$1")
  for m in $mods; do [ "$d" = "$m" ] && best=$m; done
  echo "$best"
}
rank_of() {
  local i=0
  for m in $mods; do [ "$m" = "$1" ] && { echo $i; return; }; i=$((i + 1)); done
  echo -1
}
for m in $mods; do
  [ -d "$m" ] || continue
  r=$(rank_of "$m")
  for f in "$m"/*.c "$m"/*.h "$m"/*.cu "$m"/*.cuh; do
    [ -f "$f" ] || continue
    while IFS= read -r inc; do
      n=$((n + 1))
      [ -f "$inc" ] || { echo "FAIL $f includes \"$inc\", which does not exist"; fail=1; continue; }
      tm=$(module_of "$inc")
      [ -n "$tm" ] || continue   # not a module (e.g. gpu/check)
      tr=$(rank_of "$tm")
      if [ "$tr" -lt "$r" ]; then
        echo "FAIL $f ($m) includes $inc of $tm, a module above it"; fail=1
      fi
      case $inc in
        *_internal.h) [ "$(dirname "$inc")" = "$m" ] || { echo "FAIL $f includes $inc, private to $(dirname "$inc")"; fail=1; } ;;
      esac
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
  done
done
# private headers from outside the modules (cli/, gpu/check/): only tests may
for f in cli/*.c gpu/check/*; do
  [ -f "$f" ] || continue
  if grep -Eq '#[[:space:]]*include[[:space:]]*"[^"]*_internal\.h"' "$f"; then
    echo "FAIL $f includes a private header: $(grep -Eo '"[^"]*_internal\.h"' "$f" | head -1)"; fail=1
  fi
done
[ $fail -eq 0 ] && echo "PASS $n includes of the modules follow MODULES' order; *_internal.h stay in their folders"
exit $fail
