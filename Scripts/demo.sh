#!/usr/bin/env bash
# The main job: installs what is missing, builds, trains a small GPT on the embedded
# default corpus (about a minute on 2 cores, by chip; the README names the figures per chip),
# then generates text from it. The model goes to models/default, its training log to
# models/default/train.jsonl (gpt viz training draws it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-dependencies.sh
swift build -c release
.build/release/gpt train --out models/default --overwrite --log models/default/train.jsonl
.build/release/gpt sample --model models/default --prompt "tom had " --max-tokens 160 --temperature 0.8
