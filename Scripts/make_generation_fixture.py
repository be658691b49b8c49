#!/usr/bin/env python3
"""Generate the GPT-2 + byte-level-BPE reference fixture for GPTGenerationTests.

The fixture lets the Swift implementation be checked end to end against
Hugging Face transformers / tokenizers on a *complete* model directory
(weights + config + tokenizer files), without downloading anything:
tokenizer encoding, last-position logits, sliding-window perplexity, greedy
decoding (with and without KV cache) and beam search.

How to run (from the repository root):

    python3 -m venv /root/venv-ref
    /root/venv-ref/bin/pip install torch==2.13.0      # CPU build
    /root/venv-ref/bin/pip install transformers tokenizers safetensors numpy
    /root/venv-ref/bin/python Scripts/make_generation_fixture.py \
        [--data /work/shared/data/tinyshakespeare.txt] \
        [--out Tests/GPTGenerationTests/Fixtures]

It was produced with torch 2.13.0+cpu, transformers 5.24.0, tokenizers 0.23.3.
Everything is deterministic (torch.manual_seed(4321), single thread, BPE
training is deterministic); rerunning overwrites the files.

Files written (under --out):

  hf-gpt2-bpe/                     a Hugging Face GPT-2 model directory
    config.json, generation_config.json, model.safetensors
        written by GPT2LMHeadModel.save_pretrained(dir, safe_serialization=True).
        Random GPT-2: vocab 300, n_positions 32, n_embd 32, 2 layers, 2 heads,
        gelu_new, no dropout, eps 1e-5, tied lm_head/wte, float32. After the
        standard init every 2-D weight (wte, wpe, all Conv1D weights) is
        multiplied by WEIGHT_SCALE = 10, and N(0, 0.02) noise is added to every
        bias and LayerNorm weight/bias, so the logits are far from uniform.
        (A factor of 3 was tried first: logits then have std ~0.34, the tied
        embeddings make the model copy its input token, and greedy decoding
        just repeats the last prompt token 20 times. With 10 the logit std is
        ~1.1 and greedy/beam outputs vary; the script records the top-1/top-2
        margins so float32 ties are not a concern.)
    tokenizer.json, tokenizer_config.json
        written by transformers.GPT2TokenizerFast(...).save_pretrained(dir).
        NOTE: transformers 5.x writes only these two files for a
        tokenizers-backed tokenizer (no vocab.json / merges.txt /
        special_tokens_map.json any more), so the script adds the legacy files
        that real GPT-2 directories (e.g. openai-community/gpt2) contain:
    vocab.json, merges.txt
        written by tokenizers' own BPE model.save(dir) (the same writer that
        produced the hub files): vocab.json is {token: id} including
        "<|endoftext|>", merges.txt starts with the line "#version: 0.2".
    special_tokens_map.json
        written by this script in the transformers-4.x layout:
        {"bos_token": "<|endoftext|>", "eos_token": ..., "unk_token": ...}.

    The tokenizer is a byte-level BPE trained with Hugging Face tokenizers on
    the first 100,000 bytes of tinyshakespeare: vocab_size 300, special token
    "<|endoftext|>" (the trainer puts special tokens first, so its id is 0,
    NOT the last id as in OpenAI's GPT-2), initial alphabet = all 256
    byte-level characters (ids 1..256; the trainer sorts them by character,
    which happens to be exactly GPT-2's byte-to-unicode order shifted by one),
    ByteLevel pre-tokenizer with add_prefix_space=False and the GPT-2 regex,
    ByteLevel decoder, 43 merges (ids 257..299; spaces appear as "G-dot"
    U+0120, newlines as U+010A, as in GPT-2).

  hf-gpt2-bpe-expected.json        reference values computed with that directory
    text                tinyshakespeare bytes 200000..200400 (ASCII)
    ids                 tokenizer(text)["input_ids"] (no special tokens); the
                        script checks it equals tokenizers' own encoding and a
                        reload of the directory from vocab.json + merges.txt.
    last_logits         logits at the last position for input ids[:20] (300 floats)
    perplexity          HF perplexity-guide sliding window over all of ids with
                        T = n_positions = 32 and strides 8, 16, 32. Per stride:
                        nll_sum, tokens, mean_loss, perplexity and the windows.
    scored_positions_stride_8
                        indices into ids whose token was scored (each window's
                        scored targets are positions prev_end_loc..end_loc-1,
                        except the first window whose position 0 is never a
                        target because HF shifts labels). The script asserts
                        no position is scored twice and, for strides 8 and 16,
                        that each position 1..len-1 is scored exactly once. With
                        stride 32 == context the windows are disjoint and the
                        first token of every later window (positions 32, 64, ...)
                        is never a target; those are listed per stride in
                        perplexity[].unscored_positions and tokens is smaller.
    greedy, greedy_no_cache
                        generate(ids[:10], max_new_tokens=20, do_sample=False,
                        eos disabled, pad_token_id=eot) with and without the
                        KV cache: new tokens + log_softmax(raw logits) of each
                        chosen token, cross-checked against full forward passes.
    beam                generate(ids[:10], num_beams=4, max_new_tokens=8,
                        early_stopping=False, length_penalty=1.0,
                        num_return_sequences=4, eos disabled): new tokens,
                        HF sequence_scores (= sum logprob / 8**1.0) and the plain
                        summed log-probabilities from a separate forward pass.
"""

