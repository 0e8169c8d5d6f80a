#!/usr/bin/env python3
"""Writes the model card (README.md) of each default model from train.py's report.json and
prepare_data.py's sources.json.

Usage: model_card.py --report REPORT_JSON --sources SOURCES_JSON --models-dir backends/models
       [--command "the exact training command"] [--llive-eval LLIVE_EVAL_JSON] [--models mamba]

A model's own "command" in the report (a model retrained alone) takes the place of --command;
--models limits the cards written (a model not retrained keeps its card).

LLIVE_EVAL_JSON (backends/models/training/llive_eval.json) holds llive's own held-out numbers
(`llive model eval`) beside PyTorch's on the same token stream (scripts/train/eval_heldout.py).
"""
import argparse
import json
import os

TITLES = {"mamba": ("llive-mamba-small", "Mamba-1 (selective state space)"),
          "rwkv7": ("llive-rwkv7-small", "RWKV-7 (Goose)")}


def shape_lines(name, cfg):
    if name == "mamba":
        return (f"hidden {cfg['hidden_size']}, {cfg['num_hidden_layers']} layers, state "
                f"{cfg['state_size']}, expand {cfg['expand']}, conv {cfg['conv_kernel']}, dt rank "
                f"{cfg['time_step_rank']}, tied embeddings")
    return (f"hidden {cfg['hidden_size']}, {cfg['num_hidden_layers']} layers, head size "
            f"{cfg['head_dim']}, FFN {cfg['intermediate_size']}, low-rank sizes decay "
            f"{cfg['decay_low_rank_dim']} / in-context rate {cfg['a_low_rank_dim']} / value "
            f"{cfg['v_low_rank_dim']} / gate {cfg['gate_low_rank_dim']}, untied head")


