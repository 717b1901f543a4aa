"""PDF text extractors against pdftotext (poppler) on a folder of real PDFs.

    .venv/bin/python -m tests.benchmarks.pdf_text FOLDER [--max-pages 20] [--limit 0]
        [--fonttools DIR]

Each candidate reads every PDF under FOLDER (the first --max-pages pages of each) in a child
process of its own; its text then goes through Sift's hygiene (clean.py), as the index would
see it, and so does pdftotext's. Printed per candidate: word agreement with pdftotext (F1 over
the bag of words), run-together words per 10k words (a word pdftotext does not have that splits
into two or more of its words), split words per 10k ("varia bles"), bad characters per 10k
characters (control, private-use, unassigned, U+FFFD/U+FFFE) before and after the hygiene,
pages the garbage check sends to OCR, and seconds per 100 pages. pypdf runs without fontTools
and, where --fonttools names a folder holding it (``pip install --target DIR fonttools``) or the
venv has it, with fontTools. Needs poppler's pdftotext on PATH.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import re
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_WORD = re.compile(r"[^\W_]+")
_DOC_TIMEOUT_S = 120
_ALLOWED_CONTROLS = frozenset("\n\t\f\r")


def bad_chars(text: str) -> int:
    """Characters no reader can use: controls, private use, unassigned, replacement marks."""
    return sum(1 for c in text if c in "\ufffd\ufffe" or (
        unicodedata.category(c) in ("Cc", "Co", "Cn", "Cs") and c not in _ALLOWED_CONTROLS))


def words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(unicodedata.normalize("NFKC", text))]


def _splits(word: str, vocab: set[str], min_part: int = 2) -> bool:
    """Whether word is two or more words of vocab run together."""
    n = len(word)
    parts = [0] * (n + 1)  # fewest parts that make word[:i]; 0 = impossible
    for i in range(min_part, n + 1):
        for j in range(0, i - min_part + 1):
            if (j == 0 or parts[j]) and word[j:i] in vocab:
                candidate = parts[j] + 1
                if not parts[i] or candidate < parts[i]:
                    parts[i] = candidate
    return parts[n] >= 2


@dataclass
class Score:
    pages: int = 0
    seconds: float = 0.0
    common: int = 0
    ref_words: int = 0
    cand_words: int = 0
    run_together: int = 0
    split: int = 0
    chars: int = 0
    bad_raw: int = 0
    bad_clean: int = 0
    garbage_pages: int = 0
    failed: list[str] = field(default_factory=list)


def compare(score: Score, ref: str, raw: str, clean: str) -> None:
    ref_words = words(ref)
    cand = words(clean)
    ref_count, cand_count = Counter(ref_words), Counter(cand)
    vocab = set(ref_count)
    score.common += sum((ref_count & cand_count).values())
    score.ref_words += len(ref_words)
    score.cand_words += len(cand)
    for word, count in cand_count.items():
        if word not in vocab and len(word) >= 6 and word.isalpha() and _splits(word, vocab):
            score.run_together += count
    for a, b in itertools.pairwise(cand):
        if a not in vocab and a + b in vocab:
            score.split += 1
    score.chars += len(clean)
    score.bad_raw += bad_chars(raw)
    score.bad_clean += bad_chars(clean)


# --- candidates, run in child processes -------------------------------------------------------

def _pypdf_pages(path: str, max_pages: int) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(path)
    if reader.is_encrypted:
        reader.decrypt("")
    return [page.extract_text() or "" for page in reader.pages[:max_pages]]


def _pdfium_pages(path: str, max_pages: int) -> list[str]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path)
    try:
        out = []
        for i in range(min(len(doc), max_pages)):
            page = doc[i]
            textpage = page.get_textpage()
            out.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return out
    finally:
        doc.close()


def _sift_pages(path: str, max_pages: int) -> list[str | None]:
    """What Sift ships: pdf.py's reader; None for a page left out as garbage (OCR reads it)."""
    from app.core.extract.pdf import read_pdf_pages

    result = read_pdf_pages(path, max_pages=max_pages)
    if isinstance(result, str):
        raise RuntimeError(result)
    found, _scanned, garbage = result
    by_page: dict[int, str | None] = {**dict(found), **{n: None for n, _reason in garbage}}
    return [by_page.get(n, "") for n in range(1, min(max_pages, _page_count(path)) + 1)]


def _page_count(path: str) -> int:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path)
    try:
        return len(doc)
    finally:
        doc.close()


CANDIDATES: dict[str, Callable[[str, int], list[str] | list[str | None]]] = {
    "pypdf": _pypdf_pages,
    "pypdf + fontTools": _pypdf_pages,
    "pypdfium2": _pdfium_pages,
    "sift (shipped)": _sift_pages,
}


def _alarm(_signum: int, _frame: object) -> None:
    raise TimeoutError(f"more than {_DOC_TIMEOUT_S} s")


