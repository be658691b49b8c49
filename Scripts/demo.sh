#!/usr/bin/env bash
# The main job: installs what is missing, builds, trains a small GPT on the embedded
# default corpus (30–60 s on 2 cores, by chip) and generates text from it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-dependencies.sh
swift build -c release
out="${1:-models/default}"
.build/release/gpt train --out "$out" --overwrite
.build/release/gpt sample --model "$out" --prompt "tom had " --max-tokens 300 --temperature 0.8
