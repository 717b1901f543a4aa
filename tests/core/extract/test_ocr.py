"""OCR of images and scanned PDF pages: text found, pages kept, cached, bounded in time."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.core.errors import Cancelled
from app.core.extract import extract, extract_file
from app.core.extract.ocr import pages as ocr_module
from app.core.extract.ocr import queue as ocr_queue
from app.core.extract.ocr.pages import missing_engine, ocr_pages
from tests.fake_tesseract import fake_tesseract, needs_posix_shell
from tests.pdf_samples import make_scanned_pdf, text_image

pytestmark = pytest.mark.skipif(missing_engine() is not None, reason="OCR engine not installed")

SCAN_LINES = ["Invoice 4471 for garden furniture", "Paid on 3 March 2024"]


@pytest.fixture(autouse=True, scope="module")
def _stop_worker():  # type: ignore[no-untyped-def]
    yield
    ocr_queue.shutdown()
    ocr_module.shutdown()


def _letters(text: str) -> str:
    # The recogniser sometimes drops a space between words; what it read must still be right.
    return "".join(text.lower().split())


def test_image_text_is_read(tmp_path: Path) -> None:
    path = tmp_path / "receipt.png"
    text_image(SCAN_LINES).save(path)
    [section] = extract(path, ocr_wait=True, ocr_cache=tmp_path / "cache")
    assert section.page is None
    first, second = section.text.split("\n")
    assert _letters(first) == _letters(SCAN_LINES[0])
    assert _letters(second) == _letters(SCAN_LINES[1])


def test_mixed_pdf_gets_ocr_only_for_pages_without_text(tmp_path: Path) -> None:
    path = make_scanned_pdf(tmp_path / "mixed.pdf", ["Typed cover letter about the garden",
                                                      SCAN_LINES, "Typed appendix"])
    stage1 = extract_file(path)
    assert [s.page for s in stage1.sections] == [1, 3]
    assert stage1.ocr_pages == (2,)
    assert [s.page for s in extract(path, ocr_wait=True, ocr_cache=tmp_path / "cache")] == [1, 2, 3]


def test_a_figure_page_is_read_in_the_background_and_joins_with_its_page_number(
        tmp_path: Path) -> None:
    from tests.polling import eventually

    path = make_scanned_pdf(tmp_path / "paper.pdf", ["Typed cover letter about the garden",
                                                      SCAN_LINES, "Typed appendix"])
    # The text pages at once: the scanned page does not hold up the file.
    assert [s.page for s in extract(path, ocr_cache=tmp_path / "cache")] == [1, 3]
    assert ocr_queue.waiting() == 1
    assert eventually(lambda: ocr_queue.waiting() == 0, timeout=240)
    sections = extract(path, ocr_cache=tmp_path / "cache")
    assert [s.page for s in sections] == [1, 2, 3]
    assert _letters(SCAN_LINES[0]) in _letters(sections[1].text)


def test_ocr_off_keeps_the_text_pages_and_names_the_reason(tmp_path: Path) -> None:
    from app.core.errors import SkipFile

    mixed = make_scanned_pdf(tmp_path / "mixed.pdf", ["Typed page", SCAN_LINES])
    assert [s.page for s in extract(mixed, ocr=False)] == [1]
    scanned = make_scanned_pdf(tmp_path / "scan.pdf", [SCAN_LINES])
    with pytest.raises(SkipFile, match="OCR is turned off"):
        extract(scanned, ocr=False)


def test_results_are_cached_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "note.png"
    text_image(["Remember the milk"]).save(path)
    first = ocr_pages(path, [1], cache_dir=tmp_path / "cache")
    copy = tmp_path / "renamed copy.png"
    copy.write_bytes(path.read_bytes())
    # Were OCR to run again it would now time out: the cached answer must come back instead.
    monkeypatch.setenv(ocr_module.TEST_DELAY_ENV, "5")
    second = ocr_pages(copy, [1], cache_dir=tmp_path / "cache", timeout_per_page=0.5)
    assert second.sections == first.sections and not second.failed
    assert "rememberthemilk" in _letters(second.sections[0].text)


def test_a_page_over_its_time_limit_is_skipped_and_the_next_works(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "slow.png"
    text_image(["Slow page"]).save(path)
    monkeypatch.setenv(ocr_module.TEST_DELAY_ENV, "5")
    result = ocr_pages(path, [1], timeout_per_page=0.5)
    assert result.sections == []
    assert result.reason == "OCR took longer than 0.5 s on page 1; skipped"
    monkeypatch.delenv(ocr_module.TEST_DELAY_ENV)
    assert _letters(ocr_pages(path, [1]).sections[0].text) == "slowpage"


def test_cancel_between_pages(tmp_path: Path) -> None:
    path = make_scanned_pdf(tmp_path / "scan.pdf", [SCAN_LINES])
    with pytest.raises(Cancelled):
        ocr_pages(path, [1], cancelled=lambda: True)


def test_missing_engine_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)
    assert "rapidocr-onnxruntime" in (missing_engine() or "")
    path = tmp_path / "a.png"
    text_image(["x"]).save(path)
    assert "pip install rapidocr-onnxruntime" in ocr_pages(path, [1]).reason


def test_scans_are_read_in_the_background_and_found_at_the_next_scan(tmp_path: Path) -> None:
    from app.core.errors import SkipFile
    from tests.polling import eventually

    path = tmp_path / "receipt.png"
    text_image(SCAN_LINES).save(path)
    with pytest.raises(SkipFile, match="waiting for OCR"):
        extract(path, ocr_cache=tmp_path / "cache")
    assert eventually(lambda: ocr_queue.waiting() == 0, timeout=240)
    [section] = extract(path, ocr_cache=tmp_path / "cache")
    assert _letters(SCAN_LINES[0]) in _letters(section.text)


def test_a_page_that_failed_is_not_retried_at_every_scan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "slow.png"
    text_image(["Slow page"]).save(path)
    monkeypatch.setenv(ocr_module.TEST_DELAY_ENV, "5")
    first = ocr_pages(path, [1], timeout_per_page=0.5, cache_dir=tmp_path / "cache")
    monkeypatch.delenv(ocr_module.TEST_DELAY_ENV)
    again = ocr_pages(path, [1], cache_dir=tmp_path / "cache")
    assert again.failed == first.failed and again.sections == []


def test_a_second_scan_is_read_before_a_long_one_ends(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    long_scan, short_scan = tmp_path / "book.pdf", tmp_path / "receipt.png"
    long_scan.write_bytes(b"a long scan")
    short_scan.write_bytes(b"a photo")
    read: list[tuple[str, int]] = []
    first_page = threading.Event()
    go_on = threading.Event()

    def read_pages(path: Path, pages: list[int], **_: object) -> None:
        read.append((path.name, *pages))
        if len(read) == 1:  # the long scan's first page is being read when the photo comes
            first_page.set()
            go_on.wait(10)

    monkeypatch.setattr(ocr_module, "ocr_pages", read_pages)
    told: list[str] = []
    both = threading.Event()

    def listener(path: Path) -> None:
        told.append(path.name)
        if len(told) == 2:
            both.set()

    ocr_queue.add_listener(listener)
    try:
        ocr_queue.schedule(long_scan, range(1, 31), tmp_path / "cache", 1.0)
        assert first_page.wait(10)
        ocr_queue.schedule(short_scan, [1], tmp_path / "cache", 1.0)
        go_on.set()
        assert both.wait(10)
    finally:
        ocr_queue.remove_listener(listener)
    assert told == ["receipt.png", "book.pdf"]  # the photo did not wait for 29 pages
    assert read[:3] == [("book.pdf", 1), ("receipt.png", 1), ("book.pdf", 2)]
    assert len(read) == 31


@needs_posix_shell
def test_ocr_stopped_midway_resumes_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.extract.ocr.engines import EngineChoice

    fake = EngineChoice("tesseract", "fake/eng", ("eng",),
                        str(fake_tesseract(tmp_path / "bin", ("eng",), "Zauberwort")))
    path = make_scanned_pdf(tmp_path / "scan.pdf", [SCAN_LINES, SCAN_LINES, SCAN_LINES])
    asked = []

    def cancelled() -> bool:  # Quit while the third page is next
        asked.append(1)
        return len(asked) == 3

    with pytest.raises(Cancelled):
        ocr_pages(path, [1, 2, 3], cache_dir=tmp_path / "cache", engine=fake, cancelled=cancelled)
    # Were a page read again it would now time out: the two pages read come from the cache.
    monkeypatch.setenv(ocr_module.TEST_DELAY_ENV, "5")
    again = ocr_pages(path, [1, 2, 3], cache_dir=tmp_path / "cache", engine=fake,
                      timeout_per_page=0.5)
    assert [s.page for s in again.sections] == [1, 2]
    assert list(again.failed) == [3]


def _benchmark_page(tmp_path: Path) -> tuple[Path, str]:
    """The first English page of tests/benchmarks/ocr.py: 30 lines of 11 pt text at 300 dpi."""
    import random

    from tests.benchmarks.ocr import page_lines, scanned_page_pdf

    lines = page_lines(random.Random(7))
    path = tmp_path / "page.pdf"
    scanned_page_pdf(path, lines, dpi=300)
    return path, "\n".join(lines)


def test_the_bundled_engine_reads_a_benchmark_page_word_for_word(tmp_path: Path) -> None:
    from app.core.extract.ocr.engines import BUNDLED_ENGINE, EngineChoice
    from tests.benchmarks.ocr import wer

    path, reference = _benchmark_page(tmp_path)
    [section] = ocr_pages(path, [1], engine=EngineChoice("rapidocr", BUNDLED_ENGINE)).sections
    assert wer(reference, section.text) <= 0.02


def test_tesseract_reads_a_benchmark_page_word_for_word(tmp_path: Path) -> None:
    from app.core.extract.ocr.engines import choose, forget_lookups
    from tests.benchmarks.ocr import wer

    forget_lookups()
    engine = choose(["eng", "deu"])  # a language the bundled engine lacks: Tesseract if it has both
    if engine.name != "tesseract":
        pytest.skip(f"Tesseract with English and German is not installed: {engine.note}")
    path, reference = _benchmark_page(tmp_path)
    [section] = ocr_pages(path, [1], engine=engine).sections
    assert wer(reference, section.text) <= 0.02


def test_a_file_is_not_queued_again_and_again_while_ocr_cannot_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.polling import eventually

    scan = tmp_path / "scan.png"
    scan.write_bytes(b"a scan")
    asked: list[int] = []

    def cannot_run(path: Path, pages: list[int], **_: object) -> ocr_module.OcrResult:
        asked.extend(pages)  # as when the engine's system library is missing: nothing cached
        return ocr_module.OcrResult(failed=dict.fromkeys(pages, "OCR needs the system library"))

    monkeypatch.setattr(ocr_module, "ocr_pages", cannot_run)
    told: list[Path] = []
    ocr_queue.add_listener(told.append)
    try:
        ocr_queue.schedule(scan, [1, 2, 3], tmp_path / "cache", 1.0)
        assert eventually(lambda: ocr_queue.waiting() == 0, timeout=10)
    finally:
        ocr_queue.remove_listener(told.append)
    # Its next look (a rescan, a restart) asks again; telling now would only re-queue it at once.
    assert told == [] and asked == [1]
