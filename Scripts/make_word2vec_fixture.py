#!/usr/bin/env python3
"""Generate a tiny gensim word2vec reference fixture for GPTEmbeddingsTests.

A small skip-gram Word2Vec model is trained with gensim on a synthetic corpus
that this script generates itself (fixed word lists + seeded `random.Random`,
no external text), and its vectors plus a few gensim query results are written
so the Swift word2vec reader / similarity / analogy code can be checked against
gensim's own implementation.

How to run (from the repository root):

    python3 -m venv /root/venv-ref                 # if not there yet
    /root/venv-ref/bin/pip install numpy gensim    # produced with gensim 4.4.0, numpy 2.4.6
    /root/venv-ref/bin/python Scripts/make_word2vec_fixture.py \
        --out Tests/GPTEmbeddingsTests/Fixtures

Training settings: sg=1, vector_size=16, window=3, negative=5, min_count=1,
sample=0, epochs=20, seed=7, workers=1 (workers=1 keeps the run deterministic;
rerunning with the same gensim/numpy reproduces the same files).

Files written to --out:

  gensim-small.txt
      `model.wv.save_word2vec_format(path, binary=False)`:
      header line "<count> <dim>\\n", then per word, in gensim's index order
      (descending corpus frequency), "<word> <v1> ... <v16>\\n" with each value
      formatted by Python `str(np.float32)` (shortest round-trip float32 repr).
  gensim-small.bin
      `model.wv.save_word2vec_format(path, binary=True)`:
      ASCII header "<count> <dim>\\n", then per word: UTF-8 word, one space
      (0x20), then dim little-endian float32 values (4*dim raw bytes).
      gensim 4.x writes NO newline after each binary vector (the next word
      starts right after the last float byte).
  gensim-small-truncated.bin
      gensim-small.bin cut in the middle of the vector of the 3rd word
      (header + 2 full records + the 3rd word, its space and 7 of its 16
      float32 values, i.e. 28 bytes of vector data). For a reader error test.
  gensim-small-expected.json
      count, dim, the training settings, and gensim results:
        most_similar:  {word: [[word, cosine], ...] (topn=5)} for 5 query words
        analogies:     for 2 triples (a, b, c) ("a is to b as c is to ?"):
                       "cosadd"  = most_similar(positive=[b, c], negative=[a], topn=3)
                       "cosmul"  = most_similar_cosmul(positive=[b, c], negative=[a], topn=3)
      Similarities are gensim's float32 results converted to Python floats.
"""

import argparse
import json
import os
import random

import gensim
import numpy as np
from gensim.models import Word2Vec

# --- synthetic corpus ------------------------------------------------------

PEOPLE = [  # (male, female) pairs: gives the model a gender/royalty structure
    ("king", "queen"),
    ("man", "woman"),
    ("prince", "princess"),
    ("boy", "girl"),
    ("father", "mother"),
]
CAPITALS = [("paris", "france"), ("berlin", "germany"), ("rome", "italy"),
            ("madrid", "spain"), ("lisbon", "portugal")]
ANIMALS = ["dog", "cat", "horse", "cow", "sheep"]
COLORS = ["red", "green", "blue", "yellow", "white"]
FOODS = ["bread", "cheese", "apple", "soup", "fish"]
VERBS = ["walks", "runs", "sleeps", "eats", "sings"]
PLACES = ["castle", "palace", "house", "garden", "market"]


def sentence(rng):
    kind = rng.randrange(5)
    if kind == 0:  # royalty / gender
        male, female = rng.choice(PEOPLE)
        if rng.random() < 0.5:
            who, pron, = male, "his"
        else:
            who, pron = female, "her"
        royal = male in ("king", "prince")
        place = rng.choice(["castle", "palace"] if royal else ["house", "garden", "market"])
        extra = ["crown", "throne"] if royal else ["work", "home"]
        return ["the", who, rng.choice(VERBS), "in", "the", place, "with", pron,
                rng.choice(extra)]
    if kind == 1:  # capitals
        city, country = rng.choice(CAPITALS)
        if rng.random() < 0.5:
            return [city, "is", "the", "capital", "of", country]
        return ["the", "city", "of", city, "lies", "in", country]
    if kind == 2:  # animals and colors
        return ["a", rng.choice(COLORS), rng.choice(ANIMALS), rng.choice(VERBS),
                "in", "the", rng.choice(["garden", "field", "market"])]
    if kind == 3:  # food
        who = rng.choice([p for pair in PEOPLE for p in pair])
        return ["the", who, "eats", rng.choice(FOODS), "and", rng.choice(FOODS),
                "at", "the", rng.choice(PLACES)]
    # colors of things
    return ["the", rng.choice(["flower", "house", "apple", "flag"]), "is",
            rng.choice(COLORS), "and", rng.choice(COLORS)]


def make_corpus(n_sentences=300, seed=7):
    rng = random.Random(seed)
    return [sentence(rng) for _ in range(n_sentences)]


# --- main ------------------------------------------------------------------

SETTINGS = dict(sg=1, vector_size=16, window=3, negative=5, min_count=1,
                sample=0, epochs=20, seed=7, workers=1)
QUERY_WORDS = ["king", "paris", "dog", "red", "bread"]
TRIPLES = [("man", "king", "woman"), ("france", "paris", "germany")]


def pairs(sims):
    return [[w, float(s)] for w, s in sims]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "Tests",
        "GPTEmbeddingsTests", "Fixtures"))
    args = ap.parse_args()
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)

    corpus = make_corpus()
    model = Word2Vec(sentences=corpus, **SETTINGS)
    wv = model.wv

    txt = os.path.join(out, "gensim-small.txt")
    binp = os.path.join(out, "gensim-small.bin")
    wv.save_word2vec_format(txt, binary=False)
    wv.save_word2vec_format(binp, binary=True)

    # truncated copy: cut inside the 3rd word's vector
    with open(binp, "rb") as f:
        data = f.read()
    header_end = data.index(b"\n") + 1
    pos = header_end
    rec = lambda w: len(w.encode("utf8")) + 1 + 4 * wv.vector_size
    pos += rec(wv.index_to_key[0]) + rec(wv.index_to_key[1])
    pos += len(wv.index_to_key[2].encode("utf8")) + 1 + 4 * 7
    with open(os.path.join(out, "gensim-small-truncated.bin"), "wb") as f:
        f.write(data[:pos])

    expected = {
        "generator": "Scripts/make_word2vec_fixture.py",
        "gensim_version": gensim.__version__,
        "numpy_version": np.__version__,
        "settings": SETTINGS,
        "corpus_sentences": len(corpus),
        "corpus_words": sum(len(s) for s in corpus),
        "count": len(wv.index_to_key),
        "dim": wv.vector_size,
        "first_words": wv.index_to_key[:5],
        "truncated_bytes": pos,
        "most_similar": {w: pairs(wv.most_similar(w, topn=5)) for w in QUERY_WORDS},
        "analogies": [
            {
                "a": a, "b": b, "c": c,
                "cosadd": pairs(wv.most_similar(positive=[b, c], negative=[a], topn=3)),
                "cosmul": pairs(wv.most_similar_cosmul(positive=[b, c], negative=[a], topn=3)),
            }
            for a, b, c in TRIPLES
        ],
    }
    with open(os.path.join(out, "gensim-small-expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")

    for name in sorted(os.listdir(out)):
        if name.startswith("gensim-small"):
            print(f"{os.path.getsize(os.path.join(out, name)):7d}  {name}")


if __name__ == "__main__":
    main()
