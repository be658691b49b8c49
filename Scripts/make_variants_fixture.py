#!/usr/bin/env python3
"""Reference fixtures for the architecture switches GPT-2 lacks, from an independent PyTorch model.

transformers' GPT2LMHeadModel covers GPT-2 itself (Scripts/make_hf_fixture.py). The other switches —
post-norm, sinusoidal positions, ReLU, an untied unembedding, no biases, an MLP width other than 4·C
(n_inner) — are written here from the papers in a few lines of plain PyTorch, independently of the
Swift code, and each variant's logits, loss and every parameter's gradient are recorded:

    pre-norm:  h = x + attn(LN1(x));  out = h + mlp(LN2(h))        (GPT-2)
    post-norm: h = LN1(x + attn(x));  out = LN2(h + mlp(h))        (Vaswani et al.)
    both then: logits = LN_f(out) · W_u^T;  W_u = wte when tied
    sinusoid:  PE[t, 2i] = sin(t / 10000^(2i/C)),  PE[t, 2i+1] = cos(t / 10000^(2i/C))
    GELU:      0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³)))

How to run (from the repository root; torch is the only dependency):

    python3 -m venv /work/venv-ref && /work/venv-ref/bin/pip install torch==2.13.0 numpy safetensors
    /work/venv-ref/bin/python Scripts/make_variants_fixture.py --out Tests/GPTModelTests/Fixtures/variants

Each variant directory holds config.json (our keys), model.safetensors (GPT-2 tensor names, Conv1D
weights as [in, out]) and expected.safetensors (logits, loss, grad.<name>), plus inputs.json.
Deterministic: torch.manual_seed per variant, float64 for the reference, stored as float32.
"""

import argparse
import json
import math
import os

import torch
from safetensors.torch import save_file

VARIANTS = {
    "post-sinusoidal": dict(normalization="post", position="sinusoidal"),
    "relu-untied": dict(activation="relu", tied=False),
    "no-bias": dict(bias=False),
    "everything": dict(normalization="post", position="sinusoidal", activation="relu", tied=False, bias=False, inner=24),
}
V, T, C, L, NH, B = 11, 8, 16, 2, 2, 2


def parameters(spec, generator):
    """name → tensor (float64), GPT-2 names and layouts."""
    bias, inner = spec.get("bias", True), spec.get("inner", 4 * C)
    def normal(*shape, scale=0.3):
        return torch.randn(*shape, generator=generator, dtype=torch.float64) * scale
    def gain():
        return 1 + normal(C, scale=0.2)
    p = {"wte.weight": normal(V, C, scale=0.5)}
    if spec.get("position", "learned") == "learned":
        p["wpe.weight"] = normal(T, C, scale=0.5)
    for l in range(L):
        h = f"h.{l}."
        p[h + "ln_1.weight"], p[h + "ln_2.weight"] = gain(), gain()
        p[h + "attn.c_attn.weight"] = normal(C, 3 * C)
        p[h + "attn.c_proj.weight"] = normal(C, C)
        p[h + "mlp.c_fc.weight"] = normal(C, inner)
        p[h + "mlp.c_proj.weight"] = normal(inner, C, scale=0.15)
        if bias:
            p[h + "ln_1.bias"], p[h + "ln_2.bias"] = normal(C, scale=0.1), normal(C, scale=0.1)
            p[h + "attn.c_attn.bias"], p[h + "attn.c_proj.bias"] = normal(3 * C, scale=0.1), normal(C, scale=0.1)
            p[h + "mlp.c_fc.bias"], p[h + "mlp.c_proj.bias"] = normal(inner, scale=0.1), normal(C, scale=0.1)
    p["ln_f.weight"] = gain()
    if bias:
        p["ln_f.bias"] = normal(C, scale=0.1)
    if not spec.get("tied", True):
        p["lm_head.weight"] = normal(V, C, scale=0.5)
    return p