import argparse
import json
import math
import os

import torch
import torch.nn.functional as F
import tokenizers
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

SEED = 4321
WEIGHT_SCALE = 10.0
EOT = "<|endoftext|>"
VOCAB_SIZE = 300
TRAIN_BYTES = 100_000
TEXT_RANGE = (200_000, 200_400)
CONTEXT = 32
STRIDES = [8, 16, 32]
PROMPT_LEN = 10
GREEDY_NEW = 20
BEAMS = 4
BEAM_NEW = 8
LOGITS_PREFIX = 20


def train_tokenizer(corpus: str) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)  # trim_offsets, use_regex: defaults
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([corpus], trainer=trainer)
    assert tok.get_vocab_size() == VOCAB_SIZE, tok.get_vocab_size()
    return tok


def build_model(eot_id: int) -> GPT2LMHeadModel:
    config = GPT2Config(
        vocab_size=VOCAB_SIZE,
        n_positions=CONTEXT,
        n_embd=32,
        n_layer=2,
        n_head=2,
        activation_function="gelu_new",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        layer_norm_epsilon=1e-5,
        tie_word_embeddings=True,
        bos_token_id=eot_id,
        eos_token_id=eot_id,
    )
    model = GPT2LMHeadModel(config).float()
    with torch.no_grad():
        for name, p in model.named_parameters():  # deduplicated: tied wte/lm_head scaled once
            if p.dim() == 2:
                p.mul_(WEIGHT_SCALE)
            else:  # biases and LayerNorm weights/biases
                p.add_(0.02 * torch.randn_like(p))
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()
    model.eval()
    return model


