"""A stand-in for the Tesseract program (a shell script), so the engine choice, the worker's
Tesseract path, its time limit and the cache can be tested where Tesseract is not installed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

needs_posix_shell = pytest.mark.skipif(sys.platform == "win32", reason="the stand-in is a shell script")


def fake_tesseract(folder: Path, languages: tuple[str, ...], text: str = "",
                   *, sleep: float = 0, name: str = "tesseract") -> Path:
    """A program answering --version and --list-langs like Tesseract 5, and printing ``text``
    for a page (after ``sleep`` seconds; exec, so a kill stops the sleep)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    listing = "\n".join(f"echo {code}" for code in languages)
    page = f"exec sleep {sleep}" if sleep else f"cat > /dev/null\nprintf '%s\\n' '{text}'"
    script.write_text(f"""#!/bin/sh
case "$1" in
  --version) echo "tesseract 5.9.9-fake"; exit 0;;
  --list-langs) echo 'List of available languages in "/fake/tessdata/" ({len(languages)}):'
{listing}
    exit 0;;
esac
{page}
""", encoding="utf-8")
    os.chmod(script, 0o755)
    return script