def llive_eval_lines(folder, runs, commands):
    """The held-out loss measured by llive itself next to PyTorch's on the same tokens."""
    lines = [
        "### The same loss measured by llive",
        "",
        "llive tokenizes the held-out documents itself and scores them with the same windows "
        "(`llive model eval`); `scripts/train/eval_heldout.py` scores that very token stream "
        "with the training code in PyTorch, on the CPU (float32) and on the GPU (float32, and bf16 "
        "autocast as in training); `llive model eval --device cuda` is llive's GPU path (bf16 "
        "weights). The training report's number above was measured in bf16 on the GPU.",
        "",
        "| path | tokens scored | cross-entropy | difference |",
        "|---|---|---|---|",
    ]
    for run in runs:  # a run not measured yet has cross_entropy null
        ce = "pending" if run["cross_entropy"] is None else f"{run['cross_entropy']:.6f}"
        lines.append(f"| {run['path']} | {run['tokens']:,} | {ce} | {run.get('difference', '')} |")
    lines += ["", "```sh"] + [c.replace("MODEL", folder) for c in commands] + ["```", ""]
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report", required=True)
    ap.add_argument("--sources", required=True)
    ap.add_argument("--models-dir", required=True)
    ap.add_argument("--command", default="")
    ap.add_argument("--llive-eval", default="")
    ap.add_argument("--models", default="", help="comma-separated: only these cards")
    args = ap.parse_args()
    report = json.load(open(args.report, encoding="utf-8"))
    sources = json.load(open(args.sources, encoding="utf-8"))
    base = report["baselines"]
    llive_eval = json.load(open(args.llive_eval, encoding="utf-8")) if args.llive_eval else {}
    wanted = set(filter(None, args.models.split(",")))
    unknown = wanted - set(report["models"])
    if unknown:
        raise SystemExit(f"--models: {sorted(unknown)} not in {args.report}")
    for name, stats in report["models"].items():
        if wanted and name not in wanted:
            continue
        folder, family = TITLES[name]
        out = os.path.join(args.models_dir, folder)
        cfg = json.load(open(os.path.join(out, "config.json"), encoding="utf-8"))
        size = os.path.getsize(os.path.join(out, "model.safetensors"))
        lines = [
            f"# {folder}",
            "",
            f"A small {family} language model trained by the llive project so that llive's",
            "embedded default runs a real model offline. It is a toy by the standards of public",
            "checkpoints: it knows the style of Debian documentation, manual pages and fortune",
            "cookies in English and Japanese, and little else.",
            "",
            "| | |",
            "|---|---|",
            f"| architecture | {family}: {shape_lines(name, cfg)} |",
            f"| parameters | {stats['parameters']:,} |",
            f"| file | `model.safetensors`, float16, {size / 1e6:.1f} MB; `config.json` and "
            f"`tokenizer.json` in the Hugging Face layout |",
            f"| vocabulary | byte-level BPE, {report['vocab_size']} tokens, trained on the same "
            f"data (`<|endoftext|>` = 0)"
            + (f"; {stats['tokenizer']}" if "tokenizer" in stats else "") + " |",
            f"| training | {stats['steps']:,} steps of {stats['batch']} x {stats['sequence_length']} "
            f"tokens ({stats['tokens_seen']:,} tokens), AdamW, peak learning rate "
            f"{stats['peak_lr']}, {stats['train_seconds']:.0f} s on one {report['device']} "
            f"(torch {report['torch']}) |",
            f"| independent check | logits of the trained weights against "
            f"{stats['check']['reference']}: relative error "
            f"{stats['check']['relative_error']:.1e} |",
            "",
            "## Held-out cross-entropy",
            "",
            f"On the held-out split ({report['heldout_tokens']:,} tokens; whole documents never seen "
            "in training), in nats per token; the n-gram baselines use additive smoothing toward the",
            "unigram with the constant chosen on the held-out data itself (their best case).",
            "The model is evaluated in consecutive 512-token windows, each from an empty state.",
            "",
            "| model | cross-entropy | vs bigram |",
            "|---|---|---|",
            f"| unigram | {base['unigram']:.3f} | |",
            f"| bigram | {base['bigram']:.3f} | |",
            f"| {folder} | {stats['heldout_ce']:.3f} | {100 * stats['vs_bigram']:.1f}% lower |",
        ]
        if "replaces" in stats:
            old = stats["replaces"]
            lines.append(f"| the model it replaces ({old['commit']}: hidden {old['hidden_size']}, "
                         f"{old['num_hidden_layers']} layers, {old['parameters']:,} parameters, "
                         f"{old['train_seconds']:.0f} s) | {old['heldout_ce']:.3f} | "
                         f"{100 * old['vs_bigram']:.1f}% lower |")
        lines.append("")
        if "heldout_curve" in stats:
            kept = ("the last weights had the lowest, so nothing was chosen on the held-out split"
                    if stats["kept_step"] == stats["steps"] else
                    f"those of step {stats['kept_step']} of {stats['steps']}, a choice made on the "
                    "held-out split itself, which favours the number above slightly")
            lines += [
                f"During training the held-out loss was measured every "
                f"{stats['eval_every_seconds']:.0f} s (the clock paused meanwhile; "
                f"{stats['eval_seconds']:.0f} s in all) and the weights with the lowest one are "
                f"the ones shipped: {kept}.",
                "",
                "| step | seconds trained | held-out cross-entropy |",
                "|---|---|---|",
            ]
            lines += [f"| {c['step']} | {c['train_seconds']:.0f} | {c['heldout_ce']:.3f} |"
                      for c in stats["heldout_curve"]]
            lines.append("")
        if name in llive_eval:
            lines += llive_eval_lines(folder, llive_eval[name]["runs"], llive_eval[name]["commands"])
        lines += [
            "## Sample continuations",
            "",
            "Sampled at temperature 0.8 (seed 0), 40 tokens, by the training script in PyTorch:",
            "",
        ]
        for prompt, text in stats["samples"].items():
            lines += [f"- `{prompt}` → " + json.dumps(text, ensure_ascii=False), ""]
        lines += [
            "## Data and licences",
            "",
            "Text extracted from Debian 12 packages by `scripts/train/prepare_data.py` (NFC, exact",
            "duplicate paragraphs dropped, 5% of documents held out by a hash of their id). Each",
            "package's copyright file is the authority for its licence.",
            "",
            "| source | package (version) | language | licence | train bytes | held-out bytes |",
            "|---|---|---|---|---|---|",
        ]
        for s in sources:
            lines.append(f"| {s['name']} | {s['package']} ({s['version']}) | {s['lang']} | "
                         f"{s['licence']} | {s['bytes']['train']:,} | {s['bytes']['heldout']:,} |")
        lines += [
            "",
            "## How it was made",
            "",
            "```sh",
            "python3 scripts/train/prepare_data.py --install --out .dev-train/data   # here",
            stats.get("command") or args.command
            or "python3 scripts/train/train.py --data data --out OUT   # GPU machine",
            "```",
            "",
            "The GGUF file is made when needed, not shipped: "
            f"`build/llive model convert backends/models/{folder} {folder}.gguf --type f16`. "
            "`tests/backends/native/shipped_models_test.cc` converts the model, checks that llive "
            "gives the same logits from both files, and that llama.cpp (node-llama-cpp 3.21.1) "
            "loads the GGUF, tokenizes eight English and Japanese prompts the same way and "
            "continues them greedily with the same tokens (compared up to the first near-tie or "
            "end of text).",
            "",
        ]
        with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        print(f"wrote {out}/README.md")


if __name__ == "__main__":
    main()