def sliding_window_perplexity(model, ids, stride):
    """The Hugging Face perplexity guide's loop, verbatim in spirit."""
    input_ids = torch.tensor([ids])
    seq_len = input_ids.size(1)
    nll_sum = 0.0
    n_tokens = 0
    prev_end_loc = 0
    scored = []
    windows = []
    for begin_loc in range(0, seq_len, stride):
        end_loc = min(begin_loc + CONTEXT, seq_len)
        trg_len = end_loc - prev_end_loc
        inp = input_ids[:, begin_loc:end_loc]
        target = inp.clone()
        target[:, :-trg_len] = -100
        with torch.no_grad():
            loss = model(inp, labels=target).loss
        # HF shifts labels left by one inside the loss: labels[1:] are the targets.
        valid = target[0, 1:] != -100
        count = int(valid.sum())
        positions = [begin_loc + 1 + i for i in range(valid.numel()) if bool(valid[i])]
        # independent float64 recomputation of this window's mean loss
        with torch.no_grad():
            logits = model(inp).logits[0, :-1].double()
        lp = F.log_softmax(logits, dim=-1)
        tg = inp[0, 1:]
        manual = -lp[torch.arange(tg.numel()), tg][valid].mean().item()
        assert abs(manual - loss.item()) < 1e-5, (manual, loss.item())
        nll_sum += loss.item() * count
        n_tokens += count
        scored.extend(positions)
        windows.append(dict(begin_loc=begin_loc, end_loc=end_loc, trg_len=trg_len,
                            scored_count=count, loss=loss.item()))
        prev_end_loc = end_loc
        if end_loc == seq_len:
            break
    assert len(scored) == len(set(scored)) == n_tokens, f"stride {stride}: a position was scored twice"
    unscored = sorted(set(range(1, seq_len)) - set(scored))
    if stride < CONTEXT:
        assert not unscored, f"stride {stride}: positions {unscored} never scored"
    else:
        # stride == context: windows do not overlap, trg_len == window length, and
        # HF's label shift means the first token of every window after the first
        # is never a target (positions begin_loc for begin_loc > 0).
        assert unscored == [w["begin_loc"] for w in windows[1:]], unscored
    mean = nll_sum / n_tokens
    return dict(stride=stride, context=CONTEXT, nll_sum=nll_sum, tokens=n_tokens,
                mean_loss=mean, perplexity=math.exp(mean), unscored_positions=unscored,
                windows=windows), scored


def forward_logprobs(model, prompt, new_tokens):
    """log_softmax of the raw logits at each generated step, via one full forward pass."""
    seq = torch.tensor([prompt + new_tokens])
    with torch.no_grad():
        logits = model(seq).logits[0]
    lp = F.log_softmax(logits, dim=-1)
    n = len(prompt)
    return [lp[n - 1 + i, t].item() for i, t in enumerate(new_tokens)], logits


def greedy(model, prompt, eot_id, use_cache):
    gen_cfg = GenerationConfig(
        max_new_tokens=GREEDY_NEW, do_sample=False, num_beams=1,
        eos_token_id=None, pad_token_id=eot_id, bos_token_id=eot_id,
        use_cache=use_cache,
    )
    with torch.no_grad():
        out = model.generate(
            input_ids=torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
            generation_config=gen_cfg, output_logits=True, output_scores=True, return_dict_in_generate=True,
        )
    new = out.sequences[0, len(prompt):].tolist()
    assert len(new) == GREEDY_NEW, new
    lps = [F.log_softmax(out.logits[i][0], dim=-1)[t].item() for i, t in enumerate(new)]
    # independent check: greedy by repeated full forward passes (no cache)
    seq = list(prompt)
    for _ in range(GREEDY_NEW):
        with torch.no_grad():
            seq.append(int(model(torch.tensor([seq])).logits[0, -1].argmax()))
    assert seq[len(prompt):] == new, (seq[len(prompt):], new)
    fwd_lps, _ = forward_logprobs(model, prompt, new)
    assert max(abs(a - b) for a, b in zip(lps, fwd_lps)) < 1e-4
    margins = [(lambda v: (v[0] - v[1]).item())(out.logits[i][0].topk(2).values) for i in range(GREEDY_NEW)]
    return dict(prompt=prompt, new_tokens=new, logprobs=lps, sum_logprob=sum(lps),
                use_cache=use_cache, eot_generated=eot_id in new,
                min_top1_top2_logit_margin=min(margins))


def reference_beam_search(model, prompt):
    """Plain beam search (no EOS, no length penalty until the end): keep the
    BEAMS best (cumulative logprob) continuations over all beams x vocab each
    step; the first step expands only the single prompt. Returns sequences
    sorted best first and the smallest gap between the last kept and the first
    dropped candidate over all steps."""
    beams = [(0.0, [])]
    min_gap = float("inf")
    for _ in range(BEAM_NEW):
        cands = []
        for score, toks in beams:
            with torch.no_grad():
                logits = model(torch.tensor([prompt + toks])).logits[0, -1]
            lp = F.log_softmax(logits.double(), dim=-1)
            top = lp.topk(BEAMS + 1)
            cands += [(score + v.item(), toks + [int(i)]) for v, i in zip(top.values, top.indices)]
        cands.sort(key=lambda c: -c[0])
        min_gap = min(min_gap, cands[BEAMS - 1][0] - cands[BEAMS][0])
        beams = cands[:BEAMS]
    return beams, min_gap


