#!/usr/bin/env python3
"""Reference logits for llive's Mamba backend from Hugging Face transformers.

Builds randomly initialised MambaForCausalLM models (no download), saves them with
save_pretrained (config.json + model.safetensors), runs a 256-token sequence through
transformers' pure-PyTorch path in float64 on the CPU, and writes expected.safetensors
(input_ids I64 [256], logits F32 [256, vocab]) beside each model. With --llive-parity it
also runs llive's bench/mamba_parity on each model and prints its relative errors.

Runs where torch and transformers are installed (the GPU machine):
  python3 mamba_reference.py --out DIR [--llive-parity PATH/TO/mamba_parity]
The small configuration (odd state size, conv width and dt rank, untied head) is the
fixture committed under tests/fixtures/mamba/; the mamba-130m shape is too large to
commit and is checked on that machine only.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import torch
from safetensors.torch import save_file
from transformers import MambaConfig, MambaForCausalLM
from transformers.models.mamba import modeling_mamba

CONFIGS = {
    "small": dict(hidden_size=48, num_hidden_layers=3, state_size=7, expand=2, conv_kernel=3,
                  time_step_rank=5, vocab_size=512, tie_word_embeddings=False, seed=11),
    "mamba-130m-shape": dict(hidden_size=768, num_hidden_layers=24, state_size=16, expand=2,
                             conv_kernel=4, time_step_rank="auto", vocab_size=50280,
                             tie_word_embeddings=True, seed=13),
}
SEQUENCE_LENGTH = 256


def randomize(model, config, generator):
    """Weights of order one everywhere (the default init leaves logits nearly flat)."""
    d_model, d_inner = config.hidden_size, config.intermediate_size
    with torch.no_grad():
        for name, p in model.named_parameters():
            def normal(std, mean=0.0):
                return torch.randn(p.shape, generator=generator) * std + mean
            if name.endswith("embeddings.weight"):
                p.copy_(normal(1.0))
            elif name.endswith("norm.weight") or name.endswith("norm_f.weight"):
                p.copy_(normal(0.1, 1.0))
            elif name.endswith("in_proj.weight"):
                p.copy_(normal(1 / math.sqrt(d_model)))
            elif name.endswith("conv1d.weight"):
                p.copy_(normal(1 / math.sqrt(config.conv_kernel)))
            elif name.endswith("conv1d.bias"):
                p.copy_(normal(0.1))
            elif name.endswith("x_proj.weight"):
                p.copy_(normal(1 / math.sqrt(d_inner)))
            elif name.endswith("dt_proj.weight"):
                p.copy_(normal(0.5 / math.sqrt(config.time_step_rank)))
            elif name.endswith("dt_proj.bias"):
                dt = torch.exp(torch.rand(p.shape, generator=generator)
                               * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
                p.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1
            elif name.endswith("A_log"):
                base = torch.log(torch.arange(1, config.state_size + 1, dtype=torch.float32))
                p.copy_(base.expand(p.shape) + normal(0.05))
            elif name.endswith(".D"):
                p.copy_(normal(0.1, 1.0))
            elif name.endswith("out_proj.weight"):
                p.copy_(normal(1 / math.sqrt(d_inner * config.num_hidden_layers)))
            elif name.endswith("lm_head.weight"):
                if not config.tie_word_embeddings:
                    p.copy_(normal(1 / math.sqrt(d_model)))
            else:
                raise SystemExit(f"unexpected parameter {name}")


def build(name, spec, out_dir, parity_binary):
    spec = dict(spec)
    seed = spec.pop("seed")
    generator = torch.Generator().manual_seed(seed)
    config = MambaConfig(**spec, use_bias=False, use_conv_bias=True)
    model = MambaForCausalLM(config).float().eval()
    randomize(model, config, generator)
    # Only the small model comes back; the others stay on the machine that made them.
    model_dir = os.path.join(out_dir if name == "small" else "/tmp/mamba-reference", name)
    model.save_pretrained(model_dir, safe_serialization=True)
    ids = torch.randint(0, config.vocab_size, (1, SEQUENCE_LENGTH), generator=generator)
    reference = model.double()
    start = time.time()
    with torch.no_grad():
        logits = reference(ids).logits[0]
    print(f"{name}: transformers float64 CPU forward of {SEQUENCE_LENGTH} tokens in "
          f"{time.time() - start:.1f} s; logits max |x| {logits.abs().max().item():.3f}")
    # The same model stepped with its cache: 200 prefill + 56 steps vs one prefill.
    try:
        check_steps(name, reference, ids, logits)
    except Exception as error:  # the cache API changes between transformers versions
        print(f"{name}: transformers cache stepping not checked: {error!r}")
    save_file({"input_ids": ids[0].to(torch.int64).contiguous(),
               "logits": logits.float().contiguous()},
              os.path.join(model_dir, "expected.safetensors"))
    if parity_binary:
        result = subprocess.run([parity_binary, model_dir,
                                 os.path.join(model_dir, "expected.safetensors")],
                                capture_output=True, text=True)
        print(f"{name}: llive mamba_parity exit {result.returncode}")
        print(result.stdout + result.stderr)


def check_steps(name, reference, ids, logits):
    with torch.no_grad():
        out = reference(ids[:, :200], use_cache=True)
        cache, stepped = out.cache_params, [out.logits[0, -1]]
        for t in range(200, SEQUENCE_LENGTH):
            out = reference(ids[:, t:t + 1], cache_params=cache, use_cache=True,
                            cache_position=torch.tensor([t]))
            cache = out.cache_params
            stepped.append(out.logits[0, -1])
    stepped = torch.stack(stepped)
    self_error = ((stepped - logits[199:]).abs().max() / logits[199:].abs().max()).item()
    print(f"{name}: transformers own prefill 200 + 56 steps vs prefill 256: {self_error:.3e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--llive-parity", default="")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    print(f"torch {torch.__version__}, fast path available: "
          f"{getattr(modeling_mamba, 'is_fast_path_available', None)} (the CPU never uses it)")
    for name, spec in CONFIGS.items():
        if args.only and name != args.only:
            continue
        build(name, spec, args.out, args.llive_parity)


if __name__ == "__main__":
    sys.exit(main())
