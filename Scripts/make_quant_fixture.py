"""Writes Tests/GPTFormatsTests/Fixtures/quants.gguf with the `gguf` package (llama.cpp's reference
Python code): a Float32 matrix `input` with hard cases (a zero block, constant blocks, a lone
extreme of either sign, tiny and huge values, ties on the rounding grid), and for each weight type
swift-gpt writes, `input` quantized by `gguf.quants.quantize` (ggml's reference formulas) and that
dequantized by `gguf.quants.dequantize`. QuantizationFixtureTests checks both directions bit for bit.
For the K-quants (whose quantizers are not ggml's reference, only their layouts are): random
super-blocks (finite float16 scales, random bytes elsewhere) named `Q4_K` … and their
`gguf.quants.dequantize` values, for checking our reading of the layout bit for bit.

    pip install gguf==0.19.0 numpy
    python3 Scripts/make_quant_fixture.py
"""
import pathlib

import gguf
import numpy as np

out = pathlib.Path(__file__).resolve().parent.parent / "Tests/GPTFormatsTests/Fixtures/quants.gguf"
rng = np.random.default_rng(12)
rows = [
    rng.normal(0, 0.02, 64),                       # GPT-2-like weights
    rng.normal(0, 1.0, 64) * 10,                   # larger values
    np.concatenate([np.zeros(32), np.full(32, 0.75)]),  # a zero block, a constant block
    np.concatenate([np.linspace(-1, 1, 31), [-3.0], np.linspace(1, -1, 31), [2.5]]),  # lone extremes
    np.concatenate([rng.normal(0, 1e-6, 32), rng.normal(0, 1e4, 32)]),  # tiny and huge scales
    np.concatenate([np.arange(32) / 4.0 - 4.0, -np.arange(32) / 8.0]),  # values on the grids (ties)
]
matrix = np.stack(rows).astype(np.float32)
writer = gguf.GGUFWriter(str(out), arch="gpt2")
writer.add_tensor("input", matrix)
for kind in ["Q8_0", "Q4_0", "Q5_0", "Q5_1", "F16", "BF16"]:
    qtype = gguf.GGMLQuantizationType[kind]
    if kind == "F16":
        data = matrix.astype(np.float16).view(np.uint8)
    else:
        data = gguf.quants.quantize(matrix, qtype)
    writer.add_tensor(kind, data, raw_dtype=qtype)
    writer.add_tensor(kind + ".dequantized", gguf.quants.dequantize(data, qtype).astype(np.float32).reshape(matrix.shape))
kinds = {"Q4_K": (144, [0, 2]), "Q5_K": (176, [0, 2]), "Q6_K": (210, [208])}  # bytes, float16 scale offsets
for kind, (size, halves) in kinds.items():
    qtype = gguf.GGMLQuantizationType[kind]
    blocks = rng.integers(0, 256, size=(4, size), dtype=np.uint8)
    for offset in halves:
        scales = (rng.normal(0, 0.01, 4)).astype(np.float16)
        blocks[:, offset:offset + 2] = scales.view(np.uint8).reshape(4, 2)
    data = blocks.reshape(2, 2 * size)  # two rows of two super-blocks (512 weights each)
    writer.add_tensor(kind, data, raw_dtype=qtype)
    writer.add_tensor(kind + ".dequantized", gguf.quants.dequantize(data, qtype).astype(np.float32).reshape(2, 512))
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()
print(f"wrote {out}")
