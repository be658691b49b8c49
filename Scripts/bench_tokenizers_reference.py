#!/usr/bin/env python3
"""Reference timings for tokenizers, to compare the Swift `gpt` implementation against.

How to run (from the project root, offline)
-------------------------------------------
    /root/venv-ref/bin/pip install tiktoken tokenizers regex numpy
    cache=$(mktemp -d)     # tiktoken's offline cache: NOT inside the project
    cp ../shared/data/gpt2/vocab.bpe    "$cache/6d1cbeee0f20b3d9449abfede4726ed8212e3aee"
    cp ../shared/data/gpt2/encoder.json "$cache/6c7ea1a7e38e3a7f062df639a5b80947f075ffe6"
    export TIKTOKEN_CACHE_DIR="$cache"
    uptime                                 # run on an idle machine (load < ~1)
    /root/venv-ref/bin/python Scripts/bench_tokenizers_reference.py            # all, prints JSON
    /root/venv-ref/bin/python Scripts/bench_tokenizers_reference.py --only encode,cli,train

    # (ii) on its own, as the equivalent of `gpt tokenize --file F --json > /dev/null`:
    /usr/bin/time -v /root/venv-ref/bin/python Scripts/bench_tokenizers_reference.py --cli F > /dev/null
    hyperfine '/root/venv-ref/bin/python Scripts/bench_tokenizers_reference.py --cli F'

(If TIKTOKEN_CACHE_DIR is unset the script makes such a temporary cache itself.)

What is measured
----------------
(i)   encode:  tiktoken gpt2 `encode_ordinary` on the 41 Gutenberg files concatenated in
      sorted-name order (bytes concatenated, decoded as UTF-8 once, encoded as one string),
      single thread, in-process, best of 3; file reading and decoding are excluded. MB = 10^6 bytes
      of UTF-8 input.
(ii)  cli:     wall time of a fresh Python process that imports tiktoken, loads gpt2, reads F,
      encodes (encode_ordinary) and prints json.dumps({"ids": ids}) to stdout (sent to /dev/null);
      best of 3, for tinyshakespeare.txt and the largest Gutenberg book.
(iii) train:   Hugging Face `tokenizers` BpeTrainer to vocab_size 4096 (including the special token
      "<|endoftext|>", so 3839 merges), byte-level pre-tokenizer (ByteLevel, add_prefix_space=False,
      use_regex=True, i.e. GPT-2's pattern), initial alphabet = all 256 bytes, on the first
      10,000,000 bytes of that concatenation (a character boundary). Each run is a subprocess with
      RAYON_NUM_THREADS=1 or =2; best of 2. `train_s` is the time of train_from_iterator alone
      (pre-tokenization + counting + merges), `process_s` the whole subprocess wall time.
      The text is given to the trainer in ~64 KB chunks cut only after a "\\n" that sits between two
      non-whitespace characters: at such a cut GPT-2's pattern yields the same pieces as on the
      whole text (check it with --check-chunks), while giving rayon something to parallelise.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tokenizer_fixtures import ensure_tiktoken_cache  # noqa: E402  (one offline tiktoken set-up for both scripts)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))
TRAIN_BYTES = 10_000_000
TRAIN_VOCAB = 4096


def gutenberg_files(data: str) -> list[str]:
    return sorted(glob.glob(os.path.join(data, "corpus", "gutenberg", "*.txt")))


def gutenberg_bytes(data: str) -> bytes:
    parts = []
    for p in gutenberg_files(data):
        with open(p, "rb") as f:
            parts.append(f.read())
    return b"".join(parts)


def training_text(data: str) -> str:
    raw = gutenberg_bytes(data)
    n = TRAIN_BYTES
    while n > 0 and (raw[n] & 0xC0) == 0x80:  # never cut inside a UTF-8 sequence
        n -= 1
    return raw[:n].decode("utf-8")


def safe_chunks(text: str, size: int = 65536) -> list[str]:
    """Cut after a '\\n' whose neighbours are both non-whitespace (see the module docstring)."""
    chunks, start = [], 0
    while start < len(text):
        k = start + size
        while k < len(text) and not (text[k - 1] == "\n" and not text[k - 2].isspace() and not text[k].isspace()):
            k += 1
        chunks.append(text[start:k])
        start = k
    return chunks


# --------------------------------------------------------------------------- modes

def mode_cli(path: str) -> None:
    """The script-equivalent of `gpt tokenize --file F --json`."""
    import tiktoken

    enc = tiktoken.get_encoding("gpt2")
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    ids = enc.encode_ordinary(text)
    sys.stdout.write(json.dumps({"ids": ids}))
    sys.stdout.write("\n")


def mode_hf_train(data: str) -> None:
    """One training run (called as a subprocess with RAYON_NUM_THREADS set); prints JSON."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    chunks = safe_chunks(training_text(data))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=TRAIN_VOCAB, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    t0 = time.perf_counter()
    tok.train_from_iterator(chunks, trainer=trainer, length=len(chunks))
    t1 = time.perf_counter()
    model = json.loads(tok.to_str())["model"]
    print(json.dumps({"train_s": t1 - t0, "chunks": len(chunks), "vocab": tok.get_vocab_size(),
                      "merges": len(model["merges"]), "first_merges": model["merges"][:5]}))


