#!/usr/bin/env python3
"""Trains llive's small default models (Mamba-1 and RWKV-7) on the GPU machine.

Input: the folder written by prepare_data.py (train.jsonl, heldout.jsonl, sources.json).
Steps, all in one run:
  1. trains a byte-level BPE vocabulary on the training split (Hugging Face `tokenizers`, NFC
     normaliser, GPT-2 style byte-level pre-tokenizer; `<|endoftext|>` is id 0) -> tokenizer.json;
  2. tokenizes both splits and measures unigram and bigram baselines on the held-out split
     (additive smoothing toward the unigram, the smoothing constant picked on the held-out data
     itself, so the baselines are as strong as they can be);
  3. trains each model for a wall-time budget, checkpointing every few minutes so that a later run
     resumes (`--resume`); the sequence mixing is written here from the published equations:
     Mamba's selective scan in chunks (float64 inside a chunk, per-step log-decay floored at -40,
     where exp(-40) is already far below float32 resolution), RWKV-7's delta-rule recurrence step
     by step;
  4. checks each trained model against an independent implementation on the same weights
     (transformers' MambaForCausalLM; the float64 RWKV-7 reference in scripts/reference/);
  5. exports config.json + model.safetensors (float16) in the Hugging Face layout and writes a
     report with held-out cross-entropy, the baselines, timings and sample continuations.

Usage (GPU machine): train.py --data DIR --out DIR [--seconds-per-model 240] [--resume CKPT_DIR]
  [--models mamba] [--tokenizer FILE] [--mamba-config hidden_size=304,num_hidden_layers=12,...]
  [--batch N] [--seq-len N] [--lr X] [--eval-every SECONDS [--keep-best]]
--tokenizer reuses a shipped tokenizer.json instead of training one (step 1), so that a retrained
model is scored on the same held-out token stream as the model it replaces. --eval-every scores
the held-out split during training (the clock is paused meanwhile) and reports the curve; the last
weights are exported. --keep-best exports the weights with the lowest held-out loss instead (the
report says at which step); that choice is made on the split the loss is then reported on, so the
reported loss is optimistic: it is for experiments, not for a model that ships.
"""
import argparse
import contextlib
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint

EOT = "<|endoftext|>"


def mixed_precision(device):
    """bf16 autocast for the matrix products on the GPU; plain float32 on the CPU."""
    if device == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def full_precision(tensor):
    """Turns autocast off for a recurrence, whose state must not be rounded to bf16."""
    if tensor.is_cuda:
        return torch.autocast("cuda", enabled=False)
    return contextlib.nullcontext()

MAMBA_CONFIG = dict(hidden_size=256, num_hidden_layers=10, state_size=16, expand=2,
                    conv_kernel=4, time_step_rank=16)
RWKV7_CONFIG = dict(hidden_size=256, num_hidden_layers=5, intermediate_size=1024,
                    decay_low_rank_dim=64, a_low_rank_dim=64, v_low_rank_dim=32,
                    gate_low_rank_dim=64)
HEAD = 64


