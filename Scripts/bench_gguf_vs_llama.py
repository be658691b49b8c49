#!/usr/bin/env python3
"""Decode and prefill speed of `gpt bench generate --model FILE.gguf` against llama.cpp's
`llama-bench` on the same GGUF files, alternated round by round, medians compared (see
BENCHMARKS.md and ../shared/docs/measuring.md). llama.cpp is built by the user beside the project;
this script only runs it.

usage: bench_gguf_vs_llama.py LLAMA_BIN_DIR ROUNDS FILE.gguf [FILE.gguf …]
Decode: ours at position 64 (prompt 16 … 64) vs llama-bench tg128 (positions 0 … 127); prefill:
256 prompt tokens on both sides. Run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset."""
import json
import os
import statistics
import subprocess
import sys

GPT = os.environ.get("GPT", os.path.join(os.path.dirname(__file__), "..", ".build", "release", "gpt"))


def ours(path):
    out = subprocess.run([GPT, "bench", "generate", "--model", path, "--prompt", "256", "--positions", "64",
                          "--steps", "32", "--threads", "2", "--json"], check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    decode = result["decode"][0]
    return result["prefill_tokens_per_second"], decode["tokens_per_second"], decode["share_of_bound"]


def llama(bin_dir, path):
    out = subprocess.run([os.path.join(bin_dir, "llama-bench"), "-m", path, "-p", "256", "-n", "128", "-t", "2",
                          "-r", "3", "-o", "json"], check=True, capture_output=True, text=True).stdout
    rows = json.loads(out)
    prefill = next(r["avg_ts"] for r in rows if r["n_prompt"] == 256 and r["n_gen"] == 0)
    decode = next(r["avg_ts"] for r in rows if r["n_gen"] == 128)
    return prefill, decode


def main():
    bin_dir, rounds, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    results = {f: {"ours": [], "llama": []} for f in files}
    for round_index in range(rounds):
        for f in files:
            order = ["ours", "llama"] if round_index % 2 == 0 else ["llama", "ours"]
            for side in order:
                results[f][side].append(ours(f) if side == "ours" else llama(bin_dir, f))
    print(f"{'file':34} {'decode ours':>12} {'llama tg128':>12} {'ratio':>6} {'of bound':>9} {'pp256 ours':>11} {'llama':>8} {'ratio':>6}")
    for f in files:
        o, l = results[f]["ours"], results[f]["llama"]
        od, ld = statistics.median(r[1] for r in o), statistics.median(r[1] for r in l)
        op, lp = statistics.median(r[0] for r in o), statistics.median(r[0] for r in l)
        share = statistics.median(r[2] for r in o)
        print(f"{os.path.basename(f):34} {od:12.1f} {ld:12.1f} {od / ld:6.2f} {share * 100:8.0f}% {op:11.0f} {lp:8.0f} {op / lp:6.2f}")


if __name__ == "__main__":
    main()
