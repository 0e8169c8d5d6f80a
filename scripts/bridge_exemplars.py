#!/usr/bin/env python3
"""Builds bridge/data/exemplars.jsonl from the hand-written minimal pairs in bridge/data/pairs/.

The texts are written by hand, one pair per block (see docs/bridge.md, "Exemplar corpus"):

    = DOMAIN
    + text in which the file's factor is strongly present
    - the same situation written without it

The file name names the focus factor. Scores: the focus factor gets 0.9 on "+" and 0.05 on "-";
every other factor gets 0.05 unless bridge/data/pairs/secondary.txt scores it for that text
("GROUP_ID p|n factor=score ...", one text a line, written by hand after reading the text).
This script only assembles; it writes no text of its own.

Usage: scripts/bridge_exemplars.py [--check]   (--check: fail if the committed file differs)
"""
import json
import pathlib
import re
import sys

FACTORS = ["structure", "recomposition", "closed_loop", "self_extension", "uncertainty",
           "exploration", "alignment", "provenance", "multi_perspective", "grounding"]
PRESENT, ABSENT = 0.9, 0.05
ROOT = pathlib.Path(__file__).resolve().parent.parent
PAIRS = ROOT / "bridge" / "data" / "pairs"
OUT = ROOT / "bridge" / "data" / "exemplars.jsonl"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def read_secondary():
    table = {}
    for number, line in enumerate((PAIRS / "secondary.txt").read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        group, side, *assignments = line.split()
        if side not in ("p", "n"):
            sys.exit(f"secondary.txt:{number}: side must be p or n, got {side!r}")
        scores = {}
        for assignment in assignments:
            factor, value = assignment.split("=")
            if factor not in FACTORS:
                sys.exit(f"secondary.txt:{number}: unknown factor {factor!r}")
            scores[factor] = float(value)
        for name in ([group.replace("-xx-", "-en-"), group.replace("-xx-", "-ja-")]
                     if "-xx-" in group else [group]):
            table[(name, side)] = scores
    return table


def main():
    secondary = read_secondary()
    used = set()
    rows = []
    for path in sorted(PAIRS.glob("[0-9][0-9]_*.txt")):
        focus = path.stem.split("_", 1)[1]
        assert focus in FACTORS, path
        counters = {"en": 0, "ja": 0}
        domain, pending = None, {}
        lines = [l for l in path.read_text().splitlines() if l and not l.startswith("#")]
        for line in lines:
            tag, text = line[0], line[2:].strip()
            if tag == "=":
                domain, pending = text, {}
                continue
            pending[tag] = text
            if "+" not in pending or "-" not in pending:
                continue
            lang = "ja" if JAPANESE.search(pending["+"]) else "en"
            counters[lang] += 1
            group = f"{focus}-{lang}-{counters[lang]:02d}"
            for side, key, value in (("p", "+", PRESENT), ("n", "-", ABSENT)):
                scores = {factor: ABSENT for factor in FACTORS}
                scores[focus] = value
                extra = secondary.get((group, side), {})
                used.add((group, side)) if extra else None
                scores.update(extra)
                rows.append({"id": f"{group}-{side}", "group": group, "lang": lang,
                             "domain": domain, "focus": focus,
                             "polarity": "present" if side == "p" else "absent",
                             "text": pending[key], "scores": scores})
            pending = {}
    unknown = set(secondary) - used
    if unknown:
        sys.exit(f"secondary.txt names texts that do not exist: {sorted(unknown)}")
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if "--check" in sys.argv:
        sys.exit(0 if OUT.read_text() == text else f"{OUT} is stale; run {sys.argv[0]}")
    OUT.write_text(text)
    print(f"{len(rows)} texts, {len(rows) // 2} pairs -> {OUT}")


if __name__ == "__main__":
    main()