def _run_candidate(name: str, files: list[str], max_pages: int, fonttools: str | None,
                   out: multiprocessing.Queue) -> None:
    import logging

    logging.disable(logging.CRITICAL)
    if name == "pypdf":
        sys.modules["fontTools"] = None  # type: ignore[assignment]  # as installed today
    elif fonttools:
        sys.path.insert(0, fonttools)
    signal.signal(signal.SIGALRM, _alarm)
    read = CANDIDATES[name]
    for path in files:
        start = time.perf_counter()
        signal.alarm(_DOC_TIMEOUT_S)
        try:
            pages: list[str] | list[str | None] | str = read(path, max_pages)
        except Exception as exc:  # a candidate failing on a file is a result
            pages = f"{type(exc).__name__}: {exc}"[:120]
        finally:
            signal.alarm(0)
        out.put((path, pages, time.perf_counter() - start))
    out.put(None)


def _reference(path: str, max_pages: int) -> tuple[list[str], float]:
    start = time.perf_counter()
    done = subprocess.run(["pdftotext", "-q", "-enc", "UTF-8", "-l", str(max_pages), path, "-"],
                          capture_output=True, timeout=_DOC_TIMEOUT_S, check=False)
    pages = done.stdout.decode("utf-8", "replace").split("\f")  # each page ends with one
    return pages[:-1][:max_pages], time.perf_counter() - start


def _has_fonttools(fonttools: str | None) -> bool:
    code = "import sys; sys.path.insert(0, sys.argv[1]) if sys.argv[1] else None; import fontTools"
    return subprocess.run([sys.executable, "-c", code, fonttools or ""],
                          capture_output=True, check=False).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--max-pages", type=int, default=20, help="pages read per PDF")
    parser.add_argument("--limit", type=int, default=0, help="read only this many PDFs (0: all)")
    parser.add_argument("--fonttools", help="a folder where fontTools can be imported from")
    parser.add_argument("--only", action="append", help="run only these candidates")
    args = parser.parse_args()
    if shutil.which("pdftotext") is None:
        sys.exit("pdftotext (poppler-utils) is needed as the reference")
    from app.core.extract.clean import clean_text
    from app.core.extract.garbage import garbage_reason

    files = sorted(str(p) for p in args.folder.rglob("*") if p.suffix.lower() == ".pdf")
    if args.limit:
        files = files[: args.limit]
    reference: dict[str, list[str]] = {}
    ref_score = Score()
    for path in files:
        pages, seconds = _reference(path, args.max_pages)
        reference[path] = [clean_text(p, "pdf") for p in pages]
        ref_score.seconds += seconds
        ref_score.pages += len(pages)
        for raw, clean in zip(pages, reference[path], strict=True):
            compare(ref_score, clean, raw, clean)
    names = [n for n in CANDIDATES if not args.only or n in args.only]
    if not _has_fonttools(args.fonttools):
        names = [n for n in names if n != "pypdf + fontTools"]
        print("fontTools not found (--fonttools DIR): pypdf + fontTools is left out")
    scores: dict[str, Score] = {"pdftotext": ref_score}
    context = multiprocessing.get_context("spawn")
    for name in names:
        score = scores[name] = Score()
        queue: multiprocessing.Queue = context.Queue()
        child = context.Process(target=_run_candidate,
                                args=(name, files, args.max_pages, args.fonttools, queue))
        child.start()
        while (item := queue.get()) is not None:
            path, pages, seconds = item
            if isinstance(pages, str):
                score.failed.append(f"{Path(path).name}: {pages}")
                continue
            score.seconds += seconds
            ref_pages = reference[path]
            score.pages += len(pages)
            for i, page in enumerate(pages):
                raw = page or ""
                clean = clean_text(raw.replace("\r\n", "\n"), "pdf")
                if page is None or garbage_reason(raw):
                    score.garbage_pages += 1
                compare(score, ref_pages[i] if i < len(ref_pages) else "", raw, clean)
        child.join()
    total_pages = max((s.pages for s in scores.values()), default=0)
    print(f"{len(files)} PDFs, {total_pages} pages (at most {args.max_pages} per PDF)\n")
    header = (f"{'extractor':<18} {'agree':>6} {'run-tog':>8} {'split':>6} {'bad raw':>8} "
              f"{'bad':>6} {'garbage':>7} {'s/100p':>7} {'failed':>6}")
    print(header)
    print("-" * len(header))
    for name, s in scores.items():
        agree = 2 * s.common / max(s.ref_words + s.cand_words, 1)
        per_10k_words = 10_000 / max(s.cand_words, 1)
        per_10k_chars = 10_000 / max(s.chars, 1)
        print(f"{name:<18} {agree:>6.1%} {s.run_together * per_10k_words:>8.1f} "
              f"{s.split * per_10k_words:>6.1f} {s.bad_raw * per_10k_chars:>8.2f} "
              f"{s.bad_clean * per_10k_chars:>6.2f} {s.garbage_pages:>7} "
              f"{100 * s.seconds / max(s.pages, 1):>7.2f} {len(s.failed):>6}")
    print("\nagree: F1 of the bag of words against pdftotext; run-tog, split: per 10k words; "
          "bad raw / bad: per 10k characters before / after the hygiene; garbage: pages the "
          "garbage check sends to OCR (the shipped reader leaves their text out)")
    for name, s in scores.items():
        for line in s.failed[:5]:
            print(f"  {name} failed on {line}")


if __name__ == "__main__":
    main()
