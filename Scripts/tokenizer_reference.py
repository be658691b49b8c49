#!/usr/bin/env python3
"""Naive, independent reference for byte-level BPE (GPT-2 style): training and encoding.

This file is a *specification you can run*, not a fast tokenizer. It is meant to be read
next to the Swift implementation (Sources/GPTTokenizer) and to produce test fixtures
(see Scripts/make_tokenizer_fixtures.py). Only the standard library and the `regex`
module (for \\p{L} / \\p{N}) are used.

How to run
----------
    /root/venv-ref/bin/pip install regex            # (tiktoken tokenizers only for the other scripts)
    /root/venv-ref/bin/python Scripts/tokenizer_reference.py      # runs the small self-test below

    >>> from tokenizer_reference import train, encode, decode, load_gpt2
    >>> merges, vocab = train(open("../shared/data/tinyshakespeare.txt").read()[:20000], 512, ["<|endoftext|>"])
    >>> encode(" To be, or not", merges, vocab)
    >>> merges, vocab = load_gpt2("../shared/data/gpt2")    # GPT-2's own files, no tiktoken needed
    >>> encode("Hello world", merges, vocab)                # [15496, 995]

The algorithm
-------------
Pre-split: GPT-2's pattern (PRE_SPLIT below, applied with regex.findall). Each piece is
UTF-8 encoded; no merge ever crosses a piece boundary.

Training (train):
  * token ids 0..255 are the single bytes 0..255;
  * repeat until len(vocab) == vocab_size - len(special_tokens) or no adjacent pair is left:
    count every adjacent pair over all distinct pieces, weighted by piece frequency;
    take the pair with the highest count, ties broken by the smallest (left_id, right_id);
    the new token gets the next id (256, 257, ...), its bytes are the concatenation;
    replace the pair in every piece, scanning left to right, non-overlapping;
  * special tokens get the ids after the last merge, in the order given.

Encoding (encode), for a trained tokenizer and for GPT-2's alike:
  per piece, start from its bytes as tokens; repeatedly merge the adjacent pair whose merge
  has the lowest rank (rank = index in `merges`, i.e. the order the merge was learned),
  leftmost first on ties, until no learned merge applies.
  The id of a merged token is the id whose vocab bytes equal the concatenation (for a trained
  tokenizer that is 256 + rank; for GPT-2 it comes from encoder.json).
"""

from __future__ import annotations

import json
import os
from collections import Counter

import regex

# GPT-2's pre-split pattern (identical to tiktoken's "gpt2" pat_str, written out in full).
PRE_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
_PRE_SPLIT_RE = regex.compile(PRE_SPLIT)


def pre_split(text: str) -> list[str]:
    """The pieces of `text` (they concatenate back to `text`)."""
    return _PRE_SPLIT_RE.findall(text)


