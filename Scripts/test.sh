#!/usr/bin/env bash
# The test command: installs what is missing, builds in release (numeric tests are
# slow in debug builds) and runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-dependencies.sh --with-test-tools
swift build -c release --build-tests
swift test -c release --skip-build
# Every command the README shows for its samples and pictures, run and checked for shape (~3 min).
bash Scripts/readme.sh --check
