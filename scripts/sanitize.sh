#!/usr/bin/env bash
# The test suite under sanitizers (issue #18), each in a build folder of its own:
#
#   scripts/sanitize.sh address     AddressSanitizer (+ LeakSanitizer) over every library suite
#   scripts/sanitize.sh thread      ThreadSanitizer over the suites that run threads
#   scripts/sanitize.sh undefined   UndefinedBehaviorSanitizer over our C code (CVectorKernels,
#                                   CWorkerPool, CMPIBridge; Swift has no UBSan on Linux)
#   scripts/sanitize.sh all         the three (a release step: ~30 min on two cores)
#   scripts/sanitize.sh address --fast   CI's share: the quick suites only
#
# The CLI suites are left out: they run the `adapters` executable, which these builds do not
# instrument. Leaks inside the toolchain's own libraries are suppressed (scripts/toolchain-leaks.supp).
# Exits non-zero on any sanitizer report or test failure.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-address}
FAST=${2:-}
export LSAN_OPTIONS="suppressions=$PWD/scripts/toolchain-leaks.supp:print_suppressions=0"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
scripts/setup.sh --no-build >/dev/null

NOT_CLI='CLITests|HubCLITests|DistributedCLITests'
run() { # build folder, swift flags..., then -- test filters
  local build=$1; shift
  local flags=() filters=()
  while [ "$1" != -- ]; do flags+=("$1"); shift; done; shift
  filters=("$@")
  echo "sanitize.sh: building $build (${flags[*]})" >&2
  swift build --build-tests --build-path "$build" "${flags[@]}" 2>&1 | grep -E "error|warning: unre" >&2 || true
  echo "sanitize.sh: testing ${filters[*]}" >&2
  swift test --skip-build --build-path "$build" "${flags[@]}" "${filters[@]}"
}

address() {
  if [ "$FAST" = --fast ]; then
    run .build-asan --sanitize=address -- --filter 'KernelsTests|ModelIOTests|TokenizersTests|DatasetsTests|ParquetTests|EncodersTests|TrainingTests|StatisticsTests|ChartsTests|ComparisonTests'
  else
    run .build-asan --sanitize=address -- --skip "$NOT_CLI|HubTests|ServingTests"
    # Like scripts/test.sh: the HTTP suites in passes of their own.
    run .build-asan --sanitize=address -- --filter ServingTests
    run .build-asan --sanitize=address -- --filter HubTests
  fi
}
thread() {
  # The worker pool and BLAS threading (kernels, training), the parallel tokenizer and token cache,
  # the Hub client's concurrent downloads and the server's scheduler.
  run .build-tsan --sanitize=thread -- --filter 'KernelsTests|TrainingTests|TokenizersTests|DatasetsTests'
  run .build-tsan --sanitize=thread -- --filter ServingTests
  run .build-tsan --sanitize=thread -- --filter HubTests
}
undefined() {
  run .build-ubsan -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined \
    -Xswiftc -Xclang-linker -Xswiftc -fsanitize=undefined -- --skip "$NOT_CLI|HubTests|ServingTests"
}

case $MODE in
  address|thread|undefined) "$MODE" ;;
  all) address; thread; undefined ;;
  *) echo "sanitize.sh: address, thread, undefined or all" >&2; exit 2 ;;
esac
echo "sanitize.sh: $MODE clean" >&2
