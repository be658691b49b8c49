#!/usr/bin/env python3
"""Compares two GGUF files tensor by tensor with the gguf package's reader: for each tensor both
files hold, whether the type, shape and bytes are equal. Used to check `gpt quantize` against
llama.cpp's `llama-quantize --pure` on the same F32 weights (see BENCHMARKS.md).

usage: compare_gguf_tensors.py OURS.gguf THEIRS.gguf
Exit status 0 when every tensor present in both with the same type has equal bytes."""
import sys

import numpy as np
from gguf import GGUFReader


def tensors(path):
    return {t.name: t for t in GGUFReader(path).tensors}


def main():
    ours, theirs = tensors(sys.argv[1]), tensors(sys.argv[2])
    equal = differ = other_type = 0
    for name in sorted(set(ours) & set(theirs)):
        a, b = ours[name], theirs[name]
        if a.tensor_type != b.tensor_type:
            other_type += 1
            print(f"{name}: {a.tensor_type.name} here, {b.tensor_type.name} there (not compared)")
            continue
        same = list(a.shape) == list(b.shape) and np.array_equal(np.asarray(a.data).view(np.uint8), np.asarray(b.data).view(np.uint8))
        equal += same
        differ += not same
        if not same:
            print(f"{name}: {a.tensor_type.name} bytes DIFFER")
    only = sorted(set(ours) ^ set(theirs))
    print(f"{equal} tensors equal, {differ} differ, {other_type} in other types, {len(only)} in one file only {only[:4]}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
