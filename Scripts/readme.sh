#!/usr/bin/env bash
# The README's samples and pictures, made by the very commands the README prints.
#
#   Scripts/readme.sh --check    (default; what the test command runs) runs the commands in a
#                                scratch directory (.build/readme-check) and checks the shape of
#                                what they print and draw: generated text depends on the CPU and its
#                                BLAS kernels, so only the recording machine gets the exact text.
#   Scripts/readme.sh --record   runs them in the project and writes their output into README.md
#                                (the blocks between <!-- readme:NAME --> markers) and the pictures
#                                into docs/images/; the README names the chip it was recorded on.
#
# Every command below must appear verbatim in README.md (or, for the main job, in demo.sh); the
# script stops when one does not.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode="${1:---check}"
case "$mode" in --check|--record) ;; *) echo "usage: Scripts/readme.sh [--check|--record]" >&2; exit 64 ;; esac
[ -x .build/release/gpt ] || swift build -c release

if [ "$mode" = --check ]; then
    # A scratch copy of the layout the commands expect: .build/release/gpt and ../shared/data.
    work=.build/readme-check
    rm -rf "$work" && mkdir -p "$work"
    ln -sfn "$root/.build" "$work/.build"
    ln -sfn "$(cd "$root/../shared" && pwd)" .build/shared
    cd "$work"
fi

fail() { echo "readme.sh: $*" >&2; exit 1; }
# Runs one command as the README prints it (after checking that it does), saving stdout as NAME.
run() {
    local name="$1" source="$2" command="$3"
    grep -qF -- "$command" "$root/$source" || fail "$source does not show the command: $command"
    echo "\$ $command" >&2
    bash -c "$command" > "$name.out"
}
# The default model's and Tiny Shakespeare's commands, in README order.
mkdir -p models
run train-default Scripts/demo.sh '.build/release/gpt train --out models/default --overwrite --log models/default/train.jsonl'
run sample-default Scripts/demo.sh '.build/release/gpt sample --model models/default --prompt "tom had " --max-tokens 160 --temperature 0.8'
run train-shakespeare README.md '.build/release/gpt train --preset shakespeare-char-cpu --data ../shared/data/tinyshakespeare.txt --out models/shakespeare --overwrite --log train.jsonl'
run sample-shakespeare README.md '.build/release/gpt sample --model models/shakespeare --prompt "ROMEO:" --max-tokens 300 --temperature 0.8'
run eval-shakespeare README.md '.build/release/gpt eval --model models/shakespeare --data ../shared/data/tinyshakespeare.txt'
run viz-embeddings README.md '.build/release/gpt viz embeddings --model models/default --out embeddings.svg'
run viz-attention README.md '.build/release/gpt viz attention --model models/default --prompt "tom had two cakes and got" --layer 1 --head 0 --out attention.svg'
run viz-next-token README.md '.build/release/gpt viz next-token --model models/default --prompt "tom had " --temperatures 0.5,1,2 --out next-token.svg'
run viz-training README.md '.build/release/gpt viz training --log models/default/train.jsonl --out training.svg'

# The shape of what they made.
final_loss() { sed -nE 's/^final: train loss [0-9.]+, val loss ([0-9.]+) after .*/\1/p' "$1"; }
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
loss=$(final_loss train-default.out); below "$loss" 1.0 || fail "the default model ended at val loss '$loss' (README: about 0.36)"
loss=$(final_loss train-shakespeare.out); below "$loss" 2.1 || fail "Tiny Shakespeare ended at val loss '$loss' (README: about 1.90)"
steps=$(grep -c '"type":"step"' models/default/train.jsonl || true)
[ "$steps" = 1000 ] || fail "models/default/train.jsonl has $steps step lines, not 1000"
grep -q '"step":1000,.*"type":"eval"' models/default/train.jsonl || fail "models/default/train.jsonl has no evaluation at step 1000"
head -c 8 sample-default.out | grep -qF 'tom had ' || fail "the default sample does not start with its prompt"
[ "$(wc -c < sample-default.out)" -ge 120 ] || fail "the default sample is too short"
head -c 6 sample-shakespeare.out | grep -qF 'ROMEO:' || fail "the Shakespeare sample does not start with its prompt"
[ "$(wc -c < sample-shakespeare.out)" -ge 250 ] || fail "the Shakespeare sample is too short"
loss=$(sed -nE 's/^loss: +([0-9.]+)$/\1/p' eval-shakespeare.out); below "$loss" 2.0 || fail "gpt eval printed loss '$loss'"
grep -q '^perplexity:' eval-shakespeare.out && grep -q '^bits per byte:' eval-shakespeare.out || fail "gpt eval's output lacks perplexity or bits per byte"
for picture in embeddings attention next-token training; do
    file="$picture.svg"
    [ -s "$file" ] || fail "$file was not written"
    grep -q '<svg' "$file" && tail -c 100 "$file" | grep -q '</svg>' || fail "$file is not a whole SVG"
    grep -q '<title\|<text' "$file" || fail "$file has no text"
done
grep -q 'layer 1, head 0' attention.svg || fail "attention.svg does not show layer 1, head 0"

if [ "$mode" = --record ]; then
    cp embeddings.svg attention.svg next-token.svg training.svg docs/images/
    # Replace each <!-- readme:NAME --> … <!-- /readme --> block of README.md with NAME's output.
    python3 - <<'PY'
import re
readme = open("README.md").read()
for name in ["sample-default", "sample-shakespeare", "eval-shakespeare"]:
    output = open(f"{name}.out").read().rstrip("\n")
    block = f"<!-- readme:{name} -->\n```\n{output}\n```\n<!-- /readme -->"
    readme, count = re.subn(rf"<!-- readme:{name} -->.*?<!-- /readme -->", lambda _: block, readme, flags=re.S)
    assert count == 1, f"README.md has no block for {name}"
open("README.md", "w").write(readme)
PY
    rm -f ./*.out embeddings.svg attention.svg next-token.svg training.svg train.jsonl
    echo "recorded: README.md blocks and docs/images/ ($(lscpu | sed -nE 's/^Model name: +//p'), family $(lscpu | sed -nE 's/^CPU family: +//p') model $(lscpu | sed -nE 's/^Model: +//p'))" >&2
else
    echo "readme.sh: every README command ran and its output has the documented shape" >&2
fi
