"""A crash of the window is reported at its next start, once, with a report kept on this computer."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from tests.gui.real_app import make_data_dir, run_app

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process checks use Linux")

AS_A_USER = {"PYTHONFAULTHANDLER": ""}  # faulthandler off, as when the app is double-clicked


def test_the_window_tells_of_its_last_crash_once(tmp_path: Path, tiny_model: Path) -> None:
    data = make_data_dir(tmp_path / "data", tiny_model)
    crashed = run_app(data, [(800, "crash", "")], env=AS_A_USER)
    assert crashed.code == -signal.SIGSEGV, crashed.describe()

    logs = data / "cache" / "logs"
    reports = list(logs.glob("crash-*.txt"))
    assert reports == []  # found by the next start, not before
    after = run_app(data, [(800, "say-error", ""), (100, "quit", "")], env=AS_A_USER)
    assert after.code == 0, after.describe()
    reports = list(logs.glob("crash-*.txt"))
    assert len(reports) == 1
    said = [line for line in after.out.splitlines() if line.startswith("STATUS-ERROR")]
    assert said and "Sift closed unexpectedly" in said[0] and "Segmentation fault" in said[0]
    assert str(reports[0]) in said[0]
    assert "string_at" in reports[0].read_text(encoding="utf-8")
    assert "Sift closed unexpectedly" in (logs / "sift.log").read_text(encoding="utf-8")

    again = run_app(data, [(800, "say-error", ""), (100, "quit", "")], env=AS_A_USER)
    assert again.code == 0, again.describe()
    assert "STATUS-ERROR" in again.out and "closed unexpectedly" not in again.out
    assert list(logs.glob("running-*")) == []  # clean quits leave nothing behind
