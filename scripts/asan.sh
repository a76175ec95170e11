#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer run: builds the addon with both into
# build-asan/ (build/ is left alone) and runs the suites that exercise native/ hardest
# against it. Node itself is not instrumented, so the ASan runtime is preloaded and its
# leak checker is off (Node does not free everything at exit; valgrind.sh covers leaks).
#
#   npm run test:asan                   # build (incrementally) and run
#   ASAN_TESTS="test/fuzz.test.ts" npm run test:asan
#   FUZZ_RUNS=2000 npm run test:asan    # a longer fuzz under the sanitizers
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/build-asan

# node-gyp as npm ships it (offline: the system Node's headers, as npm install uses).
gyp=${NODE_GYP:-"$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"}
nodedir=${NODEDIR:-$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")}

# The sources, copied with their timestamps so make rebuilds only what changed.
mkdir -p "$out/native"
cp -p binding.gyp "$out/"
cp -p native/malloc_lab.gypi "$out/native/"
for dir in core addon fresh compat; do
  mkdir -p "$out/native/$dir"
  cp -pu native/$dir/* "$out/native/$dir/"
done

sanitize="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=undefined,float-cast-overflow"
export CXXFLAGS="$sanitize -fno-omit-frame-pointer -g -O1"
export CFLAGS="$CXXFLAGS"
export LDFLAGS="-fsanitize=address,undefined"
if [ ! -f "$out/build/Makefile" ]; then
  node "$gyp" configure --directory="$out" --nodedir="$nodedir" >/dev/null
fi
node "$gyp" build --directory="$out" --nodedir="$nodedir" 2>&1 | grep -v '^gyp info' || true
addon=$out/build/Release/malloc_lab.node
test -f "$addon"
if ! ldd "$addon" | grep libasan >/dev/null; then  # not grep -q: ldd must not die of SIGPIPE under pipefail
  echo "asan.sh: $addon is not linked with libasan" >&2
  exit 1
fi

npx tsc -p tsconfig.json

export MALLOC_LAB_ADDON=$addon
export MALLOC_LAB_SANITIZER=asan
export LD_PRELOAD=$(gcc -print-file-name=libasan.so)
# allocator_may_return_null: a huge malloc returns NULL (ENOMEM), as glibc's does.
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0:strict_string_checks=1:check_initialization_order=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The suites about refusing, fuzzing and containing; the ones that assert glibc's own
# behaviour (arenas, thresholds, mallinfo) do not apply to ASan's allocator.
tests=${ASAN_TESTS:-"test/bad-input-matrix.test.ts test/fuzz.test.ts test/crash-containment.test.ts test/step-programs.test.ts test/workers.test.ts test/loader.test.ts"}
# shellcheck disable=SC2086
npx vitest run $tests
