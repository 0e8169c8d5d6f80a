#!/usr/bin/env python3
"""The second labelling pass of the bridge's exemplar corpus and its agreement with the first.

  scripts/bridge_relabel.py sample  OUT_DIR   writes OUT_DIR/blind.txt ("sNNN text", shuffled, no
                                              ids, no scores) and OUT_DIR/key.json (sNNN -> id)
  scripts/bridge_relabel.py record  OUT_DIR   reads OUT_DIR/scores.txt ("sNNN factor=score ...",
                                              unlisted factors 0) written by the second labeller
                                              from blind.txt alone, writes bridge/data/relabel.jsonl
  scripts/bridge_relabel.py agreement         prints per-factor Cohen's kappa (present = score >=
                                              0.5) and Pearson r between the two passes
"""
import json
import math
import pathlib
import random
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "bridge" / "data" / "exemplars.jsonl"
RELABEL = ROOT / "bridge" / "data" / "relabel.jsonl"
FACTORS = ["structure", "recomposition", "closed_loop", "self_extension", "uncertainty",
           "exploration", "alignment", "provenance", "multi_perspective", "grounding"]
SAMPLE_SIZE, SEED = 210, 20261128


def sample(out_dir):
    rows = [json.loads(line) for line in CORPUS.open()]
    chosen = random.Random(SEED).sample(rows, SAMPLE_SIZE)
    key = {}
    with (out_dir / "blind.txt").open("w") as blind:
        for number, row in enumerate(chosen, 1):
            key[f"s{number:03d}"] = row["id"]
            blind.write(f"s{number:03d} {row['text']}\n")
    (out_dir / "key.json").write_text(json.dumps(key))


def record(out_dir):
    key = json.loads((out_dir / "key.json").read_text())
    with RELABEL.open("w") as out:
        for line in (out_dir / "scores.txt").read_text().splitlines():
            sample_id, *assignments = line.split()
            scores = {factor: 0.0 for factor in FACTORS}
            for assignment in assignments:
                factor, value = assignment.split("=")
                assert factor in FACTORS, line
                scores[factor] = float(value)
            out.write(json.dumps({"id": key[sample_id], "scores": scores}) + "\n")


def kappa(a, b):
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return (observed - expected) / (1 - expected) if expected < 1 else float("nan")


def pearson(a, b):
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    return cov / math.sqrt(va * vb) if va > 0 and vb > 0 else float("nan")


def agreement():
    first = {row["id"]: row["scores"] for row in map(json.loads, CORPUS.open())}
    second = [json.loads(line) for line in RELABEL.open()]
    print(f"{len(second)} texts re-scored blind\n")
    print("| factor | present (1st / 2nd) | agreement | Cohen's kappa | Pearson r |")
    print("|---|---|---|---|---|")
    for factor in FACTORS:
        s1 = [first[row["id"]][factor] for row in second]
        s2 = [row["scores"][factor] for row in second]
        p1 = [x >= 0.5 for x in s1]
        p2 = [x >= 0.5 for x in s2]
        agree = sum(x == y for x, y in zip(p1, p2)) / len(p1)
        print(f"| {factor} | {sum(p1)} / {sum(p2)} | {agree:.3f} | {kappa(p1, p2):.3f} | "
              f"{pearson(s1, s2):.3f} |")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "sample":
        sample(pathlib.Path(sys.argv[2]))
    elif command == "record":
        record(pathlib.Path(sys.argv[2]))
    elif command == "agreement":
        agreement()
    else:
        sys.exit(__doc__)
