"""OCR speed and accuracy on rendered pages of known text, and reading a mixed folder with OCR
as a later stage versus inline.

    .venv/bin/python -m tests.benchmarks.ocr [--pages 3] [--images] [--files 16]

Prints pages per second, CPU seconds per page and word error rate (WER: word-level edit
distance over the number of reference words) for scanned Letter pages of English and of German
(with ä, ö, ü and ß), read by the bundled engine and, where it is installed with the language
packs, by Tesseract; with --images, a screenshot and a phone photo of a page; then reads a
mixed folder (text files, text-layer PDFs, scanned PDFs, images): how soon every text file is
readable when OCR waits for a later stage, and when it runs inline.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from app.core.extract.ocr.engines import EngineChoice

WORDS = ("invoice payment garden furniture meeting board quarterly report budget contract renewal "
         "tenant landlord insurance policy claim receipt delivery address customer account "
         "balance transfer schedule project deadline review summary approved pending March "
         "April 2024 4471 total amount due reference number signature").split()


GERMAN = ("Rechnung Zahlung fällig Straße Größe Müller Bürgschaft Gebühren Kündigung Vermieter "
          "Mietvertrag Schließfach Überweisung Frühjahr gemäß Anlagen Prüfung außerdem Schäden "
          "Öffnungszeiten Grundstück Gläubiger übermitteln Betrag März 2024 4471 Unterschrift "
          "Rückzahlung Erklärung Verjährung Bescheid Einspruch Frist Küche Maßnahme Äußerung "
          "Gemeinde Versicherung").split()


def page_lines(rng: random.Random, lines: int = 30, words: int = 9,
               vocabulary: tuple[str, ...] | list[str] = WORDS) -> list[str]:
    return [" ".join(rng.choice(vocabulary) for _ in range(words)).capitalize()
            for _ in range(lines)]


def scanned_page_pdf(path: Path, lines: list[str], point_size: float = 11.0, dpi: int = 200) -> None:
    """A US Letter page image at ``dpi`` with ``point_size`` text, saved as a one-page PDF."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = int(8.5 * dpi), int(11 * dpi)
    size = round(point_size * dpi / 72)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype("DejaVuSerif.ttf", size)
    for i, line in enumerate(lines):
        draw.text((dpi, dpi + i * size * 1.6), line, fill=0, font=font)
    image.save(path, "PDF", resolution=dpi)


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = reference.lower().split(), hypothesis.lower().split()
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1] / max(1, len(ref))


