"""Writes Tests/GPTFormatsTests/Fixtures/reference.gguf with the `gguf` package's own GGUFWriter
(llama.cpp's reference Python writer), for GGUFTests to read: metadata of every common type, F32 and
F16 tensors with known values, and a Q8_0 tensor quantized by `gguf.quants`.

    pip install gguf==0.19.0 numpy
    python3 Scripts/make_gguf_fixture.py
"""
import pathlib

import gguf
import numpy as np

out = pathlib.Path(__file__).resolve().parent.parent / "Tests/GPTFormatsTests/Fixtures/reference.gguf"
writer = gguf.GGUFWriter(str(out), arch="gpt2")
writer.add_name("fixture")
writer.add_uint32("fixture.uint32", 123456)
writer.add_int32("fixture.int32", -7)
writer.add_float32("fixture.float32", 0.25)
writer.add_bool("fixture.bool", True)
writer.add_string("fixture.string", "héllo, wörld")
writer.add_array("fixture.strings", ["a", "bc", "<|endoftext|>"])
writer.add_array("fixture.ints", [1, 2, 3])
writer.add_uint64("fixture.uint64", 2**40)
# ggml order: the fastest dimension first; numpy shapes are the reverse ([rows, columns]).
matrix = (np.arange(6, dtype=np.float32) - 2.5).reshape(2, 3)
writer.add_tensor("matrix", matrix)
writer.add_tensor("half", np.array([1.0, -2.0, 0.5, 65504.0], dtype=np.float16))
block = (np.arange(32, dtype=np.float32) - 16) / 8
writer.add_tensor("q8", gguf.quants.quantize(block, gguf.GGMLQuantizationType.Q8_0), raw_dtype=gguf.GGMLQuantizationType.Q8_0)
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()
print(f"wrote {out} ({out.stat().st_size} bytes)")