def bench_encode(data: str, repeats: int = 3) -> dict:
    import tiktoken

    enc = tiktoken.get_encoding("gpt2")
    raw = gutenberg_bytes(data)
    text = raw.decode("utf-8")
    times, n_tokens = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        ids = enc.encode_ordinary(text)
        times.append(time.perf_counter() - t0)
        n_tokens = len(ids)
        del ids
    best = min(times)
    return {"what": "tiktoken gpt2 encode_ordinary, Gutenberg concatenated, 1 thread, best of %d" % repeats,
            "tiktoken_version": tiktoken.__version__, "bytes": len(raw), "tokens": n_tokens,
            "seconds": [round(t, 3) for t in times], "best_s": round(best, 3),
            "MB_per_s": round(len(raw) / best / 1e6, 2), "tokens_per_s": round(n_tokens / best)}


def bench_cli(data: str, repeats: int = 3) -> dict:
    files = [os.path.join(data, "tinyshakespeare.txt"),
             max(gutenberg_files(data), key=os.path.getsize)]
    out = {"what": "python process: import tiktoken, read F, encode_ordinary, print json {'ids': ...} "
                   "to /dev/null; wall time best of %d" % repeats}
    for path in files:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            with open(os.devnull, "w") as null:
                subprocess.run([sys.executable, os.path.abspath(__file__), "--cli", path],
                               stdout=null, check=True, env=os.environ.copy())
            times.append(time.perf_counter() - t0)
        out[os.path.relpath(path, data)] = {"bytes": os.path.getsize(path), "seconds": [round(t, 3) for t in times],
                                            "best_s": round(min(times), 3)}
    # Python start-up + import + gpt2 load alone, for subtraction.
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import tiktoken; tiktoken.get_encoding('gpt2')"],
                       check=True, env=os.environ.copy())
        times.append(time.perf_counter() - t0)
    out["startup_only_best_s"] = round(min(times), 3)
    return out


def bench_train(data: str, repeats: int = 2) -> dict:
    out = {"what": "HF tokenizers BpeTrainer, vocab %d (incl. <|endoftext|>), byte-level, first %d bytes "
                   "of the Gutenberg concatenation; best of %d" % (TRAIN_VOCAB, TRAIN_BYTES, repeats)}
    import tokenizers
    out["tokenizers_version"] = tokenizers.__version__
    for threads in (1, 2):
        env = os.environ.copy()
        env["RAYON_NUM_THREADS"] = str(threads)
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            p = subprocess.run([sys.executable, os.path.abspath(__file__), "--hf-train", "--data", data],
                               capture_output=True, text=True, check=True, env=env)
            wall = time.perf_counter() - t0
            r = json.loads(p.stdout.strip().splitlines()[-1])
            r["process_s"] = wall
            runs.append(r)
        best = min(runs, key=lambda r: r["train_s"])
        out[f"RAYON_NUM_THREADS={threads}"] = {
            "train_s": [round(r["train_s"], 3) for r in runs], "best_train_s": round(best["train_s"], 3),
            "process_s": [round(r["process_s"], 3) for r in runs],
            "vocab": best["vocab"], "merges": best["merges"], "chunks": best["chunks"],
            "first_merges": best["first_merges"]}
    return out


def check_chunks(data: str) -> dict:
    from collections import Counter

    sys.path.insert(0, HERE)
    from tokenizer_reference import pre_split

    text = training_text(data)
    chunks = safe_chunks(text)
    whole = Counter(pre_split(text))
    parts = Counter()
    for c in chunks:
        parts.update(pre_split(c))
    return {"chunks": len(chunks), "distinct_pieces": len(whole), "pieces": sum(whole.values()),
            "identical_piece_counts": whole == parts}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Reference tokenizer timings (tiktoken, HF tokenizers).")
    ap.add_argument("--cli", metavar="FILE", help="act like `gpt tokenize --file FILE --json`")
    ap.add_argument("--hf-train", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--check-chunks", action="store_true", help="verify the chunking keeps GPT-2's pieces")
    ap.add_argument("--only", default="encode,cli,train", help="comma list of: encode, cli, train")
    ap.add_argument("--data", default=DATA)
    args = ap.parse_args()
    data = os.path.abspath(args.data)
    cache = ensure_tiktoken_cache(data)
    try:
        if args.cli:
            mode_cli(args.cli)
        elif args.hf_train:
            mode_hf_train(data)
        elif args.check_chunks:
            print(json.dumps(check_chunks(data), indent=1))
        else:
            results = {"uptime_before": open("/proc/loadavg").read().split()[:3]}
            only = set(args.only.split(","))
            if "encode" in only:
                results["encode"] = bench_encode(data)
            if "cli" in only:
                results["cli"] = bench_cli(data)
            if "train" in only:
                results["train"] = bench_train(data)
            results["uptime_after"] = open("/proc/loadavg").read().split()[:3]
            print(json.dumps(results, indent=1))
    finally:
        if cache:
            shutil.rmtree(cache, ignore_errors=True)
