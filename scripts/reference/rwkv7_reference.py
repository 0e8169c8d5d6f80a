#!/usr/bin/env python3
"""An independent RWKV-7 ("Goose") reference in plain PyTorch, float64, one token at a time.

Written from the published equations (RWKV-7 paper, arXiv:2503.14456) separately from llive's
C++ model, to check it. It builds a model of random weights in the Hugging Face layout of the
RWKV-7 `-HF` checkpoints (config.json + model.safetensors, flash-linear-attention naming), runs
the recurrence below over a random token sequence and writes the logits after every token.

Per layer, for one token (x: [D], H heads of N = 64, state S: [H, N(value), N(key)]):
  time mix   xa = LN(x); d = prev_xa - xa; x_c = xa + d * mu_c  for c in r, w, k, v, a, g
             r = W_r x_r, k = W_k x_k, v = W_v x_v
             w = exp(-exp(-0.5) * sigmoid(w0 + W_w2 tanh(W_w1 x_w)))        (decay)
             a = sigmoid(a0 + W_a2 W_a1 x_a)                               (in-context rate)
             v = v + (v_first - v) * sigmoid(v0 + W_v2 W_v1 x_v)   (layers > 0; value residual)
             g = W_g2 sigmoid(W_g1 x_g)                                     (output gate)
             kappa = L2norm_per_head(k * k_k); k = k * (1 + (a - 1) * k_a)
             S = S diag(w) + (S (-kappa)) (kappa * a)^T + v k^T;  y = S r
             y = GroupNorm_per_head(y) + (sum_head(r * k * r_k)) v;  x += W_o (y * g)
  chan mix   xf = LN(x); k = W_key (xf + (prev_xf - xf) * mu_k); x += W_value relu(k)^2
The first layer normalises the embedding once more (ln0 / pre_norm) before its attn_norm.

Usage:
  rwkv7_reference.py --shape small --out DIR [--weights-dtype bf16] [--tokens 12]
  rwkv7_reference.py --shape 0.1b --out DIR --tokens 8
writes DIR/config.json, DIR/model.safetensors, DIR/expected.json
({"tokens": [...], "logits": [[vocab floats] per position]}).
"""

import argparse
import json
import math
import os
import struct

import torch

SHAPES = {
    # 3 layers so that two layers use the value residual; 2 heads; bf16 keeps it under 2 MB.
    "small": dict(hidden_size=128, num_hidden_layers=3, intermediate_size=256, vocab_size=320,
                  decay_low_rank_dim=32, a_low_rank_dim=32, v_low_rank_dim=16,
                  gate_low_rank_dim=32),
    # The RWKV-7 0.1B (World) shape.
    "0.1b": dict(hidden_size=768, num_hidden_layers=12, intermediate_size=3072,
                 vocab_size=65536, decay_low_rank_dim=64, a_low_rank_dim=64,
                 v_low_rank_dim=32, gate_low_rank_dim=128),
}
HEAD = 64
NORM_EPS = 1e-5


