#!/usr/bin/env python3
"""Make the LoRA parity fixture: adapters in PEFT's format, checked both ways.

1. With our `gpt` binary: train a tiny base model (2 layers, width 32, character tokenizer, on --data) and a
   LoRA adapter over it (rank 4 on c_attn, c_proj, c_fc and lm_head) -> base/ and ours/.
2. With Hugging Face PEFT: load base/ in transformers, load ours/ with PeftModel.from_pretrained
   (no missing or unexpected keys allowed) and record its logits; make a PEFT adapter of its own
   (init_lora_weights=False, so B is not zero and the adapter changes the logits), save it to
   peft/ and record its logits too.
3. expected.safetensors: base_logits, ours_logits, peft_logits [B, T, V] for input_ids;
   expected.json: input_ids and what the checks found.

Run from the repository root (peft only here, never in CI):

    .venv-reference/bin/pip install peft
    swift build
    .venv-reference/bin/python Scripts/make_lora_fixture.py --gpt .build/debug/gpt \
        --data ../shared/data/tinyshakespeare.txt --out Tests/GPTModelTests/Fixtures/lora
"""

import argparse
import json
import os
import shutil
import subprocess

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from peft.utils import get_peft_model_state_dict
from safetensors.torch import save_file
from transformers import GPT2LMHeadModel

B, T = 2, 16


def run(*command):
    print("+", " ".join(command))
    subprocess.run(command, check=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gpt", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = args.out
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    base, ours, peft_dir = (os.path.join(out, name) for name in ("base", "ours", "peft"))
    run(args.gpt, "train", "--data", args.data, "--layers", "2", "--heads", "2", "--embedding-size", "32", "--context-length", "16",
        "--batch-size", "8", "--max-iters", "40", "--eval-interval", "40", "--eval-iters", "1", "--out", base)
    run(args.gpt, "finetune", "--from", base, "--data", args.data, "--lora-rank", "4", "--lora-alpha", "16",
        "--lora-targets", "c_attn,c_proj,c_fc,lm_head", "--learning-rate", "1e-2", "--max-iters", "40", "--eval-interval", "40",
        "--eval-iters", "1", "--batch-size", "8", "--out", ours)
    # Only the model and the adapter stay in the fixture (checkpoints and token caches are for resuming).
    for directory in (base, ours):
        for name in os.listdir(directory):
            if name.startswith("training") or name.endswith(".tokens") or name == "token_counts.json":
                os.remove(os.path.join(directory, name))

    torch.manual_seed(1234)
    model = GPT2LMHeadModel.from_pretrained(base).eval()
    vocab = model.config.vocab_size
    input_ids = torch.randint(0, vocab, (B, T))
    with torch.no_grad():
        base_logits = model(input_ids).logits

    # Our adapter in PEFT.
    adapted = PeftModel.from_pretrained(GPT2LMHeadModel.from_pretrained(base), ours).eval()
    from safetensors.torch import load_file
    stored = load_file(os.path.join(ours, "adapter_model.safetensors"))
    # The adapter's own tensors (with lm_head adapted, PEFT would also save a copy of the base output
    # layer unless told not to: swift-gpt refuses such a copy rather than guess whether it is the base's).
    expected_keys = set(get_peft_model_state_dict(adapted, save_embedding_layers=False).keys())
    missing = sorted(expected_keys - set(stored))
    unexpected = sorted(set(stored) - expected_keys)
    assert not missing and not unexpected, (missing, unexpected)
    with torch.no_grad():
        ours_logits = adapted(input_ids).logits
    assert (ours_logits - base_logits).abs().max() > 1e-3, "our adapter changed nothing"

    # PEFT's own adapter.
    torch.manual_seed(99)
    config = LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, lora_dropout=0.0,
                        target_modules=["c_attn", "c_proj", "c_fc", "lm_head"], fan_in_fan_out=True, init_lora_weights=False)
    peft_model = get_peft_model(GPT2LMHeadModel.from_pretrained(base), config).eval()
    peft_model.save_pretrained(peft_dir, save_embedding_layers=False)
    readme = os.path.join(peft_dir, "README.md")
    if os.path.exists(readme):
        os.remove(readme)
    with torch.no_grad():
        peft_logits = peft_model(input_ids).logits

    save_file({"base_logits": base_logits.contiguous(), "ours_logits": ours_logits.contiguous(),
               "peft_logits": peft_logits.contiguous()}, os.path.join(out, "expected.safetensors"))
    import peft
    import transformers
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"input_ids": input_ids.flatten().tolist(), "batch": B, "length": T,
                   "ours_loaded_in_peft": {"missing_keys": missing, "unexpected_keys": unexpected,
                                           "max_logit_change": float((ours_logits - base_logits).abs().max())},
                   "peft": peft.__version__, "transformers": transformers.__version__, "torch": torch.__version__},
                  f, indent=1)
    print("wrote", out)


if __name__ == "__main__":
    main()