def beam(model, prompt, eot_id):
    gen_cfg = GenerationConfig(
        max_new_tokens=BEAM_NEW, do_sample=False, num_beams=BEAMS, num_return_sequences=BEAMS,
        early_stopping=False, length_penalty=1.0,
        eos_token_id=None, pad_token_id=eot_id, bos_token_id=eot_id,
    )
    with torch.no_grad():
        out = model.generate(
            input_ids=torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
            generation_config=gen_cfg, output_scores=True, return_dict_in_generate=True,
        )
    results = []
    for k in range(BEAMS):
        new = out.sequences[k, len(prompt):].tolist()
        assert len(new) == BEAM_NEW
        lps, _ = forward_logprobs(model, prompt, new)
        s = sum(lps)
        hf = out.sequences_scores[k].item()
        assert abs(hf - s / BEAM_NEW ** 1.0) < 1e-4, (hf, s)
        results.append(dict(new_tokens=new, sequence_score=hf, sum_logprob=s, logprobs=lps))
    scores = [r["sequence_score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    ref, min_gap = reference_beam_search(model, prompt)
    assert [t for _, t in ref] == [r["new_tokens"] for r in results], (ref, results)
    return dict(prompt=prompt, num_beams=BEAMS, max_new_tokens=BEAM_NEW, length_penalty=1.0,
                early_stopping=False, eos_token_id=None,
                matches_plain_beam_search=True, min_kept_vs_dropped_gap=min_gap,
                sequence_score_definition="sum_logprob / max_new_tokens ** length_penalty",
                sequences=results)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/work/shared/data/tinyshakespeare.txt")
    ap.add_argument("--out", default="Tests/GPTGenerationTests/Fixtures")
    args = ap.parse_args()

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    raw = open(args.data, "rb").read()
    corpus = raw[:TRAIN_BYTES].decode("ascii")
    text_bytes = raw[TEXT_RANGE[0]:TEXT_RANGE[1]]
    assert all(b < 128 for b in text_bytes), "passage must be ASCII"
    text = text_bytes.decode("ascii")

    model_dir = os.path.join(args.out, "hf-gpt2-bpe")
    os.makedirs(model_dir, exist_ok=True)
    for f in os.listdir(model_dir):
        os.remove(os.path.join(model_dir, f))

    # ---- tokenizer -----------------------------------------------------------
    backend = train_tokenizer(corpus)
    eot_id = backend.token_to_id(EOT)
    hf_tok = GPT2TokenizerFast(tokenizer_object=backend, bos_token=EOT, eos_token=EOT, unk_token=EOT)
    hf_tok.save_pretrained(model_dir)
    written_by_transformers = sorted(os.listdir(model_dir))
    if "vocab.json" not in written_by_transformers or "merges.txt" not in written_by_transformers:
        backend.model.save(model_dir)  # vocab.json + merges.txt
    if "special_tokens_map.json" not in written_by_transformers:
        with open(os.path.join(model_dir, "special_tokens_map.json"), "w") as f:
            json.dump({"bos_token": EOT, "eos_token": EOT, "unk_token": EOT}, f, indent=2)
            f.write("\n")
    vocab = json.load(open(os.path.join(model_dir, "vocab.json")))
    assert vocab.get(EOT) == eot_id, "vocab.json must map <|endoftext|>"
    merges_header = open(os.path.join(model_dir, "merges.txt")).readline().rstrip("\n")

    ids = hf_tok(text)["input_ids"]
    assert ids == backend.encode(text).ids
    assert eot_id not in ids
    assert hf_tok.decode(ids) == text
    # reload the directory both ways: transformers and plain vocab.json + merges.txt
    reloaded = transformers.AutoTokenizer.from_pretrained(model_dir)
    assert reloaded(text)["input_ids"] == ids
    legacy = Tokenizer(models.BPE.from_file(os.path.join(model_dir, "vocab.json"),
                                            os.path.join(model_dir, "merges.txt")))
    legacy.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    assert legacy.encode(text).ids == ids

    # ---- model ---------------------------------------------------------------
    model = build_model(eot_id)
    model.save_pretrained(model_dir, safe_serialization=True)
    os.chmod(os.path.join(model_dir, "model.safetensors"), 0o644)  # safetensors writes 0600
    model = GPT2LMHeadModel.from_pretrained(model_dir).eval()  # use exactly what was saved

    with torch.no_grad():
        last_logits = model(torch.tensor([ids[:LOGITS_PREFIX]])).logits[0, -1].tolist()

    perplexity = []
    scored8 = None
    for s in STRIDES:
        r, scored = sliding_window_perplexity(model, ids, s)
        perplexity.append(r)
        if s == STRIDES[0]:
            scored8 = scored

    prompt = ids[:PROMPT_LEN]
    g = greedy(model, prompt, eot_id, use_cache=True)
    g_nc = greedy(model, prompt, eot_id, use_cache=False)
    assert g["new_tokens"] == g_nc["new_tokens"]
    b = beam(model, prompt, eot_id)

    expected = dict(
        generator="Scripts/make_generation_fixture.py",
        versions=dict(torch=torch.__version__, transformers=transformers.__version__,
                      tokenizers=tokenizers.__version__),
        seed=SEED,
        eot_id=eot_id,
        merges_header=merges_header,
        text_source=dict(file="tinyshakespeare.txt", byte_start=TEXT_RANGE[0], byte_end=TEXT_RANGE[1]),
        text=text,
        ids=ids,
        last_logits_input_length=LOGITS_PREFIX,
        last_logits=last_logits,
        perplexity=perplexity,
        scored_positions_stride_8=scored8,
        scored_positions_check=("no position is ever scored twice; for strides 8 and 16 every position "
                                "1..len(ids)-1 is scored exactly once; for stride 32 (== context) the first "
                                "position of every window after the first is never scored (HF label shift), "
                                "see perplexity[].unscored_positions"),
        greedy=g,
        greedy_no_cache=g_nc,
        greedy_cache_matches_no_cache=g["new_tokens"] == g_nc["new_tokens"],
        beam=b,
    )
    with open(os.path.join(args.out, "hf-gpt2-bpe-expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")

    # ---- summary -------------------------------------------------------------
    print("transformers save_pretrained wrote:", written_by_transformers)
    print("eot id", eot_id, "| merges header", repr(merges_header), "| ids", len(ids))
    for f in sorted(os.listdir(model_dir)):
        print(f"  {f:28s} {os.path.getsize(os.path.join(model_dir, f)):8d}")
    for r in perplexity:
        print(f"stride {r['stride']:2d}: tokens {r['tokens']} nll_sum {r['nll_sum']:.6f} "
              f"mean {r['mean_loss']:.6f} ppl {r['perplexity']:.6f} unscored {r['unscored_positions']}")
    print("greedy", g["new_tokens"], "sum", g["sum_logprob"], "min margin", g["min_top1_top2_logit_margin"])
    print("beam min kept/dropped gap", b["min_kept_vs_dropped_gap"])
    print("greedy no cache equal:", g["new_tokens"] == g_nc["new_tokens"],
          "max |dlogprob|", max(abs(x - y) for x, y in zip(g["logprobs"], g_nc["logprobs"])))
    for r in b["sequences"]:
        print("beam", r["new_tokens"], "score", r["sequence_score"], "sum", r["sum_logprob"])
    print("greedy first 8 sum", sum(g["logprobs"][:BEAM_NEW]))


if __name__ == "__main__":
    main()