def make_weights(cfg, seed, logit_scale):
    """Random weights of the given shape, in the HF (fla) naming and shapes, float64."""
    g = torch.Generator().manual_seed(seed)
    d = cfg["hidden_size"]
    f = cfg["intermediate_size"]
    vocab = cfg["vocab_size"]
    heads = d // HEAD

    def normal(*shape, std=1.0, mean=0.0):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * std + mean

    def uniform(*shape, lo=0.0, hi=1.0):
        return torch.rand(*shape, generator=g, dtype=torch.float64) * (hi - lo) + lo

    def matrix(out_dim, in_dim, gain=1.0):
        return normal(out_dim, in_dim, std=gain / math.sqrt(in_dim))

    w = {}
    w["model.embeddings.weight"] = normal(vocab, d)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        norms = ["attn_norm", "ffn_norm"] + (["pre_norm"] if i == 0 else [])
        for n in norms:
            w[p + n + ".weight"] = normal(d, std=0.1, mean=1.0)
            w[p + n + ".bias"] = normal(d, std=0.1)
        a = p + "attn."
        for c in "rwkvag":
            w[a + "x_" + c] = uniform(1, 1, d)
        w[a + "k_k"] = normal(d, std=0.1, mean=0.7)
        w[a + "k_a"] = normal(d, std=0.1, mean=1.0)
        w[a + "r_k"] = normal(heads, HEAD, std=0.3)
        for n in ["r_proj", "k_proj", "v_proj", "o_proj"]:
            w[a + n + ".weight"] = matrix(d, d)
        loras = [("w_lora", cfg["decay_low_rank_dim"], True),
                 ("a_lora", cfg["a_low_rank_dim"], True),
                 ("g_lora", cfg["gate_low_rank_dim"], False)]
        if i > 0:
            loras.append(("v_lora", cfg["v_low_rank_dim"], True))
        for name, rank, has_bias in loras:
            w[a + name + ".lora.0.weight"] = matrix(rank, d)
            w[a + name + ".lora.2.weight"] = matrix(d, rank)
            if has_bias:
                w[a + name + ".lora.2.bias"] = normal(d)
        w[a + "g_norm.weight"] = normal(d, std=0.1, mean=1.0)
        w[a + "g_norm.bias"] = normal(d, std=0.1)
        fp = p + "ffn."
        w[fp + "x_k"] = uniform(d)
        w[fp + "key.weight"] = matrix(f, d)
        w[fp + "value.weight"] = matrix(d, f, gain=0.5)
    w["model.norm.weight"] = normal(d, std=0.1, mean=1.0)
    w["model.norm.bias"] = normal(d, std=0.1)
    w["lm_head.weight"] = matrix(vocab, d, gain=logit_scale)
    return w


