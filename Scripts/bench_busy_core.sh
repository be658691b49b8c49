#!/usr/bin/env bash
# The worker pool on a CPU shared with other work: `gpt bench train` (shakespeare-char-cpu) with
# the default thread count and with --threads 1, on a quiet machine and with one core kept busy
# by a spinning process, alternated for ROUNDS rounds; prints each figure and the medians.
# Usage: Scripts/bench_busy_core.sh [ROUNDS] [GPT ...]   (default: 5 rounds, .build/release/gpt)
# Several binaries (copies at paths of the same length, e.g. /tmp/ab/old/gpt /tmp/ab/new/gpt)
# are measured in turn within each round. Run it on an otherwise idle machine.
set -euo pipefail
rounds="${1:-5}"
shift || true
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=(.build/release/gpt)
steps=40
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE  # OpenBLAS as a user has it (../shared/docs/measuring.md)

lscpu | grep -E "^Model name|^CPU family|^Model:" | tr -s ' ' | paste -sd ';' -
tokens_per_second() {
    "$1" bench train --steps "$steps" ${2:+--threads "$2"} --json | sed -E 's/.*"tokens_per_second":([0-9.]+).*/\1/' | awk '{ printf "%d", $1 }'
}
spin() { while :; do :; done; }

declare -A figures
for round in $(seq "$rounds"); do
    for binary in "${binaries[@]}"; do
        figures["$binary quiet default"]+="$(tokens_per_second "$binary") "
        spin & spinner=$!
        sleep 0.5
        figures["$binary busy default"]+="$(tokens_per_second "$binary") "
        figures["$binary busy 1-thread"]+="$(tokens_per_second "$binary" 1) "
        kill "$spinner"; wait "$spinner" 2>/dev/null || true
        sleep 0.5
    done
    echo "round $round done" >&2
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for binary in "${binaries[@]}"; do
    for case in "quiet default" "busy default" "busy 1-thread"; do
        values="${figures["$binary $case"]}"
        printf '%-28s %-14s median %7s tokens/s  (%s)\n' "$binary" "$case" "$(echo "$values" | median)" "$values"
    done
    busy=$(echo "${figures["$binary busy default"]}" | median)
    single=$(echo "${figures["$binary busy 1-thread"]}" | median)
    awk -v b="$binary" -v busy="$busy" -v single="$single" 'BEGIN { printf "%-28s busy core: default = %.2f × --threads 1\n", b, busy / single }'
done
