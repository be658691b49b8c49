#!/usr/bin/env python3
"""Reference word2vec benchmark with gensim on the shared Gutenberg corpus.

Gives the numbers (training speed in words/s and Google analogy accuracy) the
Swift word2vec trainer is compared against in BENCHMARKS.md.

How to run (from the repository root; uses 2 worker threads, takes minutes):

    /root/venv-ref/bin/pip install numpy gensim     # measured with gensim 4.4.0
    /root/venv-ref/bin/python Scripts/bench_word2vec_reference.py \
        [--data /work/shared/data] [--save-vectors DIR] [--max-files N]

Corpus: every /work/shared/data/corpus/gutenberg/*.txt in sorted file-name
order, read as UTF-8, one sentence per LINE; each line is lower-cased and
tokenized as re.findall('[a-z]+', line.lower()); lines with no words are
skipped. Nothing else is removed (the Project Gutenberg header/footer text of
the files that have one is kept).

Models (seed=1, workers=2, vector_size=100, window=5, negative=5, hs=0,
min_count=5, sample=1e-3, epochs=3, default alpha 0.025 -> 0.0001):
  sg=1 (skip-gram), then sg=0 (CBOW, cbow_mean=1).
For each model, build_vocab and train are timed separately:
  raw_words_per_s        = raw words trained (= total corpus words x epochs, as
                           returned by model.train) / training seconds
  effective_words_per_s  = effective words (after min_count and sub-sampling,
                           first value returned by model.train) / training
                           seconds; this is what gensim's log calls
                           "effective words/s".
Then model.wv.evaluate_word_analogies(questions-words.txt) with the defaults
(restrict_vocab=300000, case_insensitive=True, 3CosAdd over top-5 excluding the
question words); questions with a word outside the vocabulary are skipped.
Reported: overall accuracy (correct / (correct + incorrect)), per-section
correct/incorrect counts, and skipped = total questions - (correct + incorrect).

Output: one JSON object on stdout. --save-vectors DIR additionally writes
DIR/gensim-sg.txt and DIR/gensim-cbow.txt (word2vec text format).
"""

import argparse
import glob
import json
import os
import platform
import re
import sys
import time

import gensim
import numpy as np
from gensim.models import Word2Vec

WORD_RE = re.compile("[a-z]+")


def load_corpus(corpus_dir, max_files=None):
    files = sorted(glob.glob(os.path.join(corpus_dir, "*.txt")))
    if max_files:
        files = files[:max_files]
    sentences = []
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                words = WORD_RE.findall(line.lower())
                if words:
                    sentences.append(words)
    return files, sentences


def count_questions(path):
    n = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith(":"):
                n += 1
    return n


def run(sentences, sg, args):
    model = Word2Vec(vector_size=100, window=5, negative=5, hs=0, min_count=5,
                     sample=1e-3, epochs=3, workers=2, sg=sg, cbow_mean=1,
                     seed=1)
    t0 = time.perf_counter()
    model.build_vocab(sentences)
    t1 = time.perf_counter()
    effective, raw = model.train(sentences, total_examples=model.corpus_count,
                                 epochs=model.epochs)
    t2 = time.perf_counter()
    train_s = t2 - t1

    score, sections = model.wv.evaluate_word_analogies(args.questions)
    t3 = time.perf_counter()
    per_section = [
        {"section": s["section"], "correct": len(s["correct"]),
         "incorrect": len(s["incorrect"])}
        for s in sections if s["section"] != "Total accuracy"
    ]
    correct = sum(s["correct"] for s in per_section)
    incorrect = sum(s["incorrect"] for s in per_section)
    sem = [s for s in per_section if not s["section"].startswith("gram")]
    syn = [s for s in per_section if s["section"].startswith("gram")]

    def acc(ss):
        c = sum(s["correct"] for s in ss)
        n = c + sum(s["incorrect"] for s in ss)
        return c / n if n else None

    result = {
        "sg": sg,
        "vocab_size": len(model.wv.index_to_key),
        "build_vocab_seconds": round(t1 - t0, 3),
        "train_seconds": round(train_s, 3),
        "raw_words_trained": int(raw),
        "effective_words_trained": int(effective),
        "raw_words_per_s": round(raw / train_s),
        "effective_words_per_s": round(effective / train_s),
        "analogy": {
            "accuracy": correct / (correct + incorrect) if correct + incorrect else None,
            "gensim_score": float(score),
            "semantic_accuracy": acc(sem),
            "syntactic_accuracy": acc(syn),
            "correct": correct,
            "incorrect": incorrect,
            "used": correct + incorrect,
            "skipped": args.total_questions - (correct + incorrect),
            "eval_seconds": round(t3 - t2, 3),
            "sections": per_section,
        },
    }
    if args.save_vectors:
        os.makedirs(args.save_vectors, exist_ok=True)
        name = "gensim-sg.txt" if sg else "gensim-cbow.txt"
        model.wv.save_word2vec_format(os.path.join(args.save_vectors, name), binary=False)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--save-vectors", metavar="DIR")
    ap.add_argument("--max-files", type=int, help="only the first N files (quick check)")
    args = ap.parse_args()
    args.questions = os.path.join(args.data, "questions-words.txt")
    args.total_questions = count_questions(args.questions)

    t0 = time.perf_counter()
    files, sentences = load_corpus(os.path.join(args.data, "corpus", "gutenberg"), args.max_files)
    load_s = time.perf_counter() - t0
    total_words = sum(len(s) for s in sentences)

    from gensim.models import word2vec_inner
    out = {
        "tool": "gensim",
        "gensim_version": gensim.__version__,
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "gensim_fast_version": word2vec_inner.FAST_VERSION,
        "cpu_count": os.cpu_count(),
        "files": len(files),
        "sentences": len(sentences),
        "total_words": total_words,
        "load_seconds": round(load_s, 3),
        "total_questions": args.total_questions,
        "settings": {"vector_size": 100, "window": 5, "negative": 5, "min_count": 5,
                     "sample": 1e-3, "epochs": 3, "workers": 2, "seed": 1,
                     "cbow_mean": 1, "alpha": 0.025, "min_alpha": 0.0001},
        "skipgram": run(sentences, 1, args),
        "cbow": run(sentences, 0, args),
    }
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
