"""The window under random sequences of its real actions (hypothesis state machines).

In process: add and remove folders (nested ones too) as the menu and the folder panel do, the
settings dialog (OK, Cancel, removing a folder in it), Skipped Files, About, searching, Esc,
pause, resume and cancel; after each settled step the window shows the folders the user chose,
with the counts and states of the index, and no Qt warning was printed (the autouse fixture of
conftest.py fails the test on any). In a subprocess: random sequences of the same actions with
Ctrl+Q at a random moment, each ending with exit code 0 and nothing alarming printed.

CI runs a short version (about a minute); SIFT_LONG_STATEFUL=N runs N times more examples.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.gui.real_app import make_data_dir, run_app, write_notes

LONG = int(os.environ.get("SIFT_LONG_STATEFUL", "0") or 0)
SCALE = max(1, LONG)
TIMEOUT = 30_000
TALLY: dict[str, int] = {"sequences": 0, "steps": 0, "quits": 0}
QUERIES = ("landlord deposit", "river mountain", "canine nutrition", "boiler valve", '"the river"', "zzz")


def _tree(root: Path) -> dict[str, Path]:
    """Folders a user might pick: one with a subfolder that may be chosen too, and another."""
    a = root / "A"
    (a / "inner").mkdir(parents=True)
    (a / "lease.txt").write_text("The landlord kept the deposit after the lease ended.\n", encoding="utf-8")
    (a / "dogs.md").write_text("# Dogs\n\nDog food and canine nutrition for a puppy.\n", encoding="utf-8")
    (a / "inner" / "river.txt").write_text("The river runs from the mountain to the ocean.\n",
                                           encoding="utf-8")
    (a / "inner" / "empty.txt").write_text("", encoding="utf-8")  # skipped, with a reason
    b = root / "B"
    b.mkdir()
    for i in range(40):
        (b / f"note{i:02}.txt").write_text(f"Meeting notes {i}: the plumber, the boiler valve and the "
                                           "budget report.\n" * 4, encoding="utf-8")
    return {"A": a, "A/inner": a / "inner", "B": b}


def _files_under(folder: Path) -> int:
    """Files the index should hold for a folder (empty files are skipped, not indexed)."""
    return sum(1 for p in folder.rglob("*") if p.is_file() and p.stat().st_size > 0)


def _close_modal_soon() -> None:
    def close() -> None:
        modal = QApplication.activeModalWidget()
        if modal is None:
            QTimer.singleShot(20, close)
            return
        modal.reject() if hasattr(modal, "reject") else modal.close()

    QTimer.singleShot(0, close)


class WindowMachine(RuleBasedStateMachine):
    """One window on a fresh data folder; the folder set the user chose is the model."""

    qtbot: Any = None
    make: Any = None
    root: Path = Path()

    def __init__(self) -> None:
        super().__init__()
        TALLY["sequences"] += 1
        self.case = self.root / f"case{TALLY['sequences']}"
        self.folders = _tree(self.case / "files")
        self.window = type(self).make(self.case / "data")
        self.chosen: list[str] = []
        self.cancelled: set[str] = set()  # folders whose last scan the user cancelled
        self.paused = False

    # -- helpers --------------------------------------------------------------------------
    @property
    def service(self) -> Any:
        return self.window.controller.service

    def settle(self) -> None:
        """Wait until the engine is idle and the window has read its state again."""
        if self.paused:
            self.resume()
        self.qtbot.waitUntil(lambda: not self.window.controller.runner.busy, timeout=TIMEOUT)
        self.qtbot.waitUntil(lambda: not self.service.busy, timeout=TIMEOUT)
        self.read_again()

    def read_again(self) -> None:
        """Commands given applied (they run in order, off the GUI thread), then one read of the
        engine's state shown: what a user sees a moment after acting."""
        self.qtbot.waitUntil(lambda: not self.window.controller.runner.busy, timeout=TIMEOUT)
        done: list[bool] = []
        self.window.controller.folders_changed.connect(lambda _rows: done.append(True))
        self.window.controller.refresh()
        self.qtbot.waitUntil(lambda: bool(done), timeout=TIMEOUT)

    # -- the user's actions -------------------------------------------------------------------
    @rule(name=st.sampled_from(["A", "A/inner", "B"]))
    def add_folder(self, name: str) -> None:
        TALLY["steps"] += 1
        path = str(self.folders[name])
        self.window.add_folders([path])  # what Add Folder… and a drop do with the chosen folder
        if path not in self.chosen:  # adding a listed folder again changes nothing
            self.chosen.append(path)
            self.cancelled.discard(path)

    @precondition(lambda self: bool(self.chosen))
    @rule(data=st.data())
    def remove_folder(self, data: Any) -> None:
        TALLY["steps"] += 1
        path = data.draw(st.sampled_from(self.chosen))
        self.window.confirm = lambda *_: True  # the user answers Yes
        self.window.remove_folder(path)
        self.chosen.remove(path)
        self.cancelled.discard(path)

    @rule(remove=st.booleans(), accept=st.booleans(), data=st.data())
    def settings_dialog(self, remove: bool, accept: bool, data: Any) -> None:
        TALLY["steps"] += 1
        from app.gui.settings_dialog import SettingsDialog

        target = data.draw(st.sampled_from(self.chosen)) if remove and self.chosen else None
        seen: list[list[str]] = []

        def act() -> None:
            dialogs = [d for d in self.window.findChildren(SettingsDialog) if d.isVisible()]
            if not dialogs:
                QTimer.singleShot(20, act)
                return
            dialog = dialogs[0]
            seen.append([dialog.folders.item(i).text() for i in range(dialog.folders.count())])
            if target is not None:
                dialog._confirm = lambda *_: True
                dialog.folders.clearSelection()
                for item in dialog.folders.findItems(target, QtMatch.MatchExactly):
                    item.setSelected(True)
                dialog.remove_selected()
            dialog.accept() if accept else dialog.reject()

        QTimer.singleShot(0, act)
        self.window.show_settings()
        # The dialog lists the folders as they are, however they were changed since the start.
        assert sorted(seen[0]) == sorted(self.chosen)
        if accept and target is not None:
            self.chosen.remove(target)
            self.cancelled.discard(target)

    @rule()
    def skipped_files(self) -> None:
        TALLY["steps"] += 1
        self.window.show_skipped()
        self.qtbot.wait(30)
        self.window.skipped_dialog.reject()  # Esc

    @rule()
    def about(self) -> None:
        TALLY["steps"] += 1
        _close_modal_soon()
        self.window.show_about()

    @rule(query=st.sampled_from(QUERIES))
    def search(self, query: str) -> None:
        TALLY["steps"] += 1
        # Quiet: every command given has been applied and the engine has nothing left to do.
        quiet = not self.window.controller.runner.busy and not self.service.busy
        answers: list[Any] = []

        def answered(response: Any, _final: bool) -> None:
            answers.append(response)

        self.window.controller.answered.connect(answered)
        try:
            self.window.search_box.setText(query)
            self.window.search_now()
            # An answer to this search, not the same query's answer already on screen.
            self.qtbot.waitUntil(lambda: any(r.query == query for r in answers), timeout=TIMEOUT)
        finally:
            self.window.controller.answered.disconnect(answered)
        self.qtbot.waitUntil(lambda: self.window._shown_query == query, timeout=TIMEOUT)
        shown = [h.path for h in self.window.results_view.results.hits]
        roots = tuple(p.rstrip("/") + "/" for p in self.chosen)
        # Results come from chosen folders only (a removed folder's files are gone from them),
        # once the removal has been applied (it runs behind the window, in order).
        if quiet:
            assert all(p.startswith(roots) for p in shown), (shown, self.chosen)

    @rule()
    def escape(self) -> None:
        TALLY["steps"] += 1
        self.window.clear_search()
        assert self.window.results_area.currentIndex() == 0

    @rule()
    def pause(self) -> None:
        TALLY["steps"] += 1
        # The engine may end a pause itself (removing the folder being indexed cancels its
        # scan); the window shows that after its next read, and the user acts on what is shown.
        self.read_again()
        if not self.window.pause_action.isChecked():
            self.window.pause_action.trigger()
        self.paused = True
        self.qtbot.waitUntil(lambda: self.service.paused, timeout=TIMEOUT)
        if self.window.indexing_bar.isVisible():
            assert self.window.indexing_bar.headline.text().startswith("Paused")

    @precondition(lambda self: self.paused)
    @rule()
    def resume(self) -> None:
        TALLY["steps"] += 1
        self.read_again()
        if self.window.pause_action.isChecked():
            self.window.pause_action.trigger()
        self.paused = False
        self.qtbot.waitUntil(lambda: not self.service.paused, timeout=TIMEOUT)

    @rule()
    def cancel(self) -> None:
        TALLY["steps"] += 1
        self.window.cancel_indexing()  # the strip's Cancel button and the Index menu's item
        self.paused = False
        # Any folder may have been stopped part-way (a scan running, or one queued by a command
        # given just before): from here on it may show "incomplete", never a wrong "watching".
        self.cancelled.update(self.chosen)

    @rule()
    def wait_until_settled(self) -> None:
        """The invariant that needs a quiet engine: the window shows the index as it is."""
        TALLY["steps"] += 1
        self.settle()
        lib = self.window.controller.current_library
        assert sorted(lib.settings.folders) == sorted(self.chosen)
        assert sorted(self.window.folders_panel.folders()) == sorted(self.chosen)
        for path in self.chosen:
            row = self.window.folders_panel.row(path)
            assert row is not None
            allowed = ("incomplete", "up to date", "watching") if path in self.cancelled \
                else ("up to date", "watching")
            assert row.state in allowed, row
            if row.state != "incomplete":  # a ✓ is only shown for a folder indexed in full
                assert row.files == _files_under(Path(path)), row
        assert not self.window.indexing_bar.isVisible()
        assert self.window.results_area.indexing_banner.isHidden()

    # -- always ---------------------------------------------------------------------------
    @invariant()
    def the_window_shows_no_folder_the_user_removed(self) -> None:
        shown = set(self.window.folders_panel.folders())
        removed = {str(p) for p in self.folders.values()} - set(self.chosen)
        # A folder removed in the dialog disappears once the engine applied it (a refresh).
        assert not (shown & removed) or self.service.busy or self.window.controller._refresh_timer.isActive()

    def teardown(self) -> None:
        started = time.monotonic()
        self.window.close()
        assert time.monotonic() - started < 5  # the same ordered path Ctrl+Q takes
        assert self.window.controller.service is None or self.window.controller._closing
        shutil.rmtree(self.case, ignore_errors=True)


