#!/usr/bin/env bash
# valgrind memcheck over a representative workload (scripts/valgrind-workload.mjs):
# fails when a definite leak, or a memory error (invalid read/write, uninitialised
# value, bad free), has a stack that runs through native/ (malloc_lab.node). Node's
# own leaks at exit are counted and shown, not judged.
#
#   npm run test:valgrind
#   VALGRIND_ROUNDS=200 npm run test:valgrind     # a longer workload (default 50 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null; then
  echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2
  exit 1
fi
npx tsc -p tsconfig.json
out=${VALGRIND_OUT:-build-valgrind}
mkdir -p "$out"
# --jitless: V8 generates no code, so memcheck need not chase self-modifying code.
# The addon loaded is the default build (MALLOC_LAB_ADDON may name another).
status=0
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite \
  --errors-for-leak-kinds=definite --num-callers=40 --child-silent-after-fork=yes \
  --xml=yes --xml-file="$out/memcheck.xml" --log-file="$out/memcheck.log" \
  node --jitless scripts/valgrind-workload.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "valgrind.sh: the workload itself failed (exit $status); see $out/memcheck.log" >&2
  exit "$status"
fi
node scripts/valgrind-workload.mjs --report "$out/memcheck.xml"

# The negative control: the same pipeline must flag a block the addon leaks on purpose.
VALGRIND_LEAK_CONTROL=1 VALGRIND_ROUNDS=1 valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite \
  --errors-for-leak-kinds=definite --num-callers=40 --xml=yes --xml-file="$out/control.xml" \
  --log-file="$out/control.log" node --jitless scripts/valgrind-workload.mjs >/dev/null
if node scripts/valgrind-workload.mjs --report "$out/control.xml" >"$out/control.txt"; then
  echo "valgrind.sh: the leak control was not flagged; this run could not have seen a leak" >&2
  exit 1
fi
echo "valgrind.sh: clean; and the leak control (4096 bytes leaked from the addon on purpose) was flagged, as it must be"
