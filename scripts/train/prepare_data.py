#!/usr/bin/env python3
"""Builds the English + Japanese training text for llive's default models from Debian packages.

Run on the development machine (it has the Debian archive; the GPU machine has no network):
    python3 scripts/train/prepare_data.py --install --out .dev-train/data
It installs the source packages (with --install), extracts plain text, normalises it to NFC,
drops exact duplicate paragraphs, splits documents into train and held-out sets by a hash of the
document id (never splitting a document), and writes:
    OUT/train.jsonl, OUT/heldout.jsonl   one document per line: {"id", "source", "lang", "text"}
    OUT/sources.json                     per source: package, version, licence, copyright file,
                                         documents, characters, bytes in each split
"""
import argparse
import glob
import gzip
import hashlib
import html.parser
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

# Each source: Debian package, language, how to find and read its documents, and its licence
# as the package's copyright file states it (the file is recorded too).
SOURCES = [
    {"name": "debian-reference-en", "package": "debian-reference-en", "lang": "en",
     "glob": "/usr/share/debian-reference/*.en.html", "kind": "html",
     "licence": "GPL-2+ (Debian Reference, Osamu Aoki)"},
    {"name": "debian-reference-ja", "package": "debian-reference-ja", "lang": "ja",
     "glob": "/usr/share/debian-reference/*.ja.html", "kind": "html",
     "licence": "GPL-2+ (Debian Reference, Japanese translation)"},
    {"name": "debian-faq-en", "package": "debian-faq", "lang": "en",
     "glob": "/usr/share/doc/debian/FAQ/*.en.html", "kind": "html",
     "licence": "verbatim and modified copies permitted with notice (SPI, Debian FAQ)"},
    {"name": "debian-faq-ja", "package": "debian-faq-ja", "lang": "ja",
     "glob": "/usr/share/doc/debian/FAQ/debian-faq.ja.txt.gz", "kind": "gztext",
     "licence": "verbatim and modified copies permitted with notice (SPI, Debian FAQ)"},
    {"name": "fortunes", "package": "fortunes", "lang": "en",
     "glob": "/usr/share/games/fortunes/*.u8", "kind": "fortune",
     "licence": "BSD (fortune-mod data files; see copyright file)"},
    {"name": "manpages-en", "package": "manpages", "lang": "en",
     "glob": "/usr/share/man/man[2-7]/*.gz", "kind": "man", "package_files_only": True,
     "licence": "Linux man-pages: per page GPL-2+, BSD, Expat or Linux-man-pages-copyleft"},
    {"name": "manpages-ja", "package": "manpages-ja", "lang": "ja",
     "glob": "/usr/share/man/ja/man[1-8]/*.gz", "kind": "man", "package_files_only": True,
     "licence": "JM Project translations under each original page's DFSG-free licence"},
    {"name": "manpages-ja-dev", "package": "manpages-ja-dev", "lang": "ja",
     "glob": "/usr/share/man/ja/man[2-3]/*.gz", "kind": "man", "package_files_only": True,
     "licence": "JM Project translations under each original page's DFSG-free licence"},
]
HELDOUT_PERCENT = 5


class _HtmlText(html.parser.HTMLParser):
    """Collects visible text, one paragraph per block element."""
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "dt", "dd",
              "table", "section", "blockquote", "title"}
    SKIP = {"script", "style", "head"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def read_html(path):
    parser = _HtmlText()
    parser.feed(Path(path).read_text(encoding="utf-8", errors="replace"))
    return ["".join(parser.parts)]


def read_fortune(path):
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    return [cookie for cookie in re.split(r"^%\s*$", text, flags=re.M) if cookie.strip()]


def read_man(path):
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="100")
    source = gzip.open(path, "rb").read()
    if source.lstrip().startswith(b".so "):
        return []  # an alias of another page
    result = subprocess.run(["groff", "-k", "-Tutf8", "-man", "-rLL=100n", "-P-cbou"],
                            input=source, capture_output=True, env=env, timeout=60)
    if result.returncode != 0:
        return []
    return [result.stdout.decode("utf-8", errors="replace")]


def read_gztext(path):
    # One document per numbered chapter ("1. ...") so held-out data is whole chapters.
    text = gzip.open(path, "rt", encoding="utf-8", errors="replace").read()
    return [c for c in re.split(r"\n(?=\d+\. \S)", text) if c.strip()]


READERS = {"gztext": read_gztext, "html": read_html, "fortune": read_fortune, "man": read_man}


def package_files(package):
    out = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=True)
    return set(out.stdout.split("\n"))


def package_version(package):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True,
                         text=True)
    return out.stdout.strip() or None


def normalise(text):
    text = unicodedata.normalize("NFC", text).replace("\r", "")
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [re.sub(r"[ \t\u3000]+", " ", line).strip() for line in block.split("\n")]
        block = "\n".join(line for line in lines if line)
        if block:
            paragraphs.append(block)
    return paragraphs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--install", action="store_true", help="apt-get install the source packages")
    args = ap.parse_args()
    packages = sorted({s["package"] for s in SOURCES} | {"groff-base"})
    if args.install:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
                       check=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seen_paragraphs = set()
    splits = {"train": open(out / "train.jsonl", "w", encoding="utf-8"),
              "heldout": open(out / "heldout.jsonl", "w", encoding="utf-8")}
    report = []
    for source in SOURCES:
        version = package_version(source["package"])
        if version is None:
            sys.exit(f"package {source['package']} is not installed; run with --install")
        allowed = package_files(source["package"]) if source.get("package_files_only") else None
        paths = sorted(p for p in glob.glob(source["glob"]) if allowed is None or p in allowed)
        stats = {"documents": {"train": 0, "heldout": 0}, "characters": {"train": 0, "heldout": 0},
                 "bytes": {"train": 0, "heldout": 0}, "duplicate_paragraphs_dropped": 0}
        for path in paths:
            for index, raw in enumerate(READERS[source["kind"]](path)):
                kept = []
                for paragraph in normalise(raw):
                    key = hashlib.sha1(paragraph.encode()).digest()
                    if key in seen_paragraphs:
                        stats["duplicate_paragraphs_dropped"] += 1
                        continue
                    seen_paragraphs.add(key)
                    kept.append(paragraph)
                if not kept:
                    continue
                doc_id = f"{source['name']}:{os.path.basename(path)}:{index}"
                text = "\n\n".join(kept)
                bucket = int(hashlib.sha256(doc_id.encode()).hexdigest(), 16) % 100
                split = "heldout" if bucket < HELDOUT_PERCENT else "train"
                splits[split].write(json.dumps({"id": doc_id, "source": source["name"],
                                                "lang": source["lang"], "text": text},
                                               ensure_ascii=False) + "\n")
                stats["documents"][split] += 1
                stats["characters"][split] += len(text)
                stats["bytes"][split] += len(text.encode())
        report.append({"name": source["name"], "package": source["package"], "version": version,
                       "lang": source["lang"], "licence": source["licence"],
                       "copyright_file": f"/usr/share/doc/{source['package']}/copyright",
                       "files": len(paths), **stats})
        print(f"{source['name']:22} {len(paths):5} files  train {stats['bytes']['train']:>10} B"
              f"  heldout {stats['bytes']['heldout']:>9} B", flush=True)
    for f in splits.values():
        f.close()
    (out / "sources.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
