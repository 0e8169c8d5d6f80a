#!/usr/bin/env python3
"""Held-out cross-entropy of a shipped model in PyTorch, to compare with `llive model eval`.

The token stream comes from llive itself (`llive model eval --dump-tokens FILE`), so the two
numbers differ only by the model code: this script runs train.py's PyTorch modules (the code the
model was trained with) on the weights of backends/models/NAME, in float32 on the CPU, with the
same windows (train.py heldout_loss: consecutive windows from an empty state).

Usage: eval_heldout.py MODEL_DIR TOKENS_FILE [--window 512] [--max-tokens N] [--device cuda]
       [--bf16]  (float32 unless --bf16, which autocasts the products as training did)
Prints one JSON object: windows, tokens, cross_entropy, seconds.
Needs python3-torch (Debian) or any PyTorch >= 1.13; no other package.
"""
import argparse
import json
import os
import struct
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402  (the model classes and heldout_loss)

DTYPES = {"F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32}


def read_safetensors(path):
    """name -> float32 tensor, read with the standard library (no safetensors package)."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = bytearray(data[begin:end])
        tensor = torch.frombuffer(raw, dtype=DTYPES[info["dtype"]]) if raw else torch.empty(0)
        tensors[name] = tensor.reshape(info["shape"]).float()
    return tensors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("tokens_file")
    ap.add_argument("--window", type=int, default=512)
    ap.add_argument("--max-tokens", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (GPU only), as in training")
    args = ap.parse_args()
    with open(os.path.join(args.model_dir, "config.json")) as f:
        config = json.load(f)
    name = {"mamba": "mamba", "rwkv7": "rwkv7"}[config["model_type"]]
    cls, base, *_ = train.MODELS[name]
    cfg = {k: config[k] for k in list(base) + ["vocab_size"]}
    model = cls(cfg)
    missing, unexpected = model.load_state_dict(
        read_safetensors(os.path.join(args.model_dir, "model.safetensors")), strict=False)
    # The tied Mamba head is the embedding (not stored); nothing else may be missing.
    if unexpected or any(not k.endswith("lm_head.weight") for k in missing):
        sys.exit(f"weights do not match the model: missing {missing}, unexpected {unexpected}")
    model.float().to(args.device).eval()
    with open(args.tokens_file) as f:
        ids = torch.tensor([int(line) for line in f if line.strip()], dtype=torch.long)
    torch.manual_seed(0)
    start = time.time()
    loss = train.heldout_loss(model, ids, args.window, args.device, batch=8,
                              max_tokens=args.max_tokens or None, mixed=args.bf16)
    windows = (len(ids) - 1) // args.window
    if args.max_tokens:
        windows = min(windows, args.max_tokens // args.window)
    print(json.dumps({"model": args.model_dir, "torch": torch.__version__, "device": args.device,
                      "precision": "bf16" if args.bf16 else "fp32", "windows": windows,
                      "tokens": windows * args.window, "cross_entropy": loss,
                      "seconds": round(time.time() - start, 1)}))


if __name__ == "__main__":
    main()