def save_safetensors(tensors, path):
    """Writes a safetensors file (8-byte header length, JSON header, raw little-endian data)."""
    names = {torch.float32: "F32", torch.bfloat16: "BF16"}
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def layer_norm(x, weight, bias, eps):
    mean = x.mean()
    var = ((x - mean) ** 2).mean()
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def run_reference(cfg, w, tokens):
    """Logits after each token, [T, vocab], float64, computed one token at a time."""
    d = cfg["hidden_size"]
    heads = d // HEAD
    layers = cfg["num_hidden_layers"]
    eps = cfg["norm_eps"]
    shift_att = [torch.zeros(d, dtype=torch.float64) for _ in range(layers)]
    shift_ffn = [torch.zeros(d, dtype=torch.float64) for _ in range(layers)]
    state = [torch.zeros(heads, HEAD, HEAD, dtype=torch.float64) for _ in range(layers)]
    out = []
    for token in tokens:
        x = w["model.embeddings.weight"][token]
        x = layer_norm(x, w["model.layers.0.pre_norm.weight"], w["model.layers.0.pre_norm.bias"],
                       eps)
        v_first = None
        for i in range(layers):
            p = f"model.layers.{i}."
            a_ = p + "attn."
            xa = layer_norm(x, w[p + "attn_norm.weight"], w[p + "attn_norm.bias"], eps)
            delta = shift_att[i] - xa
            shift_att[i] = xa
            mixed = {c: xa + delta * w[a_ + "x_" + c].reshape(d) for c in "rwkvag"}

            def lora(name, inp, mid=None):
                h = w[a_ + name + ".lora.0.weight"] @ inp
                if mid is not None:
                    h = mid(h)
                y = w[a_ + name + ".lora.2.weight"] @ h
                bias = w.get(a_ + name + ".lora.2.bias")
                return y if bias is None else y + bias

            r = w[a_ + "r_proj.weight"] @ mixed["r"]
            k = w[a_ + "k_proj.weight"] @ mixed["k"]
            v = w[a_ + "v_proj.weight"] @ mixed["v"]
            decay = torch.exp(-math.exp(-0.5) * torch.sigmoid(lora("w_lora", mixed["w"], torch.tanh)))
            if i == 0:
                v_first = v
            else:
                v = v + (v_first - v) * torch.sigmoid(lora("v_lora", mixed["v"]))
            iclr = torch.sigmoid(lora("a_lora", mixed["a"]))
            gate = lora("g_lora", mixed["g"], torch.sigmoid)
            kappa = (k * w[a_ + "k_k"]).reshape(heads, HEAD)
            kappa = kappa / torch.clamp(kappa.norm(dim=1, keepdim=True), min=1e-12)
            k = k * (1 + (iclr - 1) * w[a_ + "k_a"])

            rh, kh, vh, wh, ah = (t.reshape(heads, HEAD) for t in (r, k, v, decay, iclr))
            s = state[i]
            # S diag(w) + (S (-kappa)) (kappa * a)^T + v k^T, all from the state before the token;
            # index i runs over values, j over keys.
            removed = torch.einsum("hij,hj->hi", s, -kappa)
            s = (s * wh[:, None, :] + torch.einsum("hi,hj->hij", removed, kappa * ah) +
                 torch.einsum("hi,hj->hij", vh, kh))
            state[i] = s
            y = torch.einsum("hij,hj->hi", s, rh)

            mean = y.mean(dim=1, keepdim=True)
            var = ((y - mean) ** 2).mean(dim=1, keepdim=True)
            y = ((y - mean) / torch.sqrt(var + HEAD * eps)).reshape(d)
            y = y * w[a_ + "g_norm.weight"] + w[a_ + "g_norm.bias"]
            bonus = (rh * kh * w[a_ + "r_k"]).sum(dim=1, keepdim=True) * vh
            y = y + bonus.reshape(d)
            x = x + w[a_ + "o_proj.weight"] @ (y * gate)

            fp = p + "ffn."
            xf = layer_norm(x, w[p + "ffn_norm.weight"], w[p + "ffn_norm.bias"], eps)
            delta = shift_ffn[i] - xf
            shift_ffn[i] = xf
            kf = w[fp + "key.weight"] @ (xf + delta * w[fp + "x_k"])
            x = x + w[fp + "value.weight"] @ (torch.relu(kf) ** 2)
        x = layer_norm(x, w["model.norm.weight"], w["model.norm.bias"], eps)
        out.append(w["lm_head.weight"] @ x)
    return torch.stack(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--tokens", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--weights-dtype", choices=["f32", "bf16"], default="f32")
    parser.add_argument("--logit-scale", type=float, default=4.0)
    args = parser.parse_args()

    cfg = dict(SHAPES[args.shape])
    cfg.update(model_type="rwkv7", architectures=["RWKV7ForCausalLM"], head_dim=HEAD,
               norm_eps=NORM_EPS, norm_first=True, norm_bias=True, hidden_act="sqrelu",
               tie_word_embeddings=False, bos_token_id=0, eos_token_id=0,
               torch_dtype="bfloat16" if args.weights_dtype == "bf16" else "float32")
    weights = make_weights(cfg, args.seed, args.logit_scale)
    # The file holds the weights rounded to the stored type; the reference runs on exactly
    # those values, widened back to float64.
    store = torch.bfloat16 if args.weights_dtype == "bf16" else torch.float32
    stored = {k: v.to(store).contiguous() for k, v in weights.items()}
    weights = {k: v.to(torch.float64) for k, v in stored.items()}

    os.makedirs(args.out, exist_ok=True)
    save_safetensors(stored, os.path.join(args.out, "model.safetensors"))
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)

    g = torch.Generator().manual_seed(args.seed + 1)
    tokens = torch.randint(0, cfg["vocab_size"], (args.tokens,), generator=g).tolist()
    with torch.no_grad():
        logits = run_reference(cfg, weights, tokens)
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump({"shape": args.shape, "seed": args.seed, "tokens": tokens,
                   "logits": [[float(x) for x in row] for row in logits]}, f)
    top = logits[-1].topk(2).values
    print(f"{args.shape}: {len(tokens)} tokens, |logits|_inf {logits.abs().max().item():.4f}, "
          f"last top-2 margin {(top[0] - top[1]).item():.4f}")


if __name__ == "__main__":
    main()