def worker_cpu_seconds() -> float:
    """CPU seconds the OCR worker and the Tesseract runs it waited for have used (Linux /proc);
    wall time misleads on a busy machine."""
    from app.core.extract.ocr import pages as ocr

    worker = ocr._slot.worker
    if worker is None:
        return 0.0
    try:
        fields = Path(f"/proc/{worker.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def bench_pages(tmp: Path, pages: int) -> None:
    """Each engine on pages of each language: WER, wall and CPU seconds per page."""
    from app.core.extract.ocr.engines import BUNDLED_ENGINE, EngineChoice, choose, forget_lookups
    from app.core.extract.ocr.pages import shutdown

    sets = {"English": ("eng", WORDS), "German": ("deu", GERMAN)}
    print(f"OCR of Letter pages of 11 pt text scanned at 300 dpi, {pages} per language; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  {'engine':<28} {'language':<8} {'WER':>6} {'s/page':>7} {'CPU s/page':>10}  per page")
    for language, (code, vocabulary) in sets.items():
        rng = random.Random(7)
        refs, files = [], []
        for i in range(pages):
            lines = page_lines(rng, vocabulary=vocabulary)
            refs.append("\n".join(lines))
            files.append(tmp / f"{code}{i}.pdf")
            scanned_page_pdf(files[-1], lines, dpi=300)
        forget_lookups()
        engines = [("bundled (RapidOCR)", EngineChoice("rapidocr", BUNDLED_ENGINE))]
        # A language the bundled engine reads is read by it in Sift; Tesseract is measured anyway.
        tesseract = choose([code, "deu"] if code == "eng" else [code])
        if tesseract.name == "tesseract":
            tesseract = replace(tesseract, languages=(code,))
            engines.append((f"Tesseract ({tesseract.key.split('/')[0]})", tesseract))
        else:
            print(f"  Tesseract for {language}: not measured. {tesseract.note}")
        for label, engine in engines:
            _one_engine(label, language, engine, refs, files)
            shutdown()
    print(f"  load average at the end {os.getloadavg()[0]:.1f}")


def _one_engine(label: str, language: str, engine: EngineChoice, refs: list[str], files: list[Path]) -> None:
    from app.core.extract.ocr.pages import ocr_pages

    ocr_pages(files[0], [1], engine=engine)  # start the worker and load the models outside the timing
    cpu = worker_cpu_seconds()
    start = time.perf_counter()
    texts = []
    for f in files:
        result = ocr_pages(f, [1], engine=engine)
        texts.append(result.sections[0].text if result.sections else "")
    seconds = (time.perf_counter() - start) / len(files)
    cpu = (worker_cpu_seconds() - cpu) / len(files)
    rates = [wer(r, t) for r, t in zip(refs, texts, strict=True)]
    print(f"  {label:<28} {language:<8} {sum(rates) / len(rates):>6.3f} {seconds:>7.1f} {cpu:>10.1f}  "
          f"{', '.join(f'{r:.3f}' for r in rates)}")


def screenshot(path: Path, lines: list[str]) -> None:
    """A 1920 × 1080 window of 15 px sans-serif text (a screenshot of a document or a chat)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (1920, 1080), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype("DejaVuSans.ttf", 15)
    draw.rectangle((0, 0, 1920, 40), fill=(60, 64, 72))  # a title bar
    for i, line in enumerate(lines):
        draw.text((120, 80 + i * 30), line, fill=(30, 30, 30), font=font)
    image.save(path)


def photo(path: Path, lines: list[str]) -> None:
    """A 12-megapixel phone photo of a printed page: grey paper, a slight tilt, blur, noise, JPEG."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    page = Image.new("L", (2550, 3300), 235)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype("DejaVuSerif.ttf", 46)
    for i, line in enumerate(lines):
        draw.text((300, 300 + i * 74), line, fill=20, font=font)
    page = page.rotate(1.5, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=120)
    canvas = Image.new("L", (3024, 4032), 90)  # the table around the page
    canvas.paste(page.resize((2700, 3494)), (162, 269))
    canvas = canvas.filter(ImageFilter.GaussianBlur(1.2))
    noisy = np.asarray(canvas, dtype=np.float32) + np.random.default_rng(5).normal(0, 6, (4032, 3024))
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).convert("RGB").save(path, quality=85)


def bench_images(tmp: Path) -> None:
    """A screenshot and a phone photo: WER and CPU seconds for each engine."""
    from app.core.extract.ocr.engines import BUNDLED_ENGINE, EngineChoice, choose
    from app.core.extract.ocr.pages import shutdown

    rng = random.Random(11)
    shot_lines, photo_lines = page_lines(rng, lines=30), page_lines(rng)
    screenshot(tmp / "screenshot.png", shot_lines)
    photo(tmp / "photo.jpg", photo_lines)
    engines = [("bundled (RapidOCR)", EngineChoice("rapidocr", BUNDLED_ENGINE))]
    tesseract = choose(["eng", "deu"])
    if tesseract.name == "tesseract":
        engines.append((f"Tesseract ({tesseract.key.split('/')[0]})", replace(tesseract, languages=("eng",))))
    print("A screenshot (1920 × 1080, 15 px text) and a phone photo of a page (3024 × 4032 JPEG):")
    for label, engine in engines:
        for kind, path, lines in (("screenshot", tmp / "screenshot.png", shot_lines),
                                  ("photo", tmp / "photo.jpg", photo_lines)):
            _one_engine(label, kind, engine, ["\n".join(lines)], [path])
        shutdown()