def _merge_pair(tokens: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of `pair` in `tokens`, left to right, non-overlapping."""
    out = []
    i = 0
    while i < len(tokens):
        if i + 1 < len(tokens) and tokens[i] == pair[0] and tokens[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(tokens[i])
            i += 1
    return out


# --------------------------------------------------------------------------- training

def train(text: str, vocab_size: int, special_tokens: list[str]) -> tuple[list[tuple[int, int]], dict[int, bytes]]:
    """Learn byte-level BPE merges. Returns (merges, vocab); vocab includes the special tokens."""
    if vocab_size < 256 + len(special_tokens):
        raise ValueError("vocab_size must leave room for the 256 bytes and the special tokens")

    piece_counts = Counter(pre_split(text))
    # Each distinct piece as a list of token ids, with its frequency.
    words = [[list(piece.encode("utf-8")), count] for piece, count in piece_counts.items()]

    vocab: dict[int, bytes] = {b: bytes([b]) for b in range(256)}
    merges: list[tuple[int, int]] = []
    target = vocab_size - len(special_tokens)

    while len(vocab) < target:
        pair_counts: Counter = Counter()
        for tokens, count in words:
            for a, b in zip(tokens, tokens[1:]):
                pair_counts[(a, b)] += count
        if not pair_counts:
            break  # every piece is a single token
        # Highest count; among equal counts the smallest (left, right).
        best = min(pair_counts, key=lambda p: (-pair_counts[p], p))
        new_id = len(vocab)
        vocab[new_id] = vocab[best[0]] + vocab[best[1]]
        merges.append(best)
        for w in words:
            w[0] = _merge_pair(w[0], best, new_id)

    next_id = len(vocab)
    for s in special_tokens:
        vocab[next_id] = s.encode("utf-8")
        next_id += 1
    return merges, vocab


# --------------------------------------------------------------------------- encoding

class _Tables:
    """Lookup tables derived from (merges, vocab), cached per pair of objects."""

    def __init__(self, merges, vocab, special_tokens):
        special_bytes = {s.encode("utf-8") for s in special_tokens}
        bytes_to_id: dict[bytes, int] = {}
        for i in sorted(vocab):
            bytes_to_id.setdefault(vocab[i], i)  # lowest id wins (bytes and merges come before specials)
        self.byte_ids = [bytes_to_id[bytes([b])] for b in range(256)]
        self.rank: dict[tuple[int, int], tuple[int, int]] = {}
        for r, (a, b) in enumerate(merges):
            merged = bytes_to_id[vocab[a] + vocab[b]]
            self.rank.setdefault((a, b), (r, merged))
        self.special: dict[str, int] = {}
        for i in sorted(vocab):
            if vocab[i] in special_bytes:
                self.special.setdefault(vocab[i].decode("utf-8"), i)
        self.cache: dict[str, list[int]] = {}


_tables_cache: dict = {}


def _tables(merges, vocab, special_tokens=()) -> _Tables:
    key = (id(merges), id(vocab), tuple(special_tokens))
    t = _tables_cache.get(key)
    if t is None or t.merges is not merges or t.vocab is not vocab:  # ids can be reused
        t = _Tables(merges, vocab, list(special_tokens))
        t.merges, t.vocab = merges, vocab
        _tables_cache[key] = t
    return t


def encode_piece(piece: str, t: _Tables) -> list[int]:
    tokens = [t.byte_ids[b] for b in piece.encode("utf-8")]
    while len(tokens) > 1:
        best = None  # (rank, position, merged id)
        for i in range(len(tokens) - 1):
            hit = t.rank.get((tokens[i], tokens[i + 1]))
            if hit is not None and (best is None or hit[0] < best[0]):
                best = (hit[0], i, hit[1])  # strict < keeps the leftmost on ties
        if best is None:
            break
        _, i, merged = best
        tokens[i:i + 2] = [merged]
    return tokens


def encode(text: str, merges, vocab, allowed_special: list[str] | tuple = ()) -> list[int]:
    """Encode `text`. Special tokens are only recognised if named in `allowed_special`
    (like tiktoken's `allowed_special`); otherwise they are ordinary text."""
    t = _tables(merges, vocab, allowed_special)
    chunks = [text]
    if allowed_special:
        alternation = "|".join(regex.escape(s) for s in sorted(allowed_special, key=len, reverse=True))
        chunks = regex.split("(" + alternation + ")", text)
    ids: list[int] = []
    for k, chunk in enumerate(chunks):
        if k % 2 == 1:  # a captured special token
            ids.append(t.special[chunk])
            continue
        for piece in pre_split(chunk):
            cached = t.cache.get(piece)
            if cached is None:
                cached = encode_piece(piece, t)
                t.cache[piece] = cached
            ids.extend(cached)
    return ids


def decode(ids: list[int], vocab) -> str:
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")


# --------------------------------------------------------------------------- GPT-2's files

def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from the 256 bytes to printable characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def load_gpt2(folder: str) -> tuple[list[tuple[int, int]], dict[int, bytes]]:
    """(merges, vocab) from encoder.json + vocab.bpe. Token ids follow encoder.json (so the
    single bytes are *not* ids 0..255 in byte order); ranks follow vocab.bpe line order."""
    unicode_to_byte = {c: b for b, c in bytes_to_unicode().items()}

    def to_bytes(s: str) -> bytes:
        return bytes(unicode_to_byte[c] for c in s)

    with open(os.path.join(folder, "encoder.json"), encoding="utf-8") as f:
        encoder = json.load(f)
    vocab = {}
    for s, i in encoder.items():
        vocab[i] = s.encode("utf-8") if s == "<|endoftext|>" else to_bytes(s)
    with open(os.path.join(folder, "vocab.bpe"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert lines[0].startswith("#version")
    merges = []
    for line in lines[1:]:
        if not line:
            continue
        a, b = line.split(" ")
        merges.append((encoder[a], encoder[b]))
    return merges, vocab


# --------------------------------------------------------------------------- self-test

if __name__ == "__main__":
    # Tiny hand-checkable example: "aaab aab" -> pieces "aaab", " aab".
    m, v = train("aaab aab", 259, [])
    # pairs: (a,a)=3 [2 in "aaab", 1 in " aab"], (a,b)=2, (' ',a)=1 -> merge (97,97) -> 256
    assert m[0] == (97, 97), m
    print("merges:", m, [v[i] for i in range(256, len(v))])
    print("encode:", encode("aaab aab", m, v))
    assert decode(encode("aaab aab café ☃", m, v), v) == "aaab aab café ☃"
    # Pre-split edge cases worth knowing about.
    for s in ["Hello world", "  two spaces", "x\n\n\ny", "I'll they're WE'RE", "a1234567b", "tab\tend \n"]:
        print(repr(s), "->", pre_split(s))
    here = os.path.dirname(os.path.abspath(__file__))
    gpt2 = os.path.join(here, "..", "..", "shared", "data", "gpt2")
    if os.path.isdir(gpt2):
        gm, gv = load_gpt2(gpt2)
        ids = encode("Hello world", gm, gv)
        print("GPT-2 'Hello world':", ids)
        assert ids == [15496, 995]
        assert encode("<|endoftext|>", gm, gv, allowed_special=["<|endoftext|>"]) == [50256]
        assert encode("<|endoftext|>", gm, gv) == [27, 91, 437, 1659, 5239, 91, 29]
    print("ok")