# ----------------------------------------------------------------------------- tokenizer, data
def load_docs(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def train_tokenizer(docs, vocab_size, path):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=[EOT],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator((d["text"] for d in docs), trainer=trainer)
    tok.save(path)
    return tok


def token_stream(tok, docs):
    """All documents' ids, each followed by <|endoftext|> (id 0)."""
    eot = tok.token_to_id(EOT)
    ids = []
    for enc in tok.encode_batch([d["text"] for d in docs]):
        ids.extend(enc.ids)
        ids.append(eot)
    return torch.tensor(ids, dtype=torch.long)


def ngram_baselines(train, held, vocab):
    """Held-out cross-entropy (nats/token) of the best additive-smoothed unigram and bigram."""
    uni = torch.bincount(train, minlength=vocab).double()
    best_uni = min(
        (-(torch.log((uni[held] + k) / (uni.sum() + k * vocab))).mean().item(), k)
        for k in (1e-3, 1e-2, 0.1, 0.5, 1.0))
    p_uni = (uni + best_uni[1]) / (uni.sum() + best_uni[1] * vocab)
    codes = train[:-1] * vocab + train[1:]
    uniq, counts = torch.unique(codes, return_counts=True)
    held_codes = held[:-1] * vocab + held[1:]
    pos = torch.searchsorted(uniq, held_codes).clamp(max=len(uniq) - 1)
    pair = torch.where(uniq[pos] == held_codes, counts[pos], torch.zeros_like(pos)).double()
    ctx = torch.bincount(train[:-1], minlength=vocab).double()[held[:-1]]
    best_bi = min((-(torch.log((pair + k * p_uni[held[1:]]) / (ctx + k))).mean().item(), k)
                  for k in (0.1, 0.3, 1, 3, 10, 30, 100, 300))
    return {"unigram": best_uni[0], "unigram_k": best_uni[1], "bigram": best_bi[0],
            "bigram_k": best_bi[1]}


# ----------------------------------------------------------------------------- Mamba-1
class MambaMixer(nn.Module):
    """One Mamba-1 block's mixer, parameters named as in transformers' MambaMixer."""

    def __init__(self, d_model, d_state, expand, d_conv, dt_rank):
        super().__init__()
        d_inner = expand * d_model
        self.d_inner, self.d_state, self.dt_rank = d_inner, d_state, dt_rank
        # True: the scan's float64 intermediates are recomputed in the backward pass instead of
        # kept (train.py turns it on when a training step runs out of GPU memory).
        self.recompute_scan = False
        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv1d = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(d_inner, dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(dt_rank, d_inner, bias=True)
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1).float()).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))
        # dt initialised log-uniformly in [1e-3, 1e-1], as the Mamba paper does.
        dt = torch.exp(torch.rand(d_inner) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
            self.dt_proj.weight.uniform_(-dt_rank ** -0.5, dt_rank ** -0.5)

    def forward(self, x):  # x: [B, L, d_model]
        length = x.shape[1]
        u, z = self.in_proj(x).chunk(2, dim=-1)                              # [B, L, d_inner] x2
        u = F.silu(self.conv1d(u.transpose(1, 2))[..., :length].transpose(1, 2))
        dt, b, c = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = F.softplus(self.dt_proj(dt))                                   # [B, L, d_inner]
        a = -torch.exp(self.A_log.float())                                  # [d_inner, d_state]
        with full_precision(x):
            args = (u.float(), dt.float(), a, b.float(), c.float())
            if self.recompute_scan and torch.is_grad_enabled():
                y = torch.utils.checkpoint.checkpoint(selective_scan, *args, use_reentrant=False)
            else:
                y = selective_scan(*args)
        y = y + u.float() * self.D
        return self.out_proj((y * F.silu(z.float())).to(x.dtype))


def selective_scan(u, dt, a, b, c, chunk=16):
    """h_t = exp(dt_t a) h_{t-1} + dt_t b_t u_t ; y_t = c_t . h_t, from h_0 = 0.

    Within a chunk, h_t = exp(S_t) (h_start + sum_{r<=t} exp(-S_r) x_r) with S the cumulative
    log-decay; float64 keeps exp(-S_r) finite for chunk * 40 < 709.
    u, dt: [B, L, D]; a: [D, N]; b, c: [B, L, N] -> y: [B, L, D] (float32)."""
    batch, length, d_inner = u.shape
    h = torch.zeros(batch, d_inner, a.shape[1], dtype=torch.float64, device=u.device)
    ys = []
    for s in range(0, length, chunk):
        dt_c = dt[:, s:s + chunk].double()
        log_decay = (dt_c.unsqueeze(-1) * a.double()).clamp(min=-40.0)   # [B, C, D, N]
        cum = log_decay.cumsum(dim=1)
        x = (dt_c * u[:, s:s + chunk].double()).unsqueeze(-1) * b[:, s:s + chunk].double().unsqueeze(2)
        hs = torch.exp(cum) * (h.unsqueeze(1) + torch.cumsum(torch.exp(-cum) * x, dim=1))
        ys.append(torch.einsum("bcdn,bcn->bcd", hs, c[:, s:s + chunk].double()).float())
        h = hs[:, -1]
    return torch.cat(ys, dim=1)


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight).to(x.dtype)


class MambaBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm = RMSNorm(cfg["hidden_size"])
        self.mixer = MambaMixer(cfg["hidden_size"], cfg["state_size"], cfg["expand"],
                                cfg["conv_kernel"], cfg["time_step_rank"])

    def forward(self, x):
        return x + self.mixer(self.norm(x))


class MambaBackbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(MambaBlock(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm_f = RMSNorm(cfg["hidden_size"])


class MambaLM(nn.Module):
    """Mamba-1 language model with a tied head; state_dict names match MambaForCausalLM."""

    def __init__(self, cfg):
        super().__init__()
        self.backbone = MambaBackbone(cfg)
        nn.init.normal_(self.backbone.embeddings.weight, std=0.02)
        for layer in self.backbone.layers:  # residual branches start small (GPT-2 style)
            nn.init.normal_(layer.mixer.out_proj.weight,
                            std=0.02 / math.sqrt(2 * cfg["num_hidden_layers"]))

    def forward(self, ids):
        x = self.backbone.embeddings(ids)
        for layer in self.backbone.layers:
            x = layer(x)
        return F.linear(self.backbone.norm_f(x), self.backbone.embeddings.weight)

    def hf_state(self):
        # The head is tied to the embeddings, so (as save_pretrained does) it is not stored.
        return dict(self.state_dict())

    @staticmethod
    def hf_config(cfg):
        d = cfg["hidden_size"]
        return dict(architectures=["MambaForCausalLM"], model_type="mamba",
                    vocab_size=cfg["vocab_size"], hidden_size=d,
                    intermediate_size=cfg["expand"] * d, state_size=cfg["state_size"],
                    num_hidden_layers=cfg["num_hidden_layers"], expand=cfg["expand"],
                    conv_kernel=cfg["conv_kernel"], time_step_rank=cfg["time_step_rank"],
                    use_bias=False, use_conv_bias=True, layer_norm_epsilon=1e-5,
                    residual_in_fp32=True, tie_word_embeddings=True, bos_token_id=0,
                    eos_token_id=0, pad_token_id=0, hidden_act="silu", torch_dtype="float16")


# ----------------------------------------------------------------------------- RWKV-7
class LoRA(nn.Module):
    """lora.0 (down), optional activation, lora.2 (up, optional bias): the -HF naming."""

    def __init__(self, d, rank, bias, activation):
        super().__init__()
        self.lora = nn.ModuleList([nn.Linear(d, rank, bias=False), nn.Identity(),
                                   nn.Linear(rank, d, bias=bias)])
        self.activation = activation
        nn.init.zeros_(self.lora[2].weight)
        nn.init.normal_(self.lora[0].weight, std=d ** -0.5)

    def forward(self, x):
        h = self.lora[0](x)
        if self.activation is not None:
            h = self.activation(h)
        return self.lora[2](h)


class Rwkv7Attention(nn.Module):
    def __init__(self, cfg, layer):
        super().__init__()
        d = cfg["hidden_size"]
        self.layer, self.heads = layer, d // HEAD
        ratio = layer / max(1, cfg["num_hidden_layers"] - 1)
        channel = torch.arange(d).float() / d
        for name in "rwkvag":  # token-shift lerps, [1, 1, d]
            setattr(self, "x_" + name, nn.Parameter((1 - channel ** (0.2 + 0.8 * ratio)).view(1, 1, d)))
        self.k_k = nn.Parameter(torch.full((d,), 0.85))
        self.k_a = nn.Parameter(torch.ones(d))
        self.r_k = nn.Parameter(torch.zeros(self.heads, HEAD))
        self.r_proj, self.k_proj, self.v_proj, self.o_proj = (
            nn.Linear(d, d, bias=False) for _ in range(4))
        nn.init.zeros_(self.o_proj.weight)
        self.w_lora = LoRA(d, cfg["decay_low_rank_dim"], True, torch.tanh)
        self.a_lora = LoRA(d, cfg["a_low_rank_dim"], True, None)
        self.g_lora = LoRA(d, cfg["gate_low_rank_dim"], False, torch.sigmoid)
        nn.init.normal_(self.g_lora.lora[2].weight, std=0.1)
        if layer > 0:
            self.v_lora = LoRA(d, cfg["v_low_rank_dim"], True, None)
            nn.init.ones_(self.v_lora.lora[2].bias)
        with torch.no_grad():  # decay speeds spread from slow to fast across channels
            self.w_lora.lora[2].bias.copy_(-6 + 7 * channel ** (1 + ratio))
        self.g_norm = nn.GroupNorm(self.heads, d, eps=HEAD * 1e-5)

    def forward(self, x, v_first):  # x: [B, T, d] (already attn_norm-ed)
        bsz, length, d = x.shape
        shifted = F.pad(x, (0, 0, 1, -1))
        delta = shifted - x
        xr, xw, xk, xv, xa, xg = (x + delta * getattr(self, "x_" + n) for n in "rwkvag")
        r, k, v = self.r_proj(xr), self.k_proj(xk), self.v_proj(xv)
        work = torch.float64 if x.dtype == torch.float64 else torch.float32  # recurrence precision
        w = torch.exp(-math.exp(-0.5) * torch.sigmoid(self.w_lora(xw).to(work)))
        if self.layer == 0:
            v_first = v
        else:
            v = v + (v_first - v) * torch.sigmoid(self.v_lora(xv))
        a = torch.sigmoid(self.a_lora(xa))
        g = self.g_lora(xg)
        kappa = F.normalize((k * self.k_k).view(bsz, length, self.heads, HEAD).to(work), dim=-1)
        k = k * (1 + (a - 1) * self.k_a)
        rh, kh, vh, ah = (t.to(work).view(bsz, length, self.heads, HEAD) for t in (r, k, v, a))
        wh = w.view(bsz, length, self.heads, HEAD)
        with full_precision(x):
            ys = delta_rule_scan(rh, kh, vh, wh, ah, kappa)
        y = ys                                                                # [B, T, H, 64]
        y = self.g_norm(y.reshape(bsz * length, d).to(x.dtype)).view(bsz, length, self.heads, HEAD)
        y = y + (rh * kh * self.r_k).sum(-1, keepdim=True) * vh
        return self.o_proj((y.reshape(bsz, length, d) * g).to(x.dtype)), v_first


def delta_rule_scan(r, k, v, w, a, kappa):
    """S_t = S diag(w_t) + (S (-kappa_t)) (kappa_t a_t)^T + v_t k_t^T ; y_t = S_t r_t, per head,
    from S = 0. All inputs [B, T, H, 64] float32; returns y [B, T, H, 64]."""
    bsz, length, heads, n = r.shape
    state = torch.zeros(bsz, heads, n, n, device=r.device, dtype=r.dtype)  # [B, H, value, key]
    ys = []
    for t in range(length):
        removed = torch.einsum("bhij,bhj->bhi", state, -kappa[:, t])
        state = (state * w[:, t, :, None, :]
                 + removed.unsqueeze(-1) * (kappa[:, t] * a[:, t]).unsqueeze(-2)
                 + v[:, t].unsqueeze(-1) * k[:, t].unsqueeze(-2))
        ys.append(torch.einsum("bhij,bhj->bhi", state, r[:, t]))
    return torch.stack(ys, dim=1)


class Rwkv7FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, f = cfg["hidden_size"], cfg["intermediate_size"]
        self.x_k = nn.Parameter(torch.full((d,), 0.5))
        self.key = nn.Linear(d, f, bias=False)
        self.value = nn.Linear(f, d, bias=False)
        nn.init.zeros_(self.value.weight)

    def forward(self, x):
        shifted = F.pad(x, (0, 0, 1, -1))
        return self.value(torch.relu(self.key(x + (shifted - x) * self.x_k)) ** 2)


class Rwkv7Block(nn.Module):
    def __init__(self, cfg, layer):
        super().__init__()
        d = cfg["hidden_size"]
        if layer == 0:
            self.pre_norm = nn.LayerNorm(d)
        self.attn_norm, self.ffn_norm = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = Rwkv7Attention(cfg, layer)
        self.ffn = Rwkv7FeedForward(cfg)

    def forward(self, x, v_first):
        if hasattr(self, "pre_norm"):
            x = self.pre_norm(x)
        out, v_first = self.attn(self.attn_norm(x), v_first)
        x = x + out
        return x + self.ffn(self.ffn_norm(x)), v_first


class Rwkv7Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        nn.init.uniform_(self.embeddings.weight, -1e-4, 1e-4)
        self.layers = nn.ModuleList(Rwkv7Block(cfg, i) for i in range(cfg["num_hidden_layers"]))
        self.norm = nn.LayerNorm(cfg["hidden_size"])


class Rwkv7LM(nn.Module):
    """RWKV-7 language model; state_dict names match the -HF (flash-linear-attention) layout."""

    def __init__(self, cfg):
        super().__init__()
        self.model = Rwkv7Model(cfg)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        nn.init.normal_(self.lm_head.weight, std=0.5 / math.sqrt(cfg["hidden_size"]))

    def forward(self, ids):
        x = self.model.embeddings(ids)
        v_first = None
        for layer in self.model.layers:
            x, v_first = layer(x, v_first)
        return self.lm_head(self.model.norm(x))

    def hf_state(self):
        return dict(self.state_dict())

    @staticmethod
    def hf_config(cfg):
        return dict(cfg, model_type="rwkv7", architectures=["RWKV7ForCausalLM"], head_dim=HEAD,
                    norm_eps=1e-5, norm_first=True, norm_bias=True, hidden_act="sqrelu",
                    tie_word_embeddings=False, bos_token_id=0, eos_token_id=0,
                    torch_dtype="float16")


# model: (class, shape, sequence length, batch, peak learning rate). RWKV-7's recurrence runs
# step by step here, so its steps are bound by kernel launches, not arithmetic: a wide batch
# gives it more tokens per second.
MODELS = {"mamba": (MambaLM, MAMBA_CONFIG, 256, 64, 3e-3),
          "rwkv7": (Rwkv7LM, RWKV7_CONFIG, 128, 256, 3e-3)}


# ----------------------------------------------------------------------------- training
def save_safetensors(tensors, path):
    """Float16 safetensors, tensors sorted by name, data 8-byte aligned."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        raw = tensors[name].detach().to("cpu", torch.float16).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F16", "shape": list(tensors[name].shape),
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


@torch.no_grad()
def heldout_loss(model, held, window, device, batch=16, max_tokens=None, mixed=True):
    """Mean cross-entropy over consecutive windows of the held-out stream, each from an empty
    state (the protocol llive's own evaluation repeats). mixed=False keeps float32 on the GPU."""
    model.eval()
    n = (len(held) - 1) // window
    if max_tokens:
        n = min(n, max_tokens // window)
    total, count = 0.0, 0
    for s in range(0, n, batch):
        rows = torch.stack([held[i * window:(i + 1) * window + 1] for i in range(s, min(n, s + batch))])
        rows = rows.to(device)
        with mixed_precision(device) if mixed else contextlib.nullcontext():
            logits = model(rows[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1),
                               reduction="sum")
        total += loss.item()
        count += rows[:, 1:].numel()
    model.train()
    return total / count


def training_step(model, opt, rows, vocab, device):
    with mixed_precision(device):
        logits = model(rows[:, :-1])
    loss = F.cross_entropy(logits.float().reshape(-1, vocab), rows[:, 1:].reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss


def train_model(name, vocab, train_ids, held_ids, seconds, device, ckpt_dir, log, overrides=None,
                eval_every=0.0, deadline=None, keep_best=False):
    """Trains one model for `seconds` of wall time (more after a resume). overrides: "config"
    (shape entries replacing the defaults), "batch", "sequence_length", "peak_lr". With
    eval_every > 0 the held-out loss is measured every eval_every seconds of training (the clock
    is paused while it runs); with keep_best too, the weights with the lowest one are kept and
    returned instead of the last ones (a choice made on the held-out split itself). deadline
    (a time.time() value) ends training early, whatever is left of `seconds`."""
    overrides = overrides or {}
    cls, base_cfg, seq_len, batch, lr = MODELS[name]
    unknown = set(overrides.get("config", {})) - set(base_cfg)
    if unknown:
        sys.exit(f"{name}: unknown config entries {sorted(unknown)} (known: {sorted(base_cfg)})")
    cfg = dict(base_cfg, **overrides.get("config", {}), vocab_size=vocab)
    seq_len = overrides.get("sequence_length") or seq_len
    batch = overrides.get("batch") or batch
    lr = overrides.get("peak_lr") or lr
    torch.manual_seed(1234)
    model = cls(cfg).to(device)
    params = sum(p.numel() for p in model.parameters())
    log(f"{name}: config {json.dumps(cfg, sort_keys=True)}, {params} parameters, batch {batch} x "
        f"{seq_len}, peak lr {lr}")
    # Weight decay on the matrices only (not on norms, lerps, biases, A_log, D or r_k).
    named = list(model.named_parameters())
    decay = [p for n_, p in named if p.dim() == 2 and not n_.endswith("r_k")]
    no_decay = [p for n_, p in named if not (p.dim() == 2 and not n_.endswith("r_k"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))
    step, elapsed, curve, best = 0, 0.0, [], None
    ckpt = os.path.join(ckpt_dir, f"{name}.pt") if ckpt_dir else None
    if ckpt and os.path.exists(ckpt):
        saved = torch.load(ckpt, map_location=device)
        if saved.get("config", cfg) != cfg:
            sys.exit(f"{name}: checkpoint {ckpt} was trained with config {saved['config']}, "
                     f"not {cfg}")
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])
        step, elapsed = saved["step"], saved["elapsed"]
        curve, best = saved.get("curve", []), saved.get("best")
        log(f"{name}: resumed at step {step} ({elapsed:.0f} s trained)")

    def checkpoint(trained):
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                    "elapsed": trained, "config": cfg, "curve": curve, "best": best}, ckpt)

    def evaluate(trained):
        nonlocal best
        loss = heldout_loss(model, held_ids, 512, device, batch=eval_batch)
        curve.append({"step": step, "train_seconds": round(trained, 1), "heldout_ce": loss})
        if keep_best and (best is None or loss < best["heldout_ce"]):
            best = {"step": step, "heldout_ce": loss,
                    "model": {k: v.detach().clone() for k, v in model.state_dict().items()}}
        log(f"{name}: step {step}, {trained:.0f} s: held-out CE {loss:.4f}" +
            (f" (best {best['heldout_ce']:.4f} at step {best['step']})" if best else ""))

    budget = elapsed + seconds
    eval_batch = 64 if device == "cuda" else 16  # windows per forward pass; the loss is the same
    g = torch.Generator().manual_seed(step)
    start, last_ckpt, paused = time.time(), time.time(), 0.0
    next_eval = (curve[-1]["train_seconds"] if curve else 0.0) + eval_every
    while True:
        now = elapsed + (time.time() - start - paused)
        if now >= budget:
            break
        if deadline and time.time() >= deadline:
            log(f"{name}: wall-clock limit reached after {now:.0f} s of training; stopping")
            break
        if eval_every and now >= next_eval:
            t_eval = time.time()
            evaluate(now)
            paused += time.time() - t_eval
            next_eval = now + eval_every
        progress = now / budget
        warm = min(1.0, (step + 1) / 100)
        for group in opt.param_groups:
            group["lr"] = lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        starts = torch.randint(0, len(train_ids) - seq_len - 1, (batch,), generator=g)
        rows = torch.stack([train_ids[s:s + seq_len + 1] for s in starts.tolist()]).to(device)
        mixers = [m for m in model.modules() if hasattr(m, "recompute_scan")]
        out_of_memory = False
        try:
            loss = training_step(model, opt, rows, vocab, device)
        except torch.cuda.OutOfMemoryError:
            # Mamba's chunked scan keeps several float64 [batch, chunk, d_inner, d_state]
            # tensors per chunk for the backward pass; recomputing them instead costs one more
            # forward pass of the scan. The failed step changed no weight (the error comes
            # before opt.step), so it is run again, outside this block, whose traceback still
            # holds the failed step's tensors.
            if not mixers or mixers[0].recompute_scan:
                raise
            out_of_memory = True
        if out_of_memory:
            for m in mixers:
                m.recompute_scan = True
            opt.zero_grad(set_to_none=True)
            torch.cuda.empty_cache()
            log(f"{name}: out of GPU memory at step {step}; recomputing the scan in the backward "
                f"pass from now on")
            loss = training_step(model, opt, rows, vocab, device)
        step += 1
        if step % 50 == 0:
            memory = (f", peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"
                      if device == "cuda" else "")
            log(f"{name}: step {step} loss {loss.item():.3f} lr {opt.param_groups[0]['lr']:.2e} "
                f"{now:.0f}/{budget:.0f} s{memory}")
        if ckpt and time.time() - last_ckpt > 120:
            checkpoint(elapsed + time.time() - start - paused)
            last_ckpt = time.time()
    trained_s = elapsed + time.time() - start - paused
    eval_s = paused
    final = heldout_loss(model, held_ids, 512, device, batch=eval_batch)
    if eval_every:
        curve.append({"step": step, "train_seconds": round(trained_s, 1), "heldout_ce": final})
        if keep_best and (best is None or final < best["heldout_ce"]):
            best = {"step": step, "heldout_ce": final,
                    "model": {k: v.detach().clone() for k, v in model.state_dict().items()}}
    if ckpt:
        checkpoint(trained_s)
    kept_step, loss = step, final
    if keep_best and best and best["step"] != step:
        model.load_state_dict(best["model"])
        kept_step, loss = best["step"], heldout_loss(model, held_ids, 512, device, batch=eval_batch)
        log(f"{name}: held-out CE at the end {final:.4f} is above the best {best['heldout_ce']:.4f}"
            f" (step {best['step']}): keeping the weights of step {best['step']}")
    recompute = any(getattr(m, "recompute_scan", False) for m in model.modules())
    log(f"{name}: {params} parameters, {step} steps, {step * batch * seq_len} tokens, "
        f"{trained_s:.0f} s (+{eval_s:.0f} s held-out evaluations), held-out CE {loss:.4f} "
        f"(weights of step {kept_step})")
    stats = {"parameters": params, "steps": step, "batch": batch, "sequence_length": seq_len,
             "tokens_seen": step * batch * seq_len, "train_seconds": round(trained_s, 1),
             "heldout_ce": loss, "peak_lr": lr}
    if eval_every:
        stats.update({"eval_every_seconds": eval_every, "eval_seconds": round(eval_s, 1),
                      "kept_step": kept_step, "final_heldout_ce": final, "heldout_curve": curve,
                      "scan_recomputed": recompute, "kept_best": bool(keep_best)})
    return model, cfg, stats


@torch.no_grad()
def sample(model, tok, prompt, device, tokens=40, temperature=0.8, seed=0):
    g = torch.Generator(device=device).manual_seed(seed)
    ids = tok.encode(prompt).ids
    for _ in range(tokens):
        logits = model(torch.tensor([ids], device=device))[0, -1].float()
        probs = torch.softmax(logits / temperature, dim=-1)
        ids.append(int(torch.multinomial(probs, 1, generator=g)))
    return tok.decode(ids)


def check_against_reference(name, model, cfg, held, device, log):
    """Relative max error of our logits against an independent implementation."""
    tokens = held[:64].tolist()
    ours = model.float()(torch.tensor([tokens], device=device))[0].double().cpu()
    if name == "mamba":
        from transformers import MambaConfig, MambaForCausalLM
        hf_cfg = MambaLM.hf_config(cfg)
        hf_cfg.pop("architectures"), hf_cfg.pop("model_type"), hf_cfg.pop("torch_dtype")
        ref = MambaForCausalLM(MambaConfig(**hf_cfg)).to(device).float()
        missing = ref.load_state_dict({k: v.float() for k, v in model.hf_state().items()},
                                      strict=False)
        ref.tie_weights()
        theirs = ref(torch.tensor([tokens], device=device)).logits[0].double().cpu()
        source = "transformers MambaForCausalLM"
    else:
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
        sys.path.insert(0, os.path.dirname(__file__))
        import rwkv7_reference
        w = {k: v.detach().double().cpu() for k, v in model.hf_state().items()}
        theirs = rwkv7_reference.run_reference(dict(cfg, norm_eps=1e-5), w, tokens)
        missing = None
        source = "scripts/reference/rwkv7_reference.py (float64)"
    err = ((ours - theirs).abs().max() / theirs.abs().max()).item()
    log(f"{name}: logits vs {source}: relative error {err:.2e} (missing keys: {missing})")
    return {"reference": source, "relative_error": err}


def parse_config(text):
    """"hidden_size=304,num_hidden_layers=12" -> {"hidden_size": 304, "num_hidden_layers": 12}."""
    out = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not value.strip().lstrip("-").isdigit():
            raise argparse.ArgumentTypeError(f"expected KEY=INTEGER, got {item!r}")
        out[key.strip()] = int(value)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", default="mamba,rwkv7")
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--seconds-per-model", type=float, default=240)
    ap.add_argument("--resume", default=None, help="checkpoint folder (read and written)")
    ap.add_argument("--log", default=None, help="log file (default OUT/train.log)")
    ap.add_argument("--tokenizer", default=None,
                    help="use this tokenizer.json instead of training a vocabulary")
    ap.add_argument("--mamba-config", default="", type=parse_config,
                    help="KEY=VALUE,... replacing entries of MAMBA_CONFIG (e.g. hidden_size=304)")
    ap.add_argument("--rwkv7-config", default="", type=parse_config,
                    help="KEY=VALUE,... replacing entries of RWKV7_CONFIG")
    ap.add_argument("--batch", type=int, default=0, help="sequences per step (0: per model)")
    ap.add_argument("--seq-len", type=int, default=0, help="tokens per sequence (0: per model)")
    ap.add_argument("--lr", type=float, default=0.0, help="peak learning rate (0: per model)")
    ap.add_argument("--eval-every", type=float, default=0.0,
                    help="seconds of training between held-out evaluations, reported as a curve "
                         "(0: no curve); the last weights are exported")
    ap.add_argument("--keep-best", action="store_true",
                    help="with --eval-every, export the weights with the lowest held-out loss; "
                         "chosen on the reported split, so for experiments only")
    ap.add_argument("--wall-limit", type=float, default=0.0,
                    help="stop training when the script has run this many seconds, whatever the "
                         "training budget says (so export still happens inside a job's time limit)")
    ap.add_argument("--no-check", action="store_true",
                    help="skip the check against transformers / the RWKV-7 reference (only for "
                         "trying the script on a machine without transformers)")
    args = ap.parse_args()
    for name in args.models.split(","):
        if name not in MODELS:
            sys.exit(f"unknown model {name!r} (known: {', '.join(MODELS)})")
        unknown = set(getattr(args, f"{name}_config")) - set(MODELS[name][1])
        if unknown:
            sys.exit(f"--{name}-config: unknown entries {sorted(unknown)} "
                     f"(known: {', '.join(sorted(MODELS[name][1]))})")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    os.makedirs(args.out, exist_ok=True)
    log_file = open(args.log or os.path.join(args.out, "train.log"), "a")

    def log(msg):
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    t0 = time.time()
    train_docs = load_docs(os.path.join(args.data, "train.jsonl"))
    held_docs = load_docs(os.path.join(args.data, "heldout.jsonl"))
    tok_path = os.path.join(args.out, "tokenizer.json")
    resume_tok = os.path.join(args.resume, "tokenizer.json") if args.resume else None
    if args.tokenizer:
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(args.tokenizer)
        if resume_tok and os.path.exists(resume_tok):
            if Tokenizer.from_file(resume_tok).to_str() != tok.to_str():
                sys.exit(f"--tokenizer {args.tokenizer} differs from the checkpoint's {resume_tok}")
        tok.save(tok_path)
        if resume_tok:
            os.makedirs(args.resume, exist_ok=True)
            tok.save(resume_tok)
        log(f"tokenizer: {args.tokenizer} (not trained)")
    elif args.resume and os.path.exists(os.path.join(args.resume, "tokenizer.json")):
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(os.path.join(args.resume, "tokenizer.json"))
        tok.save(tok_path)
    else:
        tok = train_tokenizer(train_docs, args.vocab, tok_path)
        if args.resume:
            os.makedirs(args.resume, exist_ok=True)
            tok.save(os.path.join(args.resume, "tokenizer.json"))
    vocab = tok.get_vocab_size()
    train_ids, held_ids = token_stream(tok, train_docs), token_stream(tok, held_docs)
    t_tok = time.time() - t0
    log(f"tokenizer: vocab {vocab}, train {len(train_ids)} tokens, held-out {len(held_ids)} "
        f"tokens ({t_tok:.0f} s)")
    baselines = ngram_baselines(train_ids, held_ids, vocab)
    log(f"baselines on held-out: {baselines}")
    report = {"vocab_size": vocab, "train_tokens": len(train_ids), "heldout_tokens": len(held_ids),
              "baselines": baselines, "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
              "torch": torch.__version__, "models": {}}
    if args.tokenizer:
        report["tokenizer"] = f"reused from {args.tokenizer}"

    def write_report():
        with open(os.path.join(args.out, "report.json"), "w") as f:
            json.dump(report, f, indent=1, ensure_ascii=False)
    prompts = ["The package manager", "To configure the network,", "パッケージを",
               "このコマンドは"]
    for name in args.models.split(","):
        overrides = {"config": getattr(args, f"{name}_config"), "batch": args.batch,
                     "sequence_length": args.seq_len, "peak_lr": args.lr}
        model, cfg, stats = train_model(name, vocab, train_ids, held_ids, args.seconds_per_model,
                                        device, args.resume, log, overrides, args.eval_every,
                                        t0 + args.wall_limit if args.wall_limit else None,
                                        args.keep_best)
        stats["vs_bigram"] = 1 - stats["heldout_ce"] / baselines["bigram"]
        # The weights are written first, so that a run cut short after training keeps them.
        os.makedirs(os.path.join(args.out, name), exist_ok=True)
        save_safetensors(model.hf_state(), os.path.join(args.out, name, "model.safetensors"))
        with open(os.path.join(args.out, name, "config.json"), "w") as f:
            json.dump(type(model).hf_config(cfg), f, indent=2, sort_keys=True)
        report["models"][name] = stats
        write_report()
        if args.no_check:
            log(f"{name}: check against the reference skipped (--no-check)")
        else:
            stats["check"] = check_against_reference(name, model, cfg, held_ids, device, log)
        stats["samples"] = {p: sample(model, tok, p, device) for p in prompts}
        write_report()
        log(f"{name}: {json.dumps(stats, ensure_ascii=False)}")
    write_report()


if __name__ == "__main__":
    main()
