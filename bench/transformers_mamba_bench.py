#!/usr/bin/env python3
"""transformers' MambaForCausalLM on the GPU machine, for comparison with llive's gpu_bench.

Random weights of the mamba-130m shape (hidden 768, 24 layers, state 16, expand 2, conv 4,
vocab 50280); nothing is downloaded. Two modes:

  --reference DIR  saves a random fp32 model (save_pretrained) to DIR/model with 64 random
                   tokens (DIR/tokens.i32) and transformers' logits at every position
                   (DIR/logits.f32), which gpu_check compares the CPU and GPU paths against.
  --bench          times prefill at 1x2048 and 16x2048 and greedy decoding at batch 1, 8, 64,
                   256 in bf16 on cuda, and prints a Markdown table like gpu_bench's.
Repetitions are few at the large shapes: this path is pure PyTorch and slow.
"""
import argparse
import os
import time

import torch
from transformers import MambaConfig, MambaForCausalLM


def make_model(dtype):
    # Exact fp32 products for the reference logits (cuDNN's convolutions default to TF32).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(130)
    # initializer_range 0.02 keeps activations of order one through 24 random layers (the
    # default 0.1 makes them grow so large that bf16 rounding decides the logits).
    config = MambaConfig(vocab_size=50280, hidden_size=768, state_size=16, num_hidden_layers=24,
                         expand=2, conv_kernel=4, tie_word_embeddings=True, use_cache=True,
                         initializer_range=0.02)
    return MambaForCausalLM(config).to(device="cuda", dtype=dtype).eval()


def reference(folder):
    model = make_model(torch.float32)
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(os.path.join(folder, "model"))
    generator = torch.Generator().manual_seed(5)
    tokens = torch.randint(0, 50280, (1, 64), generator=generator, dtype=torch.int32)
    with torch.no_grad():
        logits = model(tokens.to("cuda").long(), use_cache=False).logits[0].float().cpu()
    tokens.numpy().tofile(os.path.join(folder, "tokens.i32"))
    logits.numpy().tofile(os.path.join(folder, "logits.f32"))
    print(f"reference: {folder} (64 tokens, logits {tuple(logits.shape)})")


def timed(fn, reps):
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / reps


def bench(budget_seconds):
    model = make_model(torch.bfloat16)
    deadline = time.perf_counter() + budget_seconds
    rows = []
    with torch.no_grad():
        model(torch.randint(0, 50280, (1, 128), device="cuda"), use_cache=False)  # warm-up
        for batch in (1, 16):
            if time.perf_counter() > deadline:
                break
            ids = torch.randint(0, 50280, (batch, 2048), device="cuda")
            # Last-position logits only, as llive's prefill returns.
            head = model.lm_head
            seconds = timed(lambda: head(model.backbone(ids, use_cache=False)
                                         .last_hidden_state[:, -1].to(head.weight.dtype)), 1)
            rows.append(("prefill", batch, 2048, batch * 2048 / seconds, seconds * 1e6, "1 rep"))
        for batch in (1, 8, 64, 256):
            if time.perf_counter() > deadline:
                break
            ids = torch.randint(0, 50280, (batch, 16), device="cuda")
            steps = 32 if batch <= 8 else 16
            model.generate(ids, max_new_tokens=4, min_new_tokens=4, do_sample=False)
            seconds = timed(lambda: model.generate(ids, max_new_tokens=steps, min_new_tokens=steps,
                                                   do_sample=False), 1)
            rows.append(("decode (generate, greedy)", batch, steps, batch * steps / seconds,
                         seconds / steps * 1e6, "includes the 16-token prompt"))
    print(f"\ntransformers {__import__('transformers').__version__}, torch {torch.__version__}, "
          f"{torch.cuda.get_device_name()}")
    print("| model | what | dtype | batch | length | tok/s | us/step | note |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    for what, batch, length, rate, us, note in rows:
        print(f"| transformers MambaForCausalLM | {what} | bf16 | {batch} | {length} | {rate:.0f} "
              f"| {us:.1f} | {note} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", metavar="DIR")
    parser.add_argument("--bench", action="store_true")
    parser.add_argument("--budget", type=float, default=120.0,
                        help="seconds after which no further shape is started")
    args = parser.parse_args()
    if args.reference:
        reference(args.reference)
    if args.bench:
        bench(args.budget)


if __name__ == "__main__":
    main()
