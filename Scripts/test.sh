#!/usr/bin/env bash
# The test command: installs what is missing, builds in release (numeric tests are
# slow in debug builds) and runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-dependencies.sh --with-test-tools
swift build -c release --build-tests
# The suites that act while a request is still running (cancel it, fill the queue behind it) run on
# their own, after the rest: alongside the heavy numeric suites, which hold the test process's
# cooperative threads for seconds at a time, their clients could not act in time.
timing_sensitive='GPTServerTests|BatchSchedulerTests'
swift test -c release --skip-build --skip "$timing_sensitive"
swift test -c release --skip-build --filter "$timing_sensitive"
# Every command the README shows for its samples and pictures, run and checked for shape (~3 min).
bash Scripts/readme.sh --check