def forward(p, spec, tokens):
    bias = spec.get("bias", True)
    def layer_norm(x, name):
        mean = x.mean(-1, keepdim=True)
        var = ((x - mean) ** 2).mean(-1, keepdim=True)
        y = (x - mean) / torch.sqrt(var + 1e-5) * p[name + ".weight"]
        return y + p[name + ".bias"] if bias else y
    def linear(x, name):
        y = x @ p[name + ".weight"]
        return y + p[name + ".bias"] if bias else y
    def activation(x):
        if spec.get("activation", "gelu") == "relu":
            return torch.relu(x)
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    def attention(x, h):
        q, k, v = linear(x, h + "attn.c_attn").split(C, dim=-1)
        hs = C // NH
        q, k, v = (t.view(B, T, NH, hs).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(hs)
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        weights = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        y = (weights @ v).transpose(1, 2).reshape(B, T, C)
        return linear(y, h + "attn.c_proj")
    def mlp(x, h):
        return linear(activation(linear(x, h + "mlp.c_fc")), h + "mlp.c_proj")

    if spec.get("position", "learned") == "learned":
        positions = p["wpe.weight"]
    else:
        positions = torch.zeros(T, C, dtype=torch.float64)
        for t in range(T):
            for i in range(0, C, 2):
                angle = t / 10000 ** (i / C)
                positions[t, i], positions[t, i + 1] = math.sin(angle), math.cos(angle)
    x = p["wte.weight"][tokens] + positions
    for l in range(L):
        h = f"h.{l}."
        if spec.get("normalization", "pre") == "pre":
            x = x + attention(layer_norm(x, h + "ln_1"), h)
            x = x + mlp(layer_norm(x, h + "ln_2"), h)
        else:
            x = layer_norm(x + attention(x, h), h + "ln_1")
            x = layer_norm(x + mlp(x, h), h + "ln_2")
    unembedding = p["wte.weight"] if spec.get("tied", True) else p["lm_head.weight"]
    return layer_norm(x, "ln_f") @ unembedding.T


def config(spec):
    inner = spec.get("inner", 4 * C)
    return {
        "model_type": "swift-gpt", "vocab_size": V, "n_positions": T, "n_ctx": T, "n_embd": C, "n_layer": L,
        "n_head": NH, "n_inner": None if inner == 4 * C else inner,
        "activation_function": "relu" if spec.get("activation") == "relu" else "gelu_new",
        "layer_norm_epsilon": 1e-5, "tie_word_embeddings": spec.get("tied", True), "embd_pdrop": 0.0,
        "attn_pdrop": 0.0, "resid_pdrop": 0.0, "use_bias": spec.get("bias", True),
        "position_encoding": spec.get("position", "learned"), "normalization": spec.get("normalization", "pre"),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="Tests/GPTModelTests/Fixtures/variants")
    args = parser.parse_args()
    for index, (name, spec) in enumerate(VARIANTS.items()):
        generator = torch.Generator().manual_seed(100 + index)
        p = {k: v.requires_grad_() for k, v in parameters(spec, generator).items()}
        tokens = torch.randint(0, V, (B, T), generator=generator)
        targets = torch.randint(0, V, (B, T), generator=generator)
        logits = forward(p, spec, tokens)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
        loss.backward()
        directory = os.path.join(args.out, name)
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "config.json"), "w") as f:
            json.dump(config(spec), f, indent=2, sort_keys=True)
        save_file({k: v.detach().float().contiguous() for k, v in p.items()}, os.path.join(directory, "model.safetensors"),
                  metadata={"format": "pt"})
        expected = {"logits": logits.detach().float().contiguous(), "loss": loss.detach().float().reshape(1)}
        expected.update({"grad." + k: v.grad.float().contiguous() for k, v in p.items()})
        save_file(expected, os.path.join(directory, "expected.safetensors"))
        with open(os.path.join(directory, "inputs.json"), "w") as f:
            json.dump({"input_ids": tokens.tolist(), "targets": targets.tolist()}, f)
        print(f"{name}: loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
