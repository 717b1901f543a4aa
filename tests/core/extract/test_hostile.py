"""Hostile HTML and EPUB never stall indexing: reading is linear, and runs under time and memory limits."""

from __future__ import annotations

import sys
import threading
import zipfile
from pathlib import Path

import pytest

from app.core.errors import SkipFile
from app.core.extract import extract_file, limited

# Quadratic marking took 54 s at 20,000 levels; at this depth it would take hours.
LEVELS = 100_000
HANG_GUARD_S = 300


def _within_guard(call):  # type: ignore[no-untyped-def]
    """Run ``call`` in a thread; its result, or a failure when it is still running at the guard."""
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["value"] = call()
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG_GUARD_S)
    assert not thread.is_alive(), f"still reading after {HANG_GUARD_S} s"
    if "error" in out:
        raise out["error"]  # type: ignore[misc]
    return out["value"]


def _nested(levels: int) -> str:
    return "<html><body>" + "<div>" * levels + "deep inside" + "</div>" * levels + \
        "<p>after the nest</p></body></html>"


def test_deeply_nested_html_is_read(tmp_path: Path) -> None:
    path = tmp_path / "nest.html"
    path.write_text(_nested(LEVELS), encoding="utf-8")
    found = _within_guard(lambda: extract_file(path))
    assert found.sections[0].text.splitlines() == ["deep inside", "after the nest"]


def test_deeply_nested_epub_chapter_is_read(tmp_path: Path) -> None:
    path = tmp_path / "nest.epub"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/epub+zip")
        zf.writestr("META-INF/container.xml",
                    '<container><rootfiles><rootfile full-path="book.opf"/></rootfiles></container>')
        zf.writestr("book.opf", '<package><manifest><item id="c" href="c.xhtml" '
                    'media-type="application/xhtml+xml"/></manifest>'
                    '<spine><itemref idref="c"/></spine></package>')
        zf.writestr("c.xhtml", _nested(LEVELS))
    found = _within_guard(lambda: extract_file(path))
    assert [s.label for s in found.sections] == ["chapter 1"]
    assert "deep inside" in found.sections[0].text


def test_a_file_that_reads_too_long_is_skipped_and_the_next_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(limited.INPROCESS_ENV, raising=False)
    page = tmp_path / "slow.html"
    page.write_text("<p>slow words</p>", encoding="utf-8")
    monkeypatch.setenv(limited.TEST_DELAY_ENV, "30")
    with pytest.raises(SkipFile) as info:
        _within_guard(lambda: extract_file(page, pdf_timeout=1.0))
    assert "took longer than 1 s" in info.value.message
    monkeypatch.delenv(limited.TEST_DELAY_ENV)
    assert _within_guard(lambda: extract_file(page)).sections[0].text == "slow words"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="address-space limits: Linux")
def test_a_file_that_needs_too_much_memory_is_skipped(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(limited.INPROCESS_ENV, raising=False)
    limited.shutdown()
    small = tmp_path / "small.html"
    small.write_text("<p>a few words</p>", encoding="utf-8")
    assert extract_file(small).sections[0].text == "a few words"
    worker = limited._slot.worker
    assert worker is not None and worker.process.pid is not None
    status = Path(f"/proc/{worker.process.pid}/status").read_text()
    size = next(int(line.split()[1]) * 1024 for line in status.splitlines()
                if line.startswith("VmSize:"))
    limited.shutdown()
    # Room for a normal page, not for a million tiny elements held at once.
    monkeypatch.setattr(limited, "MEMORY_LIMIT", size + 64 * 2**20)
    greedy = tmp_path / "greedy.html"
    greedy.write_text("<p>" + "<b>x</b> " * 4_000_000 + "</p>", encoding="utf-8")
    try:
        with pytest.raises(SkipFile) as info:
            _within_guard(lambda: extract_file(greedy))
        assert "memory" in info.value.message
        assert extract_file(small).sections[0].text == "a few words"  # the next file is read
    finally:
        limited.shutdown()
