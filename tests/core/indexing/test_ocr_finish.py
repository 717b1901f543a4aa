"""`sift index` ends with every scan findable by its words, however early its OCR ended."""

from __future__ import annotations

import json
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


def test_an_ocr_that_ends_before_the_first_pass_is_still_indexed(
        data_dir: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    from app.core.library import Library

    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(20):
        (docs / f"note{i}.txt").write_text(f"Meeting notes {i} about the boiler valve.",
                                           encoding="utf-8")
    text_image(["Invoice 4471 garden furniture"]).save(docs / "receipt.png")
    index = Library.index

    def slow_text_files(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        # As with a hundred notes: the image's OCR ends while the text files are still read,
        # so when the pass ends no file waits in the OCR queue any more.
        report = index(self, *args, **kwargs)
        ocr_queue.wait_idle(lambda: False)
        return report

    monkeypatch.setattr(Library, "index", slow_text_files)
    assert run_cli(["--data-dir", str(data_dir), "index", str(docs)]) == 0
    capsys.readouterr()
    assert run_cli(["--data-dir", str(data_dir), "search", "--json", "--here", "furniture"]) == 0
    found = json.loads(capsys.readouterr().out)["results"]
    assert [r["path"] for r in found][:1] == [str(docs / "receipt.png")]
    assert run_cli(["--data-dir", str(data_dir), "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stages"]["meaning"] == 21  # none left at 'ocr'