from PySide6.QtCore import Qt  # noqa: E402

QtMatch = Qt.MatchFlag


def test_window_under_random_sequences_of_user_actions(qtbot: Any, tmp_path: Path, settings: Any,
                                                       tiny_embedder: Any, ui_state: Any) -> None:
    from app.core.host.paths import resolve_paths
    from app.core.library import Library
    from app.core.service.index_service import IndexService
    from app.gui.main_window import MainWindow
    from app.gui.messages import MessageBridge
    from app.gui.workers import ServiceEvents

    def make(data: Path) -> Any:
        library = Library(resolve_paths(data), settings, embedder=tiny_embedder)
        events = ServiceEvents()
        window = MainWindow(messages=MessageBridge(), events=events, ui_state=ui_state,
                            settings=library.settings)
        qtbot.addWidget(window)
        window.resize(1000, 700)
        window.show()
        service = IndexService(library, watch=False, on_event=events.post)
        service.start()
        window.attach_engine(library, service)
        qtbot.waitUntil(lambda: not service.busy, timeout=TIMEOUT)
        return window

    WindowMachine.qtbot, WindowMachine.make, WindowMachine.root = qtbot, make, tmp_path
    TALLY.update(sequences=0, steps=0)
    started = time.monotonic()
    run_state_machine_as_test(WindowMachine, settings=settings_for(examples=20 * SCALE, steps=20))
    print(f"\nwindow state machine: {TALLY['sequences']} sequences, {TALLY['steps']} steps clean "
          f"in {time.monotonic() - started:.0f} s")


