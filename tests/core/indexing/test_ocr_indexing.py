"""Scans in indexed folders: text files are findable first, and the scan by its content once OCR ends."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from app.cli import run_cli
from app.core.extract.ocr import pages as ocr_module
from app.core.extract.ocr import queue as ocr_queue
from app.core.extract.ocr.pages import missing_engine
from tests.pdf_samples import text_image

pytestmark = pytest.mark.skipif(missing_engine() is not None, reason="OCR engine not installed")


@pytest.fixture(autouse=True)
def _stop_ocr():  # type: ignore[no-untyped-def]
    yield
    ocr_queue.shutdown()
    ocr_module.shutdown()


def test_sift_index_ends_with_the_scan_findable_by_its_words(
        capsys, tmp_path: Path, tiny_model: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.json").write_text(json.dumps({
        "version": 1, "model": str(tiny_model), "backend": "torch-float32", "rerank": False,
    }), encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.txt").write_text("Meeting notes about the boiler valve.", encoding="utf-8")
    text_image(["Invoice 4471 garden furniture"]).save(docs / "receipt.png")

    assert run_cli(["--data-dir", str(data), "index", str(docs)]) == 0
    err = capsys.readouterr().err
    assert "with OCR" in err  # the first pass left the scan to the background, then waited
    assert run_cli(["--data-dir", str(data), "search", "--json", "--here", "furniture"]) == 0
    found = json.loads(capsys.readouterr().out)["results"]
    assert [r["path"] for r in found][:1] == [str(docs / "receipt.png")]
    assert run_cli(["--data-dir", str(data), "skipped"]) in (0, 1)
    assert "receipt.png" not in capsys.readouterr().out


def test_a_watched_folder_finds_the_scan_by_its_words_when_ocr_ends(
        tmp_path: Path, library) -> None:  # type: ignore[no-untyped-def]
    from app.core.service.index_service import IndexService
    from tests.polling import eventually

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.txt").write_text("Meeting notes about the boiler valve.", encoding="utf-8")
    text_image(["Invoice 4471 garden furniture"]).save(docs / "receipt.png")
    library.add_folders([str(docs)])
    svc = IndexService(library, reconcile_interval=3600)  # no periodic rescan to lean on
    svc.start()
    try:
        assert eventually(lambda: [h.path for h in svc.search("boiler").hits][:1]
                          == [str(docs / "note.txt")], timeout=60)
        assert eventually(lambda: [h.path for h in svc.search("furniture").hits][:1]
                          == [str(docs / "receipt.png")], timeout=240)
        assert all(s.path != str(docs / "receipt.png") for s in svc.skipped())
    finally:
        assert svc.shutdown()


def test_a_watched_folder_adds_a_figure_page_to_its_paper_when_ocr_ends(
        tmp_path: Path, library) -> None:  # type: ignore[no-untyped-def]
    from app.core.service.index_service import IndexService
    from tests.pdf_samples import make_scanned_pdf
    from tests.polling import eventually

    docs = tmp_path / "docs"
    docs.mkdir()
    paper = make_scanned_pdf(docs / "paper.pdf", ["Typed abstract about boiler valves",
                                                  ["Invoice 4471 garden furniture"]])
    library.add_folders([str(docs)])
    svc = IndexService(library, reconcile_interval=3600)  # no periodic rescan to lean on
    svc.start()
    try:
        def figure_page_found() -> bool:
            return any(h.path == str(paper) and any(
                p.page == 2 and "furniture" in p.text.lower() for p in h.passages)
                for h in svc.search("furniture").hits)

        assert eventually(figure_page_found, timeout=240)
        assert str(paper) in [h.path for h in svc.search("boiler valves").hits]
    finally:
        assert svc.shutdown()


def test_a_scan_is_found_by_its_name_while_its_ocr_waits(
        tmp_path: Path, library, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from app.core.extract.ocr.pages import ocr_pages

    docs = tmp_path / "docs"
    docs.mkdir()
    scan = docs / "plumber-invoice.png"
    text_image(["Invoice 4471 garden furniture"]).save(scan)
    queued: list[Path] = []
    monkeypatch.setattr(ocr_queue, "schedule", lambda path, *a, **k: queued.append(path))  # OCR is slow
    library.add_folders([str(docs)])
    library.index()
    assert queued == [scan]
    hits = library.search("plumber invoice").hits
    assert [h.path for h in hits] == [str(scan)]  # by its name, at once
    assert hits[0].passages[0].location == "waiting for OCR"
    assert library.search("furniture").hits == ()  # its text is not known yet
    assert all(s.path != str(scan) for s in library.store.catalog.skipped())

    ocr_pages(scan, [1], cache_dir=library.paths.cache_dir / "ocr")  # the background OCR ends
    library.indexer().update_paths([str(scan)], list(library.settings.folders))
    assert [h.path for h in library.search("furniture").hits] == [str(scan)]
    assert library.search("furniture").hits[0].passages[0].location != "waiting for OCR"


def test_text_files_are_findable_by_words_while_a_long_scan_is_read(
        tmp_path: Path, library, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from tests.pdf_samples import make_pdf, make_scanned_pdf

    docs = tmp_path / "docs"
    docs.mkdir()
    make_scanned_pdf(docs / "a-scanned-book.pdf", [["Chapter one"]] * 3)
    make_scanned_pdf(docs / "paper.pdf", ["Typed abstract about boiler valves",
                                          ["Figure 1 pressure curve"], "Typed results"])
    make_pdf(docs / "typed.pdf", ["Minutes of the tenant meeting"])
    (docs / "note.txt").write_text("Notes about the garden shed.", encoding="utf-8")
    monkeypatch.setenv(ocr_module.TEST_DELAY_ENV, "30")  # OCR takes 30 s a page
    library.add_folders([str(docs)])
    library.index()
    # The scan's pages and the paper's figure page are still being read...
    assert ocr_queue.waiting() == 2
    # ...and nothing waited for them: every text is findable by its words, the scan by its name.
    for words, path in (("garden shed", "note.txt"), ("tenant meeting", "typed.pdf"),
                        ("boiler valves", "paper.pdf"), ("typed results", "paper.pdf")):
        assert _stored_text_with(library, words), words
        assert str(docs / path) in [h.path for h in library.search(words).hits], words
    assert str(docs / "a-scanned-book.pdf") in [h.path for h in library.search("scanned book").hits]
    assert not _stored_text_with(library, "pressure")


def test_a_figure_page_joins_its_paper_with_its_page_number(
        tmp_path: Path, library, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from app.core.extract.ocr.pages import ocr_pages
    from tests.pdf_samples import make_scanned_pdf

    docs = tmp_path / "docs"
    docs.mkdir()
    paper = make_scanned_pdf(docs / "paper.pdf", ["Typed abstract about boiler valves",
                                                  ["Invoice 4471 garden furniture"],
                                                  "Typed results"])
    queued: list[tuple[Path, tuple[int, ...]]] = []
    monkeypatch.setattr(ocr_queue, "schedule",
                        lambda path, pages, *a, **k: queued.append((path, tuple(pages))))
    folders = [str(docs)]
    library.add_folders(folders)
    library.index()
    cat = library.store.catalog
    assert queued == [(paper, (2,))]
    assert [h.path for h in library.search("boiler valves").hits] == [str(paper)]
    assert not _stored_text_with(library, "furniture")
    assert str(paper) in cat.retry_paths() and cat.skipped() == []
    library.index()  # Sift quit and started again before the OCR ended: the page is asked again
    assert queued == [(paper, (2,)), (paper, (2,))]

    ocr_pages(paper, [2], cache_dir=library.paths.cache_dir / "ocr")  # what the queue does
    library.indexer().update_paths([str(paper)], folders)  # what its listener asks for
    hit = library.search("furniture").hits[0]
    assert hit.path == str(paper) and hit.passages[0].page == 2
    assert _stored_text_with(library, "furniture") == [2]
    assert [h.path for h in library.search("boiler valves").hits] == [str(paper)]
    assert str(paper) not in cat.retry_paths()
    library.index()
    assert len(queued) == 2  # read: not asked again


def _stored_text_with(library, word: str) -> list[int | None]:  # type: ignore[no-untyped-def]
    """The pages of the stored passages holding ``word`` (the meaning search finds anything)."""
    rows = library.store.catalog.conn.execute("SELECT text, page FROM chunks")
    return [page for text, page in rows if word in text.lower()]


@dataclass(frozen=True)
class QueuedScan:
    """A folder holding one scan, whose OCR is queued (recorded in ``queued``), never run."""

    scan: Path
    folders: list[str]
    queued: list[Path]


@pytest.fixture
def queued_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> QueuedScan:
    docs = tmp_path / "docs"
    docs.mkdir()
    scan = docs / "receipt.png"
    text_image(["Invoice 4471 garden furniture"]).save(scan)
    queued: list[Path] = []
    # The test runs the OCR itself, when it chooses: the background queue only records the scan.
    monkeypatch.setattr(ocr_queue, "schedule", lambda path, *a, **k: queued.append(path))
    return QueuedScan(scan, [str(docs)], queued)


@pytest.mark.skipif(sys.platform == "win32", reason="the Tesseract stand-in is a shell script")
def test_choosing_other_languages_reads_scans_again(
        tmp_path: Path, library, queued_scan: QueuedScan,
        monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from app.core.extract.ocr.engines import TESSERACT_ENV, forget_lookups
    from app.core.extract.ocr.languages import apply_ocr_languages
    from app.core.extract.ocr.pages import ocr_pages
    from app.core.storage.catalog import STAGE_OCR
    from tests.fake_tesseract import fake_tesseract

    scan, folders, queued = queued_scan.scan, queued_scan.folders, queued_scan.queued
    cache = library.paths.cache_dir / "ocr"
    library.add_folders(folders)
    library.index()
    ocr_pages(scan, [1], cache_dir=cache)  # the bundled engine, in the background
    library.indexer().update_paths([str(scan)], folders)
    assert [h.path for h in library.search("furniture").hits] == [str(scan)]

    # German chosen, Tesseract with German installed: the scan is read again, by Tesseract.
    monkeypatch.setenv(TESSERACT_ENV, str(fake_tesseract(tmp_path / "bin", ("deu", "eng"),
                                                         "Zauberwort Größe Straße")))
    forget_lookups()
    library.update_settings(replace(library.settings, ocr_languages=("deu",)))
    library.index()
    assert queued == [scan, scan]
    ocr_pages(scan, [1], cache_dir=cache)
    library.indexer().update_paths([str(scan)], folders)
    assert [h.path for h in library.search("Zauberwort").hits] == [str(scan)]
    cat = library.store.catalog
    texts = [r[0] for r in cat.conn.execute("SELECT text FROM chunks")]
    assert any("Zauberwort Größe" in t for t in texts)
    assert not any("furniture" in t for t in texts)  # the old reading is gone
    assert str(scan) not in cat.retry_paths()
    # Marked once per change, not at every look.
    assert apply_ocr_languages(cat, cache, ("deu",)) == 0
    assert all(s.path != str(scan) for s in cat.skipped())
    assert STAGE_OCR not in {r[0] for r in cat.conn.execute("SELECT stage FROM files")}


def test_turning_ocr_on_reads_the_scans_skipped_while_it_was_off(
        library, queued_scan: QueuedScan) -> None:  # type: ignore[no-untyped-def]
    from app.core.extract.ocr.pages import ocr_pages

    scan, folders, queued = queued_scan.scan, queued_scan.folders, queued_scan.queued
    library.update_settings(replace(library.settings, ocr=False))
    library.add_folders(folders)
    library.index()
    cat = library.store.catalog
    assert [s.reason for s in cat.skipped() if s.path == str(scan)] == [
        "an image: its text needs OCR, which is turned off"]
    library.index()
    assert queued == []  # unchanged and OCR still off: not read again

    library.update_settings(replace(library.settings, ocr=True))
    library.index()
    assert queued == [scan]
    ocr_pages(scan, [1], cache_dir=library.paths.cache_dir / "ocr")
    library.indexer().update_paths([str(scan)], folders)
    assert [h.path for h in library.search("furniture").hits] == [str(scan)]
    assert all(s.path != str(scan) for s in cat.skipped())


def _mail_with(path: Path, name: str, data: bytes) -> None:
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = "Receipt for the garden chairs"
    message["From"] = "shop@example.org"
    message.set_content("Thank you for your order, the receipt is attached.")
    message.add_attachment(data, maintype="image", subtype="png", filename=name)
    path.write_bytes(bytes(message))


def test_a_scanned_attachment_is_read_by_ocr_and_found_as_its_own_result(
        tmp_path: Path, library, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import io

    from app.core.extract.ocr.pages import ocr_pages

    docs = tmp_path / "docs"
    docs.mkdir()
    buffer = io.BytesIO()
    text_image(["Invoice 4471 garden furniture"]).save(buffer, format="PNG")
    mail = docs / "order.eml"
    _mail_with(mail, "receipt.png", buffer.getvalue())
    queued: list[tuple[Path, Path | None]] = []
    monkeypatch.setattr(ocr_queue, "schedule",
                        lambda path, *a, notify=None, **k: queued.append((path, notify)))
    folders = [str(docs)]
    library.add_folders(folders)
    library.index()
    cat = library.store.catalog
    # Queued for the background: the mail is found at once, the attachment waits with a reason.
    [(spool, notify)] = queued
    assert notify == mail and spool.read_bytes() == buffer.getvalue()
    assert [h.path for h in library.search("receipt attached").hits] == [str(mail)]
    assert [s.reason.split(":")[0] for s in cat.skipped()] == ["attachment “receipt.png”"]
    assert str(mail) in cat.retry_paths()

    ocr_pages(spool, [1], cache_dir=library.paths.cache_dir / "ocr")  # what the queue does
    library.indexer().update_paths([str(notify)], folders)  # what its listener asks for
    hit = library.search("furniture").hits[0]
    assert (hit.path, hit.attachment) == (str(mail), "receipt.png")
    assert "garden furniture" in hit.passages[0].text
    assert cat.skipped() == [] and str(mail) not in cat.retry_paths()


def test_with_ocr_off_a_scanned_attachment_is_listed_with_the_reason(
        tmp_path: Path, library) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    import io

    buffer = io.BytesIO()
    text_image(["Invoice 4471"]).save(buffer, format="PNG")
    _mail_with(docs / "order.eml", "receipt.png", buffer.getvalue())
    library.update_settings(replace(library.settings, ocr=False))
    library.index([str(docs)])
    [skipped] = library.store.catalog.skipped()
    assert skipped.reason == "attachment “receipt.png”: an image: its text needs OCR, which is turned off"


def test_the_queue_tells_of_the_mail_and_removes_the_spooled_attachment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    spool = tmp_path / "spool.png"
    spool.write_bytes(b"png")
    told: list[Path] = []
    done = threading.Event()
    monkeypatch.setattr(ocr_module, "ocr_pages", lambda *a, **k: None)

    def listener(path: Path) -> None:
        told.append(path)
        done.set()

    ocr_queue.add_listener(listener)
    try:
        ocr_queue.schedule(spool, [1], tmp_path, 1.0, notify=tmp_path / "order.eml",
                           remove_after=True)
        assert done.wait(10)
    finally:
        ocr_queue.remove_listener(listener)
    assert told == [tmp_path / "order.eml"] and not spool.exists()
