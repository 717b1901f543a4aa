"""OCR languages: the engine that reads each choice, what Sift says when Tesseract or a language
pack is missing, Tesseract in the worker (time limit, cache by languages), and real Tesseract
on German text where it is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.extract.ocr import pages as ocr_module
from app.core.extract.ocr.engines import (
    BUNDLED_ENGINE,
    TESSERACT_ENV,
    choose,
    forget_lookups,
    normalize_languages,
)
from app.core.extract.ocr.pages import cached_result, missing_engine, ocr_pages, use_languages
from tests.fake_tesseract import fake_tesseract, needs_posix_shell
from tests.pdf_samples import text_image

GERMAN = ["Größe der Straße", "Müller zahlt die Gebühren"]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    forget_lookups()
    yield
    use_languages(())
    forget_lookups()
    ocr_module.shutdown()


def _apt() -> bool:
    return sys.platform.startswith("linux") and bool(shutil.which("apt-get") or shutil.which("apt"))


def test_codes_are_read_as_people_type_them() -> None:
    assert normalize_languages(["de, eng+RU", "deu"]) == ("deu", "eng", "rus")
    assert normalize_languages([""]) == ()
    assert normalize_languages(["chi_sim ja"]) == ("chi_sim", "jpn")


def test_english_and_chinese_stay_with_the_bundled_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TESSERACT_ENV, "/no/such/tesseract")
    for languages in ((), ("eng",), ("en", "zh")):
        engine = choose(languages)
        assert (engine.name, engine.key, engine.note) == ("rapidocr", BUNDLED_ENGINE, "")


def test_without_tesseract_sift_says_what_to_install_and_reads_with_the_bundled_engine(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TESSERACT_ENV, "/no/such/tesseract")
    engine = choose(["deu", "eng"])
    assert engine.name == "rapidocr" and engine.key == BUNDLED_ENGINE  # nothing is lost
    assert "German (deu)" in engine.note and "needs Tesseract, which is not installed" in engine.note
    assert "read by the bundled engine" in engine.note
    if _apt():
        assert "sudo apt install tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng." in engine.note


def test_a_typo_is_named_rather_than_sent_to_tesseract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TESSERACT_ENV, "/no/such/tesseract")
    engine = choose(["german"])
    assert engine.name == "rapidocr"
    assert "german is not a Tesseract language code" in engine.note


@needs_posix_shell
def test_a_missing_language_pack_is_named_with_its_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TESSERACT_ENV, str(fake_tesseract(tmp_path, ("eng", "osd"))))
    engine = choose(["rus", "eng"])
    assert engine.name == "rapidocr"
    assert engine.note.startswith("Tesseract has no language pack for Russian (rus): ")
    if _apt():
        assert "sudo apt install tesseract-ocr-rus." in engine.note  # only the pack: it has the program


@needs_posix_shell
def test_tesseract_reads_in_the_worker_and_results_are_cached_per_language_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    program = fake_tesseract(tmp_path / "bin", ("deu", "eng", "rus"), "Zauberwort Größe Straße")
    monkeypatch.setenv(TESSERACT_ENV, str(program))
    scan = tmp_path / "brief.png"
    text_image(GERMAN).save(scan)
    cache = tmp_path / "cache"
    use_languages(["deu"])
    assert ocr_module.current_engine().name == "tesseract"
    result = ocr_pages(scan, [1], cache_dir=cache)
    assert [s.text for s in result.sections] == ["Zauberwort Größe Straße"]
    cached = cached_result(scan, [1], cache)
    assert cached is not None and cached.sections[0].text == "Zauberwort Größe Straße"
    use_languages(["deu", "rus"])  # other languages: read again, not taken from the cache
    assert cached_result(scan, [1], cache) is None
    use_languages(["deu"])
    assert cached_result(scan, [1], cache) is not None


@needs_posix_shell
def test_a_slow_tesseract_page_is_stopped_at_its_limit_and_the_next_page_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.extract.ocr.engines import EngineChoice

    slow = fake_tesseract(tmp_path / "slow", ("deu",), sleep=60)
    fast = fake_tesseract(tmp_path / "fast", ("deu",), "Zauberwort")
    scan = tmp_path / "brief.png"
    text_image(GERMAN).save(scan)
    engine = EngineChoice("tesseract", "test/deu", ("deu",), str(slow))
    result = ocr_pages(scan, [1], timeout_per_page=3, engine=engine)
    assert "took longer than" in result.failed[1]
    worker = ocr_module._slot.worker
    engine = EngineChoice("tesseract", "test/deu", ("deu",), str(fast))
    assert [s.text for s in ocr_pages(scan, [1], engine=engine).sections] == ["Zauberwort"]
    assert ocr_module._slot.worker is worker  # Tesseract was stopped, not the worker
    if shutil.which("pgrep"):  # and the slow program is gone, not left running
        assert subprocess.run(["pgrep", "-f", str(slow)], capture_output=True).returncode == 1


@pytest.mark.skipif(missing_engine() is not None, reason="OCR engine not installed")
def test_a_scan_with_no_text_says_what_would_read_its_language(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TESSERACT_ENV, "/no/such/tesseract")
    blank = tmp_path / "blank.png"
    text_image([]).save(blank)
    use_languages(["ell"])
    result = ocr_pages(blank, [1])
    assert result.sections == []
    assert result.reason.startswith("no text found by OCR (OCR in Greek (ell) needs Tesseract")


def _real_tesseract_with(*codes: str) -> bool:
    command = shutil.which("tesseract")
    if command is None:
        return False
    from app.core.extract.ocr.engines import tesseract_info

    return set(codes) <= tesseract_info(command)[1]


@pytest.mark.skipif(not _real_tesseract_with("deu"),
                    reason="Tesseract with German (apt install tesseract-ocr tesseract-ocr-deu)")
def test_real_tesseract_reads_umlauts_and_sharp_s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TESSERACT_ENV, raising=False)
    scan = tmp_path / "brief.png"
    text_image(GERMAN).save(scan)
    use_languages(["deu"])
    assert ocr_module.current_engine().name == "tesseract"
    [section] = ocr_pages(scan, [1], cache_dir=tmp_path / "cache").sections
    words = section.text.split()
    for word in ("Größe", "Straße", "Müller", "Gebühren"):
        assert word in words
