#!/usr/bin/env bash
# Fuzzes every file reader with libFuzzer + AddressSanitizer: safetensors, GGUF (the container, and whole
# models: metadata, tokenizer, mapped matrices, one decoded token), token files, tokenizer files (ours
# and GPT-2's), word vectors (text and binary), configuration JSON.
# Usage: Scripts/fuzz.sh [RUNS] [TARGET...]    (default: 1,000,000 executions of every target)
# The targets live in Fuzz/ (a package of their own, so the main build is untouched), seeded from
# Fuzz/corpus/TARGET (committed); new inputs and any crash reproducer go to .build/fuzz/TARGET.
# Exits non-zero when a target crashes, leaks or times out.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzSafetensors FuzzGGUF FuzzGGUFModel FuzzTokenFile FuzzTokenizerFiles FuzzWordVectors FuzzConfiguration)

swift build -c release --package-path Fuzz --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address 2>&1 | grep -E "error|warning: unre|Compiling|Build" | grep -v "^\[" || true
bin=$(swift build -c release --package-path Fuzz --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address --show-bin-path)
status=0
printf '%-20s %12s %9s %10s  %s\n' target executions seconds "exec/s" result
for target in "${targets[@]}"; do
    work=.build/fuzz/$target
    rm -rf "$work" && mkdir -p "$work/corpus"
    cp Fuzz/corpus/"$target"/* "$work/corpus/"
    start=$(date +%s)
    max_len=4096
    [ "$target" = FuzzGGUFModel ] && max_len=32768  # the seed models are 13 and 25 kB
    if "$bin/$target" "$work/corpus" -runs="$runs" -max_len=$max_len -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$work/" -print_final_stats=1 > "$work/log" 2>&1; then
        result="no crash"
    else
        result="FAILED: see $work/log and the reproducer in $work/"
        status=1
    fi
    seconds=$(( $(date +%s) - start ))
    done_runs=$(sed -nE 's/^Done ([0-9]+) runs.*/\1/p' "$work/log" | tail -1)
    printf '%-20s %12s %9s %10s  %s\n' "$target" "${done_runs:-?}" "$seconds" "$(( ${done_runs:-0} / (seconds > 0 ? seconds : 1) ))" "$result"
done
exit $status
