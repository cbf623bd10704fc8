#!/usr/bin/env bash
# The test command: installs what the tests need (scripts/setup.sh), builds the CLI the CLI tests
# run, then runs every test. Benchmarks are not tests: see BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-build
swift build --product adapters
swift test "$@"
