#!/usr/bin/env bash
# The test command: installs what the tests need (scripts/setup.sh), builds the CLI the CLI tests
# run, then runs every test; then every parser's fuzz target for 20 s each after replaying its
# regression inputs (scripts/fuzz.sh), and the quick suites under AddressSanitizer
# (scripts/sanitize.sh address --fast). Benchmarks are not tests: see BENCHMARKS.md.
#
# The Hub client's tests, then the CLI's Hub tests, run in passes of their own: they talk HTTP to a server with
# 10-second timeouts and count requests, and the CPU-bound suites (training, kernels) would
# otherwise hold the two cooperative threads long enough to trip those timeouts.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-build
swift build --product adapters
if [ "$#" -gt 0 ]; then
  swift test "$@"
else
  swift test --skip 'HubTests|HubCLITests'
  swift test --filter HubTests
  swift test --filter HubCLITests
  scripts/fuzz.sh --seconds 20
  scripts/sanitize.sh address --fast
fi
