"""What an edit or a copy costs to index: passages embedded again, and seconds, with the real model.

    .venv/bin/python -m tests.benchmarks.reuse [--docs 300] [--pages 40] [--backend auto]

A long text (one paragraph per SciFact abstract) and a PDF (one abstract per page) are indexed;
then a paragraph is appended, one in the middle is rewritten, one PDF page is rewritten, a second
version of the text (one paragraph changed) is saved beside it, and the folder is copied. Each
step prints what was embedded and what kept its embedding. Before passages kept their
embeddings, each edit embedded the whole file again (as many passages, about as long as its
share of the first index), and a new version or a copy was embedded in full.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from app.core.host.paths import resolve_paths
from app.core.indexing.scanner import normalize_folder
from app.core.library import Library
from app.core.measure.bench import machine_info
from app.core.settings import DEFAULT_MODEL, Settings
from tests.pdf_samples import make_pdf

SCIFACT = Path(__file__).resolve().parents[3] / "shared" / "data" / "ir" / "scifact" / "corpus.jsonl"


def abstracts(n: int) -> list[str]:
    out = []
    with open(SCIFACT, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            out.append(f"{d['title']}. {d['text']}".strip())
            if len(out) == n:
                break
    return out


def pdf_safe(text: str, width: int = 90) -> str:
    """Lines a hand-written PDF can hold (cp1252, short lines)."""
    text = text.encode("cp1252", "replace").decode("cp1252")
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return "\n".join([*lines, line])


def touch(path: Path) -> None:
    os.utime(path, ns=(1, time.time_ns() + 10**9))


def step(lib: Library, label: str, folder: Path) -> dict[str, float | int | str]:
    started = time.perf_counter()
    r = lib.index([str(folder)])
    seconds = time.perf_counter() - started
    row = {"step": label, "seconds": round(seconds, 2), "embedded": r.embedded, "kept": r.reused,
           "added": r.added, "updated": r.updated}
    print(f"{label:<38} {seconds:7.2f} s  embedded {r.embedded:5d}  kept {r.reused:5d}", flush=True)
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--docs", type=int, default=300)
    p.add_argument("--pages", type=int, default=40)
    p.add_argument("--backend", default="auto")
    p.add_argument("--json", help="also write the rows here")
    args = p.parse_args()
    texts = abstracts(args.docs + args.pages + 2)
    work = Path(tempfile.mkdtemp(prefix="sift-reuse-"))
    try:
        docs = work / "docs"
        docs.mkdir()
        body = texts[:args.docs]
        (docs / "thesis.txt").write_text("\n\n".join(body) + "\n", encoding="utf-8")
        pages = [pdf_safe(t) for t in texts[args.docs:args.docs + args.pages]]
        make_pdf(docs / "report.pdf", pages)
        lib = Library(resolve_paths(work / "data"),
                      Settings(model=DEFAULT_MODEL, backend=args.backend, rerank=False))
        lib.add_folders([normalize_folder(docs)])
        info = lib.embedder.load()
        print(f"{machine_info()}\nbackend: {info.backend}", flush=True)
        rows = [step(lib, "first index (both files)", docs)]

        (docs / "thesis.txt").write_text("\n\n".join([*body, texts[-1]]) + "\n", encoding="utf-8")
        touch(docs / "thesis.txt")
        rows.append(step(lib, "append a paragraph to the text", docs))

        middle = len(body) // 2
        body = [*body[:middle], texts[-2], *body[middle + 1:]]
        (docs / "thesis.txt").write_text("\n\n".join([*body, texts[-1]]) + "\n", encoding="utf-8")
        touch(docs / "thesis.txt")
        rows.append(step(lib, "rewrite a paragraph in the middle", docs))

        pages[len(pages) // 2] = pdf_safe(texts[-2])
        make_pdf(docs / "report.pdf", pages)
        touch(docs / "report.pdf")
        rows.append(step(lib, "rewrite one page of the PDF", docs))

        body[3] = texts[-1]
        (docs / "thesis v2.txt").write_text("\n\n".join(body) + "\n", encoding="utf-8")
        rows.append(step(lib, "save a second version beside it", docs))

        backup = work / "backup"
        shutil.copytree(docs, backup)
        lib.add_folders([normalize_folder(backup)])
        rows.append(step(lib, "copy the folder (all three files)", backup))
        lib.close()
        if args.json:
            Path(args.json).write_text(json.dumps({"machine": machine_info(), "rows": rows},
                                                  indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