def mixed_folder(root: Path, files: int) -> None:
    from tests.pdf_samples import make_pdf, make_scanned_pdf, text_image

    rng = random.Random(3)
    root.mkdir()
    for i in range(files):
        kind = i % 5
        lines = page_lines(rng, lines=12)
        if kind == 0:
            (root / f"note{i}.txt").write_text("\n".join(lines), encoding="utf-8")
        elif kind == 1:
            make_pdf(root / f"typed{i}.pdf", ["\n".join(lines[:6]), "\n".join(lines[6:])])
        elif kind == 2:
            scanned_page_pdf(root / f"scan{i}.pdf", lines)
        elif kind == 3:
            text_image(lines[:5], width=1400).save(root / f"shot{i}.png")
        else:  # a paper with a figure page
            make_scanned_pdf(root / f"paper{i}.pdf", ["\n".join(lines[:6]), lines[6:9],
                                                      "\n".join(lines[9:])])


def bench_stages(tmp: Path, files: int) -> None:
    """Stage 1 (text, no OCR) over a mixed folder, then the OCR stage, against OCR inline."""
    from app.core.errors import SkipFile
    from app.core.extract import extract, extract_file, shutdown
    from app.core.extract.ocr.pages import ocr_pages

    folder = tmp / "mixed"
    mixed_folder(folder, files)
    # In the order they were made: text, text-layer PDF, scanned PDF, image, text, ...
    paths = sorted(folder.iterdir(), key=lambda p: int("".join(c for c in p.stem if c.isdigit())))
    text_files = [p for p in paths if p.name.startswith(("note", "typed", "paper"))]

    start = time.perf_counter()
    pending = {}
    for path in paths:
        result = extract_file(path)
        if result.ocr_pages:
            pending[path] = result.ocr_pages
    stage1 = time.perf_counter() - start
    start = time.perf_counter()
    pages = 0
    for path, wanted in pending.items():
        pages += len(ocr_pages(path, wanted).sections)
    stage2 = time.perf_counter() - start
    shutdown()

    start = time.perf_counter()
    done_text = None
    for n, path in enumerate(paths, start=1):
        with contextlib.suppress(SkipFile):
            extract(path, ocr=True, ocr_wait=True, ocr_cache=tmp / "inline-cache")
        if done_text is None and all(p in paths[:n] for p in text_files):
            done_text = time.perf_counter() - start
    inline = time.perf_counter() - start
    shutdown()

    from app.core.extract.ocr import queue as ocr_queue

    start = time.perf_counter()
    for path in paths:  # as Sift reads now: pages that need OCR go to the background
        with contextlib.suppress(SkipFile):
            extract(path, ocr=True, ocr_cache=tmp / "background-cache")
    background = time.perf_counter() - start
    queued = ocr_queue.waiting()
    ocr_queue.wait_idle(lambda: False)
    background_ocr = time.perf_counter() - start
    shutdown()
    print(f"Mixed folder of {files} files ({len(text_files)} text files or text-layer PDFs, some "
          f"with a figure page; {len(pending)} files with pages to OCR):")
    print(f"  OCR as a later stage: every text file readable after {stage1:.2f} s "
          f"({files / stage1:.1f} files/s); OCR of {pages} pages then took {stage2:.1f} s")
    print(f"  OCR inline: the last text file was read after {done_text or 0:.1f} s; "
          f"all done in {inline:.1f} s")
    print(f"  OCR in the background (extract(), as Sift reads): every text file and the text "
          f"pages of every paper readable after {background:.2f} s; the OCR of its {queued} "
          f"queued files ended after {background_ocr:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--files", type=int, default=0, help="also index a mixed folder of this many files")
    parser.add_argument("--images", action="store_true", help="also a screenshot and a phone photo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sift-ocr-bench-") as tmp:
        os.environ["SIFT_DATA_DIR"] = str(Path(tmp) / "data")  # nothing written outside tmp
        if args.pages:
            bench_pages(Path(tmp), args.pages)
        if args.images:
            bench_images(Path(tmp))
        if args.files:
            bench_stages(Path(tmp), args.files)


if __name__ == "__main__":
    main()
