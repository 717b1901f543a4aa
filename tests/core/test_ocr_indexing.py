"""Scans in indexed folders: text files are findable first, and the scan by its content once OCR ends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import run_cli
from app.core.extract import ocr as ocr_module
from app.core.extract import ocr_queue
from app.core.extract.ocr import missing_engine
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
    from app.core.service import IndexService
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


def test_a_scan_is_found_by_its_name_while_its_ocr_waits(
        tmp_path: Path, library, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from app.core.extract.ocr import ocr_pages

    docs = tmp_path / "docs"
    docs.mkdir()
    scan = docs / "plumber-invoice.png"
    text_image(["Invoice 4471 garden furniture"]).save(scan)
    queued: list[Path] = []
    monkeypatch.setattr(ocr_queue, "schedule", lambda path, *a: queued.append(path))  # OCR is slow
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
