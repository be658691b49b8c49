#!/usr/bin/env python3
"""Write the byte-level BPE test fixtures in Tests/GPTTokenizerTests/Fixtures/ and cross-check
the reference implementation (Scripts/tokenizer_reference.py) against tiktoken and Hugging Face
`tokenizers`. Run once; the fixtures hold derived data only (ids, merges, counts, hashes) --
never any text from ../shared/data.

How to run (from the project root, offline)
-------------------------------------------
    /root/venv-ref/bin/pip install tiktoken tokenizers regex numpy
    cache=$(mktemp -d)     # tiktoken's offline cache: NOT inside the project
    cp ../shared/data/gpt2/vocab.bpe    "$cache/6d1cbeee0f20b3d9449abfede4726ed8212e3aee"
    cp ../shared/data/gpt2/encoder.json "$cache/6c7ea1a7e38e3a7f062df639a5b80947f075ffe6"
    TIKTOKEN_CACHE_DIR="$cache" /root/venv-ref/bin/python Scripts/make_tokenizer_fixtures.py

(If TIKTOKEN_CACHE_DIR is unset the script makes such a temporary cache itself.)
Options: --data DIR (default ../shared/data relative to the project root), --skip-hf,
--skip-verify (skip the slow reference-vs-tiktoken checks).

Outputs
-------
bpe-trained.json   merges learned by the reference trainer on the first 20000 bytes of
                   tinyshakespeare.txt (vocab 512, special "<|endoftext|>" = id 511) and the
                   reference encodings of a few short strings.
gutenberg-gpt2.json  for each corpus file: bytes, GPT-2 token count (tiktoken encode_ordinary)
                   and sha256 of the ids packed as little-endian uint32. Files are decoded as
                   plain UTF-8: the Gutenberg BOM (U+FEFF) is kept and is part of the text,
                   and CRLF is not normalised.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import tokenizer_reference as ref  # noqa: E402

FIXTURES = os.path.join(ROOT, "Tests", "GPTTokenizerTests", "Fixtures")

VOCAB_BPE_SHA1 = "6d1cbeee0f20b3d9449abfede4726ed8212e3aee"
ENCODER_JSON_SHA1 = "6c7ea1a7e38e3a7f062df639a5b80947f075ffe6"

SAMPLE_TEXTS = [
    "First Citizen:\nBefore we proceed any further, hear me speak.",
    " To be, or not to be: that is the question.",
    "   three leading spaces\n\n\nand blank lines\n",
    "I'll say't: they're gone, he'd've known. WE'RE HERE!",
    "In 1603, 42 men paid 12,500 pounds.",
    "tab\tseparated\t\tvalues; (brackets) & ampersands -- dashes...",
    "café ☃ naïve — “quotes”",
    "KING RICHARD III:\nO, wherefore art thou?",
]


def ensure_tiktoken_cache(data: str) -> str | None:
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return None
    cache = tempfile.mkdtemp(prefix="tiktoken-cache-")
    shutil.copyfile(os.path.join(data, "gpt2", "vocab.bpe"), os.path.join(cache, VOCAB_BPE_SHA1))
    shutil.copyfile(os.path.join(data, "gpt2", "encoder.json"), os.path.join(cache, ENCODER_JSON_SHA1))
    os.environ["TIKTOKEN_CACHE_DIR"] = cache
    return cache


def ids_sha256(ids) -> str:
    return hashlib.sha256(np.asarray(ids, dtype=np.int64).astype("<u4").tobytes()).hexdigest()


def _format(obj, depth: int) -> str:
    """JSON with one merge / one record per line (compact inner lists keep diffs readable)."""
    pad = " " * (depth + 1)
    if isinstance(obj, dict):
        items = [f"{pad}{json.dumps(k)}: {_format(v, depth + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * depth + "}"
    if isinstance(obj, list) and obj and isinstance(obj[0], (list, dict)):
        items = [pad + (json.dumps(v, ensure_ascii=False) if isinstance(v, list) else
                        json.dumps(v, ensure_ascii=False, separators=(", ", ": "))) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + " " * depth + "]"
    return json.dumps(obj, ensure_ascii=False)


def write_json(name: str, obj) -> None:
    os.makedirs(FIXTURES, exist_ok=True)
    path = os.path.join(FIXTURES, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(_format(obj, 0))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


# --------------------------------------------------------------------------- (a)

def make_trained(data: str, skip_hf: bool) -> None:
    with open(os.path.join(data, "tinyshakespeare.txt"), "rb") as f:
        raw = f.read(20000)
    text = raw.decode("ascii")  # the file is ASCII, so a byte cut is a character cut
    special = ["<|endoftext|>"]
    t0 = time.time()
    merges, vocab = ref.train(text, 512, special)
    print(f"reference training: {len(merges)} merges in {time.time() - t0:.1f}s")
    assert len(merges) == 512 - 256 - 1 and len(vocab) == 512
    assert vocab[511] == b"<|endoftext|>"
    assert len(set(vocab.values())) == len(vocab), "two token ids with the same bytes"

    encodings = []
    for s in SAMPLE_TEXTS:
        ids = ref.encode(s, merges, vocab)
        assert ref.decode(ids, vocab) == s
        encodings.append({"text": s, "ids": ids})
    with_special = "the end<|endoftext|>The start"
    special_ids = ref.encode(with_special, merges, vocab, allowed_special=special)
    assert 511 in special_ids

    write_json("bpe-trained.json", {
        "source": "first 20000 bytes of tinyshakespeare.txt",
        "vocab_size": 512,
        "special_tokens": special,
        "merges": [[a, b] for a, b in merges],
        # For reading convenience only: the bytes (hex) of the first 20 merged tokens.
        "merged_token_bytes_hex_first_20": [vocab[256 + i].hex() for i in range(20)],
        "encodings": encodings,
        "encodings_with_special": [{"text": with_special, "allowed_special": special, "ids": special_ids}],
    })
    print("first 20 merges:", [vocab[256 + i] for i in range(20)])

    if skip_hf:
        return
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=512, special_tokens=special, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([text], trainer=trainer)
    hf = json.loads(tok.to_str())
    hf_merges = hf["model"]["merges"]
    u2b = {c: b for b, c in ref.bytes_to_unicode().items()}

    def to_bytes(s):
        return bytes(u2b[c] for c in s)

    hf_pairs = []
    for m in hf_merges:
        a, b = m if isinstance(m, list) else m.split(" ")
        hf_pairs.append((to_bytes(a), to_bytes(b)))
    ref_pairs = [(vocab[a], vocab[b]) for a, b in merges]
    n = 50
    same_pos = sum(1 for i in range(n) if hf_pairs[i] == ref_pairs[i])
    same_set = len(set(hf_pairs[:n]) & set(ref_pairs[:n]))
    same_all = len(set(hf_pairs) & set(ref_pairs))
    first_diff = next((i for i in range(min(len(hf_pairs), len(ref_pairs))) if hf_pairs[i] != ref_pairs[i]), None)
    print(f"HF BpeTrainer: {len(hf_pairs)} merges; first {n}: {same_pos} agree by position, "
          f"{same_set} as a set; all: {same_all}/{len(ref_pairs)} shared; first difference at {first_diff}")
    if first_diff is not None:
        print("  ref:", ref_pairs[first_diff:first_diff + 3], " hf:", hf_pairs[first_diff:first_diff + 3])
    # The differences are only tie-breaking: HF breaks ties by the smallest pair of *its* ids, and its
    # initial ids are the special token (0) then the 256 byte characters sorted by code point of
    # GPT-2's bytes_to_unicode map. The same naive loop run in that id order matches HF exactly.
    hf_order = _train_pairs_in_id_order(text, 511, sorted(range(256), key=lambda b: ref.bytes_to_unicode()[b]))
    same_hf_order = sum(1 for a, b in zip(hf_order, hf_pairs) if a == b)
    print(f"  reference loop with HF's initial id order: {same_hf_order}/{len(hf_pairs)} merges identical to HF")
    RESULTS["hf_crosscheck"] = {"first50_by_position": same_pos, "first50_as_set": same_set,
                                "all_shared": same_all, "n_ref": len(ref_pairs), "n_hf": len(hf_pairs),
                                "first_difference": first_diff, "identical_with_hf_id_order": same_hf_order}


def _train_pairs_in_id_order(text: str, n_tokens: int, byte_order: list[int]) -> list[tuple[bytes, bytes]]:
    """The reference training loop, but byte byte_order[i] gets id i (for the HF comparison only).
    Returns the merges as pairs of byte strings."""
    from collections import Counter

    ident = {b: i for i, b in enumerate(byte_order)}
    words = [[[ident[b] for b in piece.encode("utf-8")], c] for piece, c in Counter(ref.pre_split(text)).items()]
    vocab = {ident[b]: bytes([b]) for b in range(256)}
    pairs = []
    while len(vocab) < n_tokens:
        counts = Counter()
        for tokens, c in words:
            for a, b in zip(tokens, tokens[1:]):
                counts[(a, b)] += c
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        new_id = len(vocab)
        vocab[new_id] = vocab[best[0]] + vocab[best[1]]
        pairs.append((vocab[best[0]], vocab[best[1]]))
        for w in words:
            w[0] = ref._merge_pair(w[0], best, new_id)
    return pairs


# --------------------------------------------------------------------------- (b)

def make_gutenberg(data: str) -> None:
    import tiktoken

    enc = tiktoken.get_encoding("gpt2")
    assert enc.encode("Hello world") == [15496, 995]

    def record(name, raw: bytes):
        text = raw.decode("utf-8")
        ids = enc.encode_ordinary(text)
        return {"name": name, "bytes": len(raw), "tokens": len(ids), "sha256_ids_u32le": ids_sha256(ids)}

    files = sorted(glob.glob(os.path.join(data, "corpus", "gutenberg", "*.txt")))
    assert len(files) == 41, len(files)
    per_file, blobs = [], []
    for path in files:
        with open(path, "rb") as f:
            raw = f.read()
        blobs.append(raw)
        per_file.append(record(os.path.basename(path), raw))
    concat = record("concatenation of the files above, in this order", b"".join(blobs))
    del blobs

    others = []
    for rel in ["tinyshakespeare.txt", "corpus/wikitext2_valid.tokens.txt", "corpus/wikitext2_test.tokens.txt",
                "corpus/wikitext2_test_raw_hf_crlf.txt"]:
        with open(os.path.join(data, rel), "rb") as f:
            others.append(record(rel, f.read()))
    assert others[0]["tokens"] == 338025, others[0]  # nanoGPT's published count

    write_json("gutenberg-gpt2.json", {
        "tokenizer": "tiktoken gpt2, encode_ordinary (no special tokens)",
        "tiktoken_version": tiktoken.__version__,
        "hash": "sha256 of the token ids as little-endian uint32",
        "decoding": "plain UTF-8; the Gutenberg BOM (U+FEFF) is kept, CRLF is not normalised",
        "paths_relative_to": "../shared/data",
        "gutenberg_dir": "corpus/gutenberg",
        "gutenberg": per_file,
        "gutenberg_concatenated": concat,
        "others": others,
    })
    RESULTS["gutenberg_concat"] = concat


# --------------------------------------------------------------------------- (c)

def verify_reference(data: str) -> None:
    import tiktoken

    enc = tiktoken.get_encoding("gpt2")
    merges, vocab = ref.load_gpt2(os.path.join(data, "gpt2"))
    assert len(merges) == 50000 and len(vocab) == 50257
    report = {}
    for name in ["gpt2_vectors_tiktoken.json", "gpt2_vectors_llamacpp.json"]:
        with open(os.path.join(data, "gpt2", "testvectors", name), encoding="utf-8") as f:
            vectors = json.load(f)
        ok = bad = 0
        for v in vectors:
            special = "special token" in v.get("note", "") and "ordinary" not in v.get("note", "")
            allowed = ["<|endoftext|>"] if special else []
            mine = ref.encode(v["text"], merges, vocab, allowed_special=allowed)
            tk = enc.encode(v["text"], allowed_special=set(allowed), disallowed_special=())
            if mine == v["ids"] and tk == v["ids"]:
                ok += 1
            else:
                bad += 1
                print(f"  MISMATCH in {name}: {v['text']!r}: expected {v['ids']} ref {mine} tiktoken {tk}")
        print(f"{name}: {ok}/{ok + bad} match (reference and tiktoken)")
        report[name] = f"{ok}/{ok + bad}"

    def compare(label, text):
        t0 = time.time()
        mine = ref.encode(text, merges, vocab)
        t1 = time.time()
        tk = enc.encode_ordinary(text)
        same = mine == tk
        print(f"{label}: {len(text)} chars, {len(tk)} tokens, reference == tiktoken: {same} "
              f"(reference {t1 - t0:.1f}s)")
        if not same:
            i = next((k for k in range(min(len(mine), len(tk))) if mine[k] != tk[k]), min(len(mine), len(tk)))
            print("   first difference at token", i, mine[i:i + 5], tk[i:i + 5])
        report[label] = same

    with open(os.path.join(data, "tinyshakespeare.txt"), "rb") as f:
        compare("tinyshakespeare first 200 KB", f.read(200_000).decode("ascii"))
    # Extra: non-ASCII text (accents, curly quotes, BOM) and CRLF.
    with open(os.path.join(data, "corpus", "gutenberg", "pg135_les_miserables.txt"), "rb") as f:
        compare("les miserables first 300 KB", f.read(300_000).decode("utf-8", errors="ignore"))
    with open(os.path.join(data, "corpus", "wikitext2_test_raw_hf_crlf.txt"), "rb") as f:
        compare("wikitext2 raw (CRLF) first 200 KB", f.read(200_000).decode("utf-8", errors="ignore"))
    tricky = ("  \n\n \t\r\n x  'S 's's 'll'LL 123 4567 ١٢٣ 𝟙𝟚 ½ ⅷ 🙂🙂 e\u0301 \u00a0nbsp \u2003em"
              " \u3000ideo 日本語 ｆｕｌｌ \x00\x01 ' '' \"'\" end   ")
    compare("hand-written edge cases", tricky)
    RESULTS["verify"] = report


RESULTS: dict = {}

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--skip-hf", action="store_true")
    ap.add_argument("--skip-verify", action="store_true")
    args = ap.parse_args()
    data = os.path.abspath(args.data)
    cache = ensure_tiktoken_cache(data)
    try:
        make_trained(data, args.skip_hf)
        make_gutenberg(data)
        if not args.skip_verify:
            verify_reference(data)
    finally:
        if cache:
            shutil.rmtree(cache, ignore_errors=True)
    print(json.dumps(RESULTS, indent=1))
