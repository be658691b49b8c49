#!/usr/bin/env python3
"""PyTorch's best CPU answer to `gpt bench train --precision bf16`: nanoGPT's own model (model.py from a
nanoGPT checkout, imported, not copied) trained on random tokens in fp32 and under CPU bf16 autocast
(torch.autocast("cpu", dtype=torch.bfloat16): oneDNN bf16 matrix products, the rest fp32), AdamW,
gradient clipping, the same step as nanoGPT's train.py. Prints tokens/s per mode, alternating modes
run by run, and the median of each.

    .venv-reference/bin/python Scripts/bench_torch_bf16.py --nanogpt ../peers/nanoGPT --preset baby
    .venv-reference/bin/python Scripts/bench_torch_bf16.py --nanogpt ../peers/nanoGPT --preset gpt2-small --block-size 256
"""
import argparse
import statistics
import sys
import time

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--nanogpt", required=True, help="a nanoGPT checkout (its model.py is imported)")
parser.add_argument("--preset", choices=["baby", "gpt2-small"], default="baby")
parser.add_argument("--block-size", type=int)
parser.add_argument("--batch-size", type=int)
parser.add_argument("--steps", type=int, default=30)
parser.add_argument("--warmup", type=int, default=3)
parser.add_argument("--runs", type=int, default=3, help="runs per mode, alternated")
parser.add_argument("--threads", type=int, default=2)
arguments = parser.parse_args()

sys.path.insert(0, arguments.nanogpt)
from model import GPT, GPTConfig  # noqa: E402  (nanoGPT's model.py)

torch.set_num_threads(arguments.threads)
if arguments.preset == "baby":
    # nanoGPT's README CPU run of train_shakespeare_char.py.
    shape = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, vocab_size=65, dropout=0.0, bias=False)
    batch = 12
else:
    shape = dict(n_layer=12, n_head=12, n_embd=768, block_size=64, vocab_size=50257, dropout=0.0, bias=False)
    batch = 4
if arguments.block_size:
    shape["block_size"] = arguments.block_size
batch = arguments.batch_size or batch
T = shape["block_size"]


def run(mode):
    torch.manual_seed(1337)
    model = GPT(GPTConfig(**shape))
    optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99), "cpu")
    generator = torch.Generator().manual_seed(0)
    x = torch.randint(0, shape["vocab_size"], (batch, T), generator=generator)
    y = torch.randint(0, shape["vocab_size"], (batch, T), generator=generator)
    context = torch.autocast("cpu", dtype=torch.bfloat16) if mode == "bf16" else torch.autocast("cpu", enabled=False)
    def step():
        with context:
            _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()
    for _ in range(arguments.warmup):
        step()
    start = time.perf_counter()
    for _ in range(arguments.steps):
        loss = step()
    seconds = time.perf_counter() - start
    return batch * T * arguments.steps / seconds, loss


print(f"torch {torch.__version__}, {arguments.threads} threads, {arguments.preset}: {shape}, batch {batch}")
results = {"fp32": [], "bf16": []}
for index in range(arguments.runs):
    for mode in ("fp32", "bf16"):
        tokens, loss = run(mode)
        results[mode].append(tokens)
        print(f"run {index + 1} {mode}: {tokens:,.0f} tokens/s (loss {loss:.3f})", flush=True)
for mode, values in results.items():
    print(f"median {mode}: {statistics.median(values):,.0f} tokens/s over {len(values)} runs")
print(f"bf16 / fp32: {statistics.median(results['bf16']) / statistics.median(results['fp32']):.2f}x")
