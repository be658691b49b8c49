"""Reads a GGUF file with the `gguf` package's GGUFReader (llama.cpp's reference reader) and prints
its metadata and tensors as JSON, for GGUFTests to compare with what swift-gpt wrote.

    python3 Scripts/check_gguf_read.py FILE.gguf
"""
import json
import sys

import gguf


def value(field):
    kind = field.types[0]
    if kind == gguf.GGUFValueType.STRING:
        return str(bytes(field.parts[field.data[0]]), "utf-8")
    if kind == gguf.GGUFValueType.ARRAY:
        inner = field.types[1]
        if inner == gguf.GGUFValueType.STRING:
            return [str(bytes(field.parts[i]), "utf-8") for i in field.data]
        return [field.parts[i].tolist()[0] for i in field.data]
    return field.parts[field.data[0]].tolist()[0]


reader = gguf.GGUFReader(sys.argv[1])
out = {
    "metadata": {name: value(field) for name, field in reader.fields.items() if not name.startswith("GGUF.")},
    "tensors": [
        {
            "name": tensor.name,
            "shape": [int(d) for d in tensor.shape],
            "type": tensor.tensor_type.name,
            "values": [float(v) for v in tensor.data.flatten()] if tensor.tensor_type.name in ("F32", "F16") else None,
        }
        for tensor in reader.tensors
    ],
}
print(json.dumps(out))
