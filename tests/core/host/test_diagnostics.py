"""Sift's own log file and crash reports: a crash is reported once, with where it happened."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.host import diagnostics

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="signals and modes are POSIX")

# A child armed as the app arms itself; faulthandler off as for a user (no PYTHONFAULTHANDLER).
ARMED = ("import os, sys, signal, ctypes, threading, time\n"
         "from pathlib import Path\n"
         "from app.core.host import diagnostics\n"
         "diagnostics.start(Path(sys.argv[1]))\n")


def child(folder: Path, body: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONFAULTHANDLER"}
    return subprocess.run([sys.executable, "-c", ARMED + body, str(folder)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60, **kwargs)  # type: ignore[call-overload]


def test_a_crash_on_a_worker_thread_is_reported_once_with_where_it_happened(tmp_path: Path) -> None:
    out = child(tmp_path, "t = threading.Thread(target=ctypes.string_at, args=(0,))\n"
                          "t.start(); t.join()\n")
    assert out.returncode == -signal.SIGSEGV
    reports = diagnostics.earlier_crashes(tmp_path)
    assert len(reports) == 1
    report = reports[0]
    assert report.what == "Segmentation fault"
    assert "ctypes" in report.where
    assert "Sift closed unexpectedly" in report.summary() and str(report.path) in report.summary()
    text = report.path.read_text(encoding="utf-8")
    assert "Current thread" in text and "string_at" in text  # every thread's stack, for a bug report
    assert stat.S_IMODE(report.path.stat().st_mode) == 0o600
    assert diagnostics.earlier_crashes(tmp_path) == []  # told once
    assert report.path.exists()  # and kept


@pytest.mark.parametrize("ending", ["sys.exit(0)", "from app.main import end_process\nend_process(0)",
                                    "raise SystemExit(3)"])
def test_a_normal_end_leaves_nothing_to_report(tmp_path: Path, ending: str) -> None:
    out = child(tmp_path, ending + "\n")
    assert out.returncode in (0, 3), out.stderr
    assert list(tmp_path.glob("running-*")) == []
    assert diagnostics.earlier_crashes(tmp_path) == []


def test_a_killed_process_is_not_a_crash_and_its_file_goes(tmp_path: Path) -> None:
    out = child(tmp_path, "os.kill(os.getpid(), signal.SIGKILL)\n")
    assert out.returncode == -signal.SIGKILL
    assert len(list(tmp_path.glob("running-*"))) == 1
    assert diagnostics.earlier_crashes(tmp_path) == []
    assert list(tmp_path.glob("running-*")) == []


def test_a_running_sift_is_left_alone_until_it_crashes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONFAULTHANDLER"}
    proc = subprocess.Popen([sys.executable, "-c", ARMED + "print('ready', flush=True)\ntime.sleep(60)\n",
                             str(tmp_path)], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        assert diagnostics.earlier_crashes(tmp_path) == []
        assert len(list(tmp_path.glob("running-*"))) == 1  # another Sift's file is not touched
        proc.send_signal(signal.SIGABRT)  # what a C++ "terminate called" ends in
        proc.wait(timeout=30)
    finally:
        proc.kill()
    reports = diagnostics.earlier_crashes(tmp_path)
    assert [r.what for r in reports] == ["Aborted"]
    assert "Current thread" in reports[0].path.read_text(encoding="utf-8")


def test_reports_are_capped(tmp_path: Path) -> None:
    for i in range(diagnostics.KEEP_REPORTS + 3):
        (tmp_path / f"running-{90000 + i}.txt").write_text("Fatal Python error: Aborted\n", encoding="utf-8")
        os.utime(tmp_path / f"running-{90000 + i}.txt", (time.time() - 1000 + i, time.time() - 1000 + i))
    assert len(diagnostics.earlier_crashes(tmp_path)) == diagnostics.KEEP_REPORTS + 3
    kept = sorted(tmp_path.glob("crash-*.txt"))
    assert len(kept) == diagnostics.KEEP_REPORTS
    assert kept[-1].name.endswith(f"-{90000 + diagnostics.KEEP_REPORTS + 2}.txt")  # the newest stay


def test_the_log_file_is_private_and_the_terminal_keeps_its_level(tmp_path: Path) -> None:
    # As the app starts: the terminal's logging first, then the file.
    code = ("import logging, sys\n"
            "from pathlib import Path\n"
            "from app.core.host import diagnostics\n"
            "from app.terminal_log import setup_logging\n"
            "setup_logging(0)\n"
            "diagnostics.start_log_file(Path(sys.argv[1]))\n"
            "logging.getLogger('app.test').info('indexed 3 files')\n"
            "logging.getLogger('app.test').warning('a warning')\n"
            "try:\n"
            "    1 / 0\n"
            "except ZeroDivisionError:\n"
            "    logging.getLogger('app.test').exception('a bug')\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    log = tmp_path / "sift.log"
    text = log.read_text(encoding="utf-8")
    assert "indexed 3 files" in text and "a warning" in text and "ZeroDivisionError" in text
    assert "indexed 3 files" not in out.stderr and "a warning" in out.stderr
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_the_command_line_tells_of_an_earlier_crash_once(tmp_path: Path) -> None:
    logs = tmp_path / "cache" / "logs"
    out = child(logs, "ctypes.string_at(0)\n")
    assert out.returncode == -signal.SIGSEGV
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    first = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(tmp_path), "status"], cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=120)
    assert first.stderr.count("Sift closed unexpectedly") == 1 and "Segmentation fault" in first.stderr
    again = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(tmp_path), "status"], cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=120)
    assert "closed unexpectedly" not in again.stderr
    assert len(list(logs.glob("crash-*.txt"))) == 1


def test_a_folder_where_nothing_can_be_written_does_not_stop_sift(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    out = child(blocker / "logs", "print('started', flush=True)\n")
    assert out.returncode == 0 and "started" in out.stdout, out.stderr
    assert diagnostics.start(blocker / "logs") == []
