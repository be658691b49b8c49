#!/usr/bin/env bash
# Checks a LoRA adapter exported for llama.cpp against the merged model, with llama.cpp itself:
# llama-perplexity on BASE.gguf + --lora ADAPTER.gguf must equal llama-perplexity on the model that
# `gpt lora merge` wrote (quantized to F32), and differ from the base alone. Not run in CI (it needs
# a llama.cpp build beside the project).
#
#   Scripts/check_lora_gguf.sh LLAMA_BIN BASE_DIR BASE.gguf ADAPTER_DIR TEXT
#
# BASE.gguf must hold BASE_DIR's weights (e.g. `gpt quantize --model BASE_DIR --type f32`).
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: $0 LLAMA_BIN BASE_DIR BASE.gguf ADAPTER_DIR TEXT" >&2; exit 64; }
llama="$1" base_dir="$2" base_gguf="$3" adapter="$4" text="$5"
gpt="$(cd "$(dirname "$0")/.." && pwd)/.build/release/gpt"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$gpt" lora export --model "$base_dir" --adapter "$adapter" --out "$work/adapter.gguf"
"$gpt" lora merge --model "$base_dir" --adapter "$adapter" --out "$work/merged"
"$gpt" quantize --model "$work/merged" --type f32 --out "$work/merged.gguf" > /dev/null
ppl() { "$llama/llama-perplexity" "$@" -f "$text" -c 128 --chunks 8 -t 2 2>&1 | sed -nE 's/^Final estimate: PPL = ([0-9.]+).*/\1/p'; }
base=$(ppl -m "$base_gguf")
applied=$(ppl -m "$base_gguf" --lora "$work/adapter.gguf")
merged=$(ppl -m "$work/merged.gguf")
echo "perplexity: base $base, base + --lora $applied, merged $merged"
awk -v a="$applied" -v m="$merged" -v b="$base" 'BEGIN {
    d = a - m; if (d < 0) d = -d
    if (d > 1e-4 * m) { print "FAIL: the adapter in llama.cpp differs from the merged model"; exit 1 }
    if (a == b) { print "FAIL: the adapter changed nothing"; exit 1 }
    print "ok: llama.cpp applies the adapter as the merged model computes it" }'
