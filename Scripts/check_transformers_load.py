#!/usr/bin/env python3
"""Check that a model directory loads in Hugging Face transformers and report its loss.

Usage (from the repository root, with the venv described in make_hf_fixture.py):

    /root/venv-ref/bin/python Scripts/check_transformers_load.py MODEL_DIR TOKENS_JSON

MODEL_DIR    a directory with config.json + model.safetensors, e.g. one written by
             the Swift tool (plain GPT-2 tensor names such as `wte.weight`, or HF names
             with the `transformer.` prefix; lm_head may be absent since it is tied to
             wte). Any tokenizer files in it are ignored.
TOKENS_JSON  a JSON file with {"input_ids": [[...], ...], "targets": [[...], ...]}
             (e.g. Tests/GPTModelTests/Fixtures/gpt2-tiny/expected.json). The loss is the
             mean cross-entropy over all positions of logits[b, t] vs targets[b, t]
             (no shifting). If "targets" is missing, the usual next-token loss is used
             instead: logits[:, :-1] vs input_ids[:, 1:].

Prints one line of JSON to stdout: {"loss": x}. Exits non-zero if any weight in the
checkpoint was not used or any model parameter was left uninitialised (missing). The test suite
runs this script (GPTModelTests/TransformersLoadTests) with the environment that
`Scripts/install-dependencies.sh --with-test-tools` makes in .venv-reference/.
"""

import json
import sys

import torch
import torch.nn.functional as F
from transformers import GPT2LMHeadModel


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model_dir, tokens_path = sys.argv[1], sys.argv[2]

    model, info = GPT2LMHeadModel.from_pretrained(
        model_dir, dtype=torch.float32, output_loading_info=True,
        attn_implementation="eager")
    model.eval()

    # A silently random-initialised tensor would make the loss meaningless, so be strict.
    # lm_head.weight may be reported missing by some versions when it is tied to wte.
    tied = model.config.tie_word_embeddings
    missing = [k for k in info.get("missing_keys", []) if not (tied and k == "lm_head.weight")]
    unexpected = list(info.get("unexpected_keys", []))
    mismatched = list(info.get("mismatched_keys", []))
    if missing or unexpected or mismatched:
        print(f"load problems: missing={missing} unexpected={unexpected} "
              f"mismatched={mismatched}", file=sys.stderr)
        sys.exit(1)
    if tied != (model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()):
        print(f"lm_head tying differs from tie_word_embeddings={tied}", file=sys.stderr)
        sys.exit(1)

    with open(tokens_path) as f:
        data = json.load(f)
    input_ids = torch.tensor(data["input_ids"], dtype=torch.long)
    if input_ids.dim() == 1:
        input_ids = input_ids.unsqueeze(0)

    with torch.no_grad():
        logits = model(input_ids).logits
        if "targets" in data:
            targets = torch.tensor(data["targets"], dtype=torch.long).view_as(input_ids)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        else:
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)),
                                   input_ids[:, 1:].reshape(-1))
    print(json.dumps({"loss": loss.item()}))


if __name__ == "__main__":
    main()