def settings_for(examples: int, steps: int) -> Any:
    return settings(max_examples=examples, stateful_step_count=steps, deadline=None, derandomize=not LONG,
                    suppress_health_check=list(HealthCheck), database=None)


ACTION = st.one_of(
    st.tuples(st.integers(0, 600), st.sampled_from(["search"]), st.sampled_from(QUERIES)),
    st.tuples(st.integers(0, 600), st.sampled_from(["settings", "skipped", "about", "esc", "pause",
                                                    "cancel"]), st.just("")),
    st.tuples(st.integers(0, 600), st.sampled_from(["add", "remove"]),
              st.sampled_from(["A", "A/inner", "B"])),
)


@pytest.fixture(scope="module")
def quit_tree(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("stateful-quit")
    tree = _tree(root / "files")
    write_notes(tree["B"] / "more", 300)  # enough work that a quit often lands mid-indexing
    return tree


def test_quit_after_random_actions_always_exits_cleanly(tmp_path: Path, tiny_model: Path,
                                                        quit_tree: dict[str, Path]) -> None:
    runs: list[float] = []

    @settings_for(examples=3 * SCALE, steps=1)
    @given(actions=st.lists(ACTION, min_size=0, max_size=6), quit_after=st.integers(0, 4000))
    def one_run(actions: list[tuple[int, str, str]], quit_after: int) -> None:
        data = make_data_dir(tmp_path / f"data{len(runs)}", tiny_model)
        script = [(d, a, str(quit_tree[arg]) if a in ("add", "remove") else arg) for d, a, arg in actions]
        run = run_app(data, [(800, "add", str(quit_tree["A"])), *script, (quit_after, "quit", "")],
                      timeout=120)
        assert run.code == 0 and not run.troubles, f"script {script}\n{run.describe()}"
        TALLY["quits"] += 1
        if run.quit_latency_s is not None:
            runs.append(run.quit_latency_s)
        shutil.rmtree(data, ignore_errors=True)

    one_run()
    ordered = sorted(runs)
    print(f"\n{TALLY['quits']} random sequences quit with exit 0; quit latency p50 "
          f"{ordered[len(ordered) // 2]:.2f} s, max {ordered[-1]:.2f} s")
