#!/usr/bin/env python3
"""Quantization quality of `gpt quantize` against llama.cpp's `llama-quantize` on the same model and
text (see BENCHMARKS.md): for every type, both quantized files are scored by one evaluator against
the Float32 original — `gpt eval --kl-reference`, windows of the context length from the start, the
full next-token distributions — giving ΔPPL and mean KL per type and side. (llama-perplexity
--kl-divergence needs its base logits stored: 3.9 GB and about 3 minutes per file for 78k tokens of
a 50,257-token vocabulary here, so it is left out.) llama.cpp is built by the user beside the
project; this script only runs its converter and llama-quantize.

usage: quality_gguf_vs_llama.py LLAMA_SOURCE_DIR MODEL_DIR EVAL_TEXT WORK_DIR [TYPE ...]
MODEL_DIR is a swift-gpt model with a GPT-2 byte-level BPE tokenizer (GPT-2-compatible config)."""
import json
import os
import re
import shutil
import subprocess
import sys

GPT = os.environ.get("GPT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "gpt"))
TYPES = ["F16", "BF16", "Q8_0", "Q6_K", "Q5_1", "Q5_K", "Q5_0", "Q4_K_M", "Q4_K", "Q4_0"]


def run(args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs).stdout


def ours_eval(model, reference, text):
    out = json.loads(run([GPT, "eval", "--model", model, "--data", text, "--kl-reference", reference, "--json"]))
    return out["perplexity"], out["reference_perplexity"], out["mean_kl_divergence"], out["same_top_token"]


def main():
    source, model, text, work = sys.argv[1:5]
    types = sys.argv[5:] or TYPES
    bin_dir = os.path.join(source, "build", "bin")
    os.makedirs(work, exist_ok=True)
    # llama.cpp's converter reads a Hugging Face directory: config.json (with n_ctx), the weights,
    # and GPT-2's vocab.json + merges.txt.
    hf = os.path.join(work, "hf")
    shutil.rmtree(hf, ignore_errors=True)
    shutil.copytree(model, hf)
    run([GPT, "tokenizer", "export", "--tokenizer", os.path.join(model, "gpt-tokenizer.json"), "--out", hf])
    shutil.copy(os.path.join(hf, "encoder.json"), os.path.join(hf, "vocab.json"))
    shutil.copy(os.path.join(hf, "vocab.bpe"), os.path.join(hf, "merges.txt"))
    config = json.load(open(os.path.join(hf, "config.json")))
    config["n_ctx"] = config["n_positions"]
    json.dump(config, open(os.path.join(hf, "config.json"), "w"))
    f32 = os.path.join(work, "llama-F32.gguf")
    env = dict(os.environ, PYTHONPATH=os.path.join(source, "gguf-py"))
    run([sys.executable, os.path.join(source, "convert_hf_to_gguf.py"), hf, "--outtype", "f32", "--outfile", f32], env=env)
    print(f"{'type':7} {'ΔPPL swift-gpt':>15} {'ΔPPL llama.cpp':>15} {'KL swift-gpt':>13} {'KL llama.cpp':>13} {'top-1 agree':>12}")
    for kind in types:
        files = {}
        if kind in ("F16", "BF16"):
            files["llama"] = os.path.join(work, f"llama-{kind}.gguf")
            run([sys.executable, os.path.join(source, "convert_hf_to_gguf.py"), hf, "--outtype", kind.lower(), "--outfile", files["llama"]], env=env)
        else:
            files["llama"] = os.path.join(work, f"llama-{kind}.gguf")
            pure = [] if kind == "Q4_K_M" else ["--pure"]
            run([os.path.join(bin_dir, "llama-quantize")] + pure + [f32, files["llama"], kind])
        files["ours"] = os.path.join(work, f"ours-{kind}.gguf")
        run([GPT, "quantize", "--model", model, "--type", kind, "--out", files["ours"], "--overwrite"])
        (ppl, ref, kld, top), (lppl, lref, lkld, ltop) = (ours_eval(files[side], model, text) for side in ("ours", "llama"))
        print(f"{kind:7} {100 * (ppl / ref - 1):+14.3f}% {100 * (lppl / lref - 1):+14.3f}% {kld:13.6f} {lkld:13.6f} {100 * top:5.1f}/{100 * ltop:5.1f}%", flush=True)


if __name__ == "__main__":
    main()
