#!/usr/bin/env bash
# Builds the `adapters` command in release mode and puts it on the PATH, so that it runs from any folder.
# The built-in default model is found in the Hugging Face cache (scripts/setup.sh puts it there), not
# relative to this checkout.
#   scripts/install.sh                 # into ~/.local/bin (PREFIX=/usr/local scripts/install.sh for /usr/local/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-build
swift build -c release --product adapters
PREFIX=${PREFIX:-$HOME/.local}
mkdir -p "$PREFIX/bin"
# Copied to a temporary name and renamed, so a running `adapters` is never overwritten mid-file.
cp .build/release/adapters "$PREFIX/bin/.adapters.tmp-$$"
mv -f "$PREFIX/bin/.adapters.tmp-$$" "$PREFIX/bin/adapters"
echo "installed $PREFIX/bin/adapters"
case ":$PATH:" in
  *":$PREFIX/bin:"*) ;;
  *) echo "add it to your PATH: export PATH=\"$PREFIX/bin:\$PATH\"" ;;
esac
