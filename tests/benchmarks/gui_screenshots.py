"""Takes the README screenshots with the real default model: empty, indexing, paused, results,
a match by meaning with its sentence marked, more like this, an error.

Run under a real X server (or QT_QPA_PLATFORM=offscreen):
    Xvfb :99 -screen 0 1280x800x24 &
    DISPLAY=:99 .venv/bin/python tests/benchmarks/gui_screenshots.py --out resources/screenshots
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gui_stall import write_papers  # noqa: E402  (the same folder of papers as the stall benchmark)

Step = tuple[str, Callable[[], bool], Callable[[], None]]


def dark_palette():  # type: ignore[no-untyped-def]
    """A dark palette as a dark desktop theme would give, to check that nothing assumes light."""
    from PySide6.QtGui import QColor, QPalette

    pal = QPalette()
    roles = QPalette.ColorRole
    for role, color in ((roles.Window, "#2b2b2b"), (roles.WindowText, "#e6e6e6"), (roles.Base, "#1e1e1e"),
                        (roles.AlternateBase, "#262626"), (roles.Text, "#e6e6e6"), (roles.Button, "#353535"),
                        (roles.ButtonText, "#e6e6e6"), (roles.Highlight, "#3d6fb6"),
                        (roles.HighlightedText, "#ffffff"), (roles.ToolTipBase, "#353535"),
                        (roles.ToolTipText, "#e6e6e6"), (roles.PlaceholderText, "#8a8a8a")):
        pal.setColor(role, QColor(color))
    pal.setColor(QPalette.ColorGroup.Disabled, roles.Text, QColor("#777777"))
    pal.setColor(QPalette.ColorGroup.Disabled, roles.WindowText, QColor("#777777"))
    return pal


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "resources" / "screenshots"))
    parser.add_argument("--papers", type=int, default=1500)
    parser.add_argument("--keep", action="store_true", help="keep the temporary home folder")
    parser.add_argument("--dark", action="store_true", help="Fusion with a dark palette (names get -dark)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="sift-shots-"))
    os.environ["HOME"] = str(home)  # folders then show as ~/Documents, as on a user's machine
    docs = home / "Documents"
    shutil.copytree(ROOT / "resources" / "sample", docs)
    # A second note about a dog, for "more like this" to find (the sample has one of each topic).
    (docs / "vet-visit.txt").write_text(
        "Vet visit, 12 March. Bella is eleven weeks old and weighs 4.2 kg. She should eat four "
        "small meals a day of a food made for growing pups, then three from six months. Next "
        "vaccination in three weeks. Keep grapes and chocolate out of her reach: both poison "
        "dogs.\n", encoding="utf-8")
    papers = home / "Research papers"
    write_papers(papers, args.papers)

    from PySide6.QtCore import QTimer

    from app.gui.application import StartupClock, launch, make_application, parse_args, tear_down

    app = make_application([])
    suffix = ""
    if args.dark:
        suffix = "-dark"
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    window, _loader = launch(parse_args(["--data-dir", str(home / "sift-data"), "--no-watch"]),
                            StartupClock(False))
    window.resize(1180, 720)
    c = window.controller

    def shot(name: str) -> Callable[[], None]:
        def take() -> None:
            path = out / f"{name}{suffix}.png"
            window.grab().save(str(path), "PNG")
            if shutil.which("convert"):  # 256 colours look the same on a UI and keep files small
                subprocess.run(["convert", str(path), "-strip", "+dither", "-colors", "256",
                                "-define", "png:compression-level=9", str(path)], check=False)
            print(f"saved {path} ({path.stat().st_size // 1024} KB)", flush=True)
        return take

    def type_query(text: str) -> Callable[[], None]:
        def do() -> None:
            window.search_box.setFocus()
            window.search_box.setText(text)
            window.search_now()
        return do

    def progress_at(fraction: float) -> bool:
        """The papers (not the few documents) part-way; with two stages, into the second one."""
        p = window.indexing_bar._progress
        if p is None or not window.indexing_bar.isVisible() or p.files_total <= 100:
            return False
        if p.meaning_total:
            return p.stage == "meaning" and p.meaning_done >= fraction * p.meaning_total
        return p.files_done >= fraction * p.files_total

    def preview_ready() -> bool:
        return window.preview._context is not None

    state: dict[str, float] = {}
    indexing: list[Step] = [
        # Only the sample documents first: nothing there is about the question, and it says so.
        # (With the papers added at once, their words could come in before the weak answer
        # was seen, and the step waited for ever.)
        ("add documents", lambda: True, lambda: window.add_folders([str(docs)])),
        ("documents in", lambda: window.folders_panel.row(str(docs)).files > 0,
         type_query("does vitamin D prevent bone fractures")),
        ("weak answer", lambda: window.weak_banner.isVisible(), lambda: state.update(t=time.monotonic())),
        ("settle weak", lambda: time.monotonic() - state["t"] > 0.5, shot("no-match")),
        ("add papers", lambda: True, lambda: window.add_folders([str(papers)])),
        # A quarter of the papers in: the same question now finds them, while indexing goes on.
        ("indexing a while", lambda: progress_at(0.25), lambda: (window.search_box.clear(),
                                                                   window.results_area.clear())),
        ("ask again", lambda: True, type_query("does vitamin D prevent bone fractures")),
        ("answer while indexing", lambda: window._shown_query.startswith("does vitamin"), lambda: None),
        ("preview", preview_ready, lambda: state.update(t=time.monotonic())),
        ("settle", lambda: time.monotonic() - state["t"] > 0.5, shot("indexing")),
        # Paused: the strip says so (no time left counting down), searching still works.
        ("pause", lambda: True, window.pause_action.trigger),
        ("paused", lambda: window.indexing_bar.headline.text().startswith("Paused") and c.service.paused,
         lambda: state.update(t=time.monotonic())),
        ("settle paused", lambda: time.monotonic() - state["t"] > 0.5, shot("paused")),
        ("cancel", lambda: True, window.cancel_indexing),
        ("idle", lambda: not window.indexing_bar.isVisible(), lambda: c.remove_folder(str(papers))),
        ("removed", lambda: window.folders_panel.folders() == [str(docs)] and not c.service.busy,
         lambda: window._show_folders(window._rows())),
    ]
    if not args.papers:
        indexing = [("add the folder", lambda: True, lambda: window.add_folders([str(docs)]))]
    steps: list[Step] = [
        ("model loaded", lambda: c.ready and not c.service.busy and not window.indexing_bar.isVisible(),
         shot("empty")),
        *indexing,
        ("indexed", lambda: not c.service.busy and window.folders_panel.row(str(docs)).files > 0,
         lambda: None),
        ("search", lambda: True, type_query("how do I get my deposit back")),
        ("answer", lambda: window._shown_query.startswith("how do I"), lambda: None),
        ("preview again", preview_ready, lambda: state.update(t=time.monotonic())),
        ("settle again", lambda: time.monotonic() - state["t"] > 0.5, shot("results")),
        # A match by meaning: "young pup" is nowhere in the note; its sentence is underlined.
        ("meaning search", lambda: True, type_query("what to feed a young pup")),
        ("meaning answer", lambda: window._shown_query.startswith("what to feed") and bool(
            window.results_view.current_hit() and window.results_view.current_hit().passages[0].meaning),
         lambda: None),
        ("meaning preview", preview_ready, lambda: state.update(t=time.monotonic())),
        ("settle meaning", lambda: time.monotonic() - state["t"] > 0.5, shot("meaning-match")),
        # More like this (Ctrl+L) on the selected result: its neighbours, itself left out.
        ("more like this", lambda: True, lambda: window.similar.request()),
        ("similar shown", lambda: window.results_header.text().startswith("More like"),
         lambda: None),
        ("similar preview", preview_ready, lambda: state.update(t=time.monotonic())),
        ("settle similar", lambda: time.monotonic() - state["t"] > 0.5, shot("more-like-this")),
        ("break the model", lambda: True, lambda: c.apply_settings(
            replace(c.current_library.settings, model="intfloat/e5-large-v2"))),
        ("error shown", lambda: bool(window.status.error), lambda: state.update(t=time.monotonic())),
        ("settle error", lambda: time.monotonic() - state["t"] > 0.5, shot("error")),
        ("done", lambda: True, window.close),
    ]
    started = time.monotonic()

    def tick() -> None:
        if not steps:
            return
        name, ready, action = steps[0]
        if time.monotonic() - started > 900:
            print(f"timed out at: {name}", file=sys.stderr)
            window.close()
            return
        if ready():
            print(f"{time.monotonic() - started:6.1f} s  {name}", flush=True)
            steps.pop(0)
            action()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(50)
    rc = app.exec()
    tear_down(window)
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    return int(rc)


if __name__ == "__main__":
    raise SystemExit(main())
