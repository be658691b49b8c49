#!/usr/bin/env python3
"""Generate a tiny GPT-2 reference fixture with Hugging Face transformers.

The fixture lets the Swift implementation be checked against the reference
PyTorch / transformers GPT-2 (forward logits, loss, every gradient, and a
10-step AdamW trajectory) without downloading any pretrained weights.

How to run (from the repository root):

    python3 -m venv /root/venv-ref
    /root/venv-ref/bin/pip install torch==2.13.0      # CPU build
    /root/venv-ref/bin/pip install transformers safetensors numpy
    /root/venv-ref/bin/python Scripts/make_hf_fixture.py --out Tests/GPTModelTests/Fixtures/gpt2-tiny

Files written to --out:

  config.json, model.safetensors
      Exactly what `GPT2LMHeadModel.save_pretrained(..., safe_serialization=True)`
      produces (HF naming, i.e. whatever prefixes transformers uses).
  plain.safetensors
      The same initial weights under plain GPT-2 names with no prefix
      (`wte.weight`, `h.0.attn.c_attn.weight`, ..., `ln_f.bias`), float32,
      Conv1D layout [in, out], no attention-mask buffers, no lm_head
      (it is tied to wte). Metadata {"format": "pt"}.
  expected.safetensors
      `logits` [B, T, vocab] for the fixed batch, and `grad.<plain name>` for
      every parameter (the wte gradient includes the tied lm_head part).
  expected.json
      input_ids, targets, loss, config fields, AdamW hyper-parameters and the
      10 AdamW losses (each computed *before* its optimizer step, so
      adamw_losses[0] == loss).
  adamw_final.safetensors
      Plain-named weights after the 10 AdamW steps.

Conventions (mirror these in the Swift tests):
  * loss = mean cross-entropy over all B*T positions between logits[b, t] and
    targets[b, t]. Targets are an independent random tensor, NOT input_ids
    shifted by one; no label shifting happens anywhere.
  * AdamW is torch.optim.AdamW (decoupled weight decay: p *= 1 - lr*wd, then
    the bias-corrected Adam update) with two parameter groups as in nanoGPT's
    configure_optimizers: weight_decay=0.1 for parameters with dim >= 2
    (wte, wpe, all Conv1D weights), 0.0 for biases and LayerNorm parameters.
    Constant lr, no gradient clipping, same batch every step.
"""

import argparse
import json
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel

SEED = 1234
B, T = 2, 16
CONFIG = dict(
    vocab_size=67,
    n_positions=16,
    n_embd=32,
    n_layer=2,
    n_head=2,
    n_inner=None,  # -> 4 * n_embd = 128
    activation_function="gelu_new",  # tanh approximation of GELU
    resid_pdrop=0.0,
    embd_pdrop=0.0,
    attn_pdrop=0.0,
    layer_norm_epsilon=1e-5,
    tie_word_embeddings=True,
)
ADAMW = dict(learning_rate=1e-3, beta1=0.9, beta2=0.95, epsilon=1e-8,
             weight_decay=0.1, steps=10)
PERTURB_STD = 0.02


def build_model() -> GPT2LMHeadModel:
    config = GPT2Config(**CONFIG)
    # Eager attention: the most literal reference implementation (SDPA would
    # agree to ~1e-7 anyway).
    config._attn_implementation = "eager"
    model = GPT2LMHeadModel(config).to(torch.float32)
    model.eval()  # dropout is 0 anyway; gradients are still computed
    return model


def plain_state(model: GPT2LMHeadModel, grads: bool = False) -> dict:
    """Parameters (or their gradients) of model.transformer under plain GPT-2
    names, e.g. 'h.0.attn.c_attn.weight'. Only nn.Parameters are included, so
    no attention-mask buffers; lm_head is tied to wte and therefore omitted."""
    out = {}
    for name, p in model.transformer.named_parameters():
        t = p.grad if grads else p
        assert t is not None, name
        out[name] = t.detach().to(torch.float32).contiguous().clone()
    return out


def ce_loss(model, input_ids, targets):
    logits = model(input_ids).logits  # [B, T, V]
    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
    return logits, loss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    args = ap.parse_args()
    out_dir = args.out
    os.makedirs(out_dir, exist_ok=True)

    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)

    # ---- 1. random model, then perturb biases and LayerNorm params ---------
    model = build_model()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias") or ".ln_" in name:
                p.add_(torch.randn_like(p) * PERTURB_STD)
    assert model.lm_head.weight is model.transformer.wte.weight, "wte/lm_head not tied"

    # ---- 2. weights: HF format and plain GPT-2 names ------------------------
    model.save_pretrained(out_dir, safe_serialization=True)
    initial = plain_state(model)
    save_file(initial, os.path.join(out_dir, "plain.safetensors"), metadata={"format": "pt"})

    # ---- 3. fixed batch (drawn after the model so the RNG order is fixed) ---
    input_ids = torch.randint(0, CONFIG["vocab_size"], (B, T))
    targets = torch.randint(0, CONFIG["vocab_size"], (B, T))

    # ---- 4. forward, loss, backward -----------------------------------------
    model.zero_grad(set_to_none=True)
    logits, loss = ce_loss(model, input_ids, targets)
    loss.backward()
    expected = {"logits": logits.detach().float().contiguous().clone()}
    for name, g in plain_state(model, grads=True).items():
        expected["grad." + name] = g
    save_file(expected, os.path.join(out_dir, "expected.safetensors"), metadata={"format": "pt"})

    # ---- 5. AdamW trajectory from the ORIGINAL weights ----------------------
    model2 = build_model()
    missing, unexpected = model2.transformer.load_state_dict(initial, strict=True)
    assert model2.lm_head.weight is model2.transformer.wte.weight
    params = dict(model2.named_parameters())  # tied lm_head appears once (as wte)
    decay = [p for p in params.values() if p.dim() >= 2]
    no_decay = [p for p in params.values() if p.dim() < 2]
    assert len(decay) + len(no_decay) == len(list(model2.parameters()))
    assert len({id(p) for p in decay + no_decay}) == len(decay) + len(no_decay)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": ADAMW["weight_decay"]},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=ADAMW["learning_rate"], betas=(ADAMW["beta1"], ADAMW["beta2"]),
        eps=ADAMW["epsilon"], foreach=False, fused=False)
    adamw_losses = []
    for _ in range(ADAMW["steps"]):
        opt.zero_grad(set_to_none=True)
        _, l = ce_loss(model2, input_ids, targets)
        l.backward()
        adamw_losses.append(l.item())  # loss before this step
        opt.step()
    save_file(plain_state(model2), os.path.join(out_dir, "adamw_final.safetensors"),
              metadata={"format": "pt"})

    # ---- 6. JSON summary -----------------------------------------------------
    summary = {
        "vocab_size": CONFIG["vocab_size"],
        "n_positions": CONFIG["n_positions"],
        "n_embd": CONFIG["n_embd"],
        "n_layer": CONFIG["n_layer"],
        "n_head": CONFIG["n_head"],
        "input_ids": input_ids.tolist(),
        "targets": targets.tolist(),
        "loss": loss.item(),
        "adamw": ADAMW,
        "adamw_losses": adamw_losses,
    }
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")

    # ---- report ---------------------------------------------------------------
    total = 0
    for fn in sorted(os.listdir(out_dir)):
        size = os.path.getsize(os.path.join(out_dir, fn))
        total += size
        print(f"{size:>9}  {fn}")
    print(f"{total:>9}  total bytes")
    print("loss:", loss.item())
    print("adamw_losses:", adamw_losses)


if __name__ == "__main__":
    main()
