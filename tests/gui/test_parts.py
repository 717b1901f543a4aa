"""The window's parts on their own: HTML escaping, preview context, wording, and a light start."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.gui.indexing_bar import duration_text, progress_text
from app.gui.preview import build_context
from app.gui.richtext import MarkStyle, context_html, reflowed, snippet_html

STYLE = MarkStyle(background="#123456", foreground="#000000", region="#eeeeee")
ROOT = Path(__file__).resolve().parents[2]


def test_snippets_escape_file_text_and_mark_only_the_spans() -> None:
    text = "if a < b && c > d: <script>alert(1)</script> deposit"
    at = text.index("deposit")
    html = snippet_html(text, [(at, at + 7)], STYLE)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "a &lt; b &amp;&amp; c &gt; d" in html
    assert html.count("background-color:#123456") == 1
    assert ">deposit</span>" in html


def test_snippets_flatten_line_breaks_without_moving_marks() -> None:
    text = "Tenancy notes: the deposit\n\nThe landlord\nmust return the deposit"
    spans = [(text.index("deposit"), text.index("deposit") + 7), (len(text) - 7, len(text))]
    html = snippet_html(text, spans, STYLE)
    assert "\n" not in html
    assert "deposit</span> · The landlord must return the <span" in html
    assert html.count(">deposit</span>") == 2


def test_prose_is_reflowed_but_keeps_its_length_and_structure() -> None:
    text = "The landlord must\nreturn it.\n\n- one\n- two\n# Heading\nbody\nmore"
    out = reflowed(text)
    assert len(out) == len(text)
    assert out == "The landlord must return it.\n\n- one\n- two\n# Heading\nbody more"


def test_context_marks_the_passage_and_the_words_in_it() -> None:
    text = "before. The <landlord> kept it. after"
    at = text.index("landlord")
    html = context_html(text, (8, text.index(" after")), [(at, at + 8)], STYLE, before_gap=True)
    assert html.startswith('<p style="margin:0;">…</p>')
    assert '<a name="match"></a>The &lt;<span' in html
    assert ">landlord</span>&gt; kept it.</span> after" in html


@dataclass
class Row:
    id: int
    text: str
    char_start: int
    char_end: int
    section: int = 0
    page: int | None = None


def test_context_joins_overlapping_neighbours_by_their_offsets() -> None:
    source = "One two three. Four five six. Seven eight nine. Ten eleven twelve."
    rows = [Row(1, source[0:29], 0, 29), Row(2, source[15:47], 15, 47), Row(3, source[30:66], 30, 66),
            Row(4, "Other page", 0, 10, section=1, page=2)]
    ctx = build_context(rows, 2, "eight")
    assert ctx is not None
    assert ctx.text == source
    assert ctx.text[ctx.region[0]:ctx.region[1]] == rows[1].text
    assert [ctx.text[a:b] for a, b in ctx.spans] == ["eight"]
    assert not ctx.before_gap and not ctx.after_gap
    far = build_context([Row(i, f"chunk {i}", i * 10, i * 10 + 7) for i in range(6)], 0, "")
    assert far is not None and far.after_gap and not far.before_gap


def test_progress_reads_like_a_person_wrote_it() -> None:
    from app.core.records import Progress

    head, detail = progress_text(Progress("indexing", 120, 800, current="/home/me/Docs/report.pdf",
                                          rate=12.3, eta_s=150))
    assert head == "Indexing 120 of 800 files"
    assert detail == "report.pdf  ·  12 files/s  ·  about 2 min left"
    assert progress_text(Progress("scanning"))[0] == "Looking for files…"
    assert duration_text(3) == "a few seconds left"
    assert duration_text(None) == ""


def test_progress_shows_both_stages_and_the_time_left_of_the_one_running() -> None:
    from app.core.records import Progress

    p = Progress("indexing", 35, 200, current="/d/a.pdf", eta_s=400, stage="meaning", words_done=200,
                 words_total=200, meaning_done=35, meaning_total=200, passages_total=5000)
    head, detail = progress_text(p)
    assert head == "Indexing  ·  words: 200/200 files · meaning: 35/200"
    assert detail == "a.pdf  ·  meaning: about 7 min left"
    assert progress_text(p, eta_s=40)[1].endswith("about 40 s left")  # counted down since it came


def test_the_window_modules_import_no_heavy_engine_code() -> None:
    """Start-up promise: the window shows before numpy, torch or usearch are imported."""
    code = ("import sys; import app.gui.application, app.gui.main_window; "
            "heavy = [m for m in ('numpy', 'torch', 'usearch', 'sentence_transformers', "
            "'app.core.library', 'app.core.search.searcher') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"


def test_arguments_for_sift_stay_away_from_qt() -> None:
    from app.gui.application import _own_flags, parse_args

    argv = ["--data-dir", "/tmp/x", "--measure-startup", "-style", "fusion", "--query=deposit"]
    args = parse_args(argv)
    assert args.data_dir == "/tmp/x" and args.measure_startup and args.query == "deposit"
    assert [a for a in argv if a not in _own_flags(argv)] == ["-style", "fusion"]


def test_settings_dialog_returns_typed_settings(qtbot: Any) -> None:
    from app.core.settings import Settings
    from app.gui.settings_dialog import SettingsDialog, describe_changes

    old = Settings(folders=("/a", "/b"), rerank=True, results=20, chunk_tokens=256)
    dialog = SettingsDialog(old)
    qtbot.addWidget(dialog)
    dialog.folders.takeItem(0)
    dialog.folders.addItem("/c")
    dialog.exclude.setPlainText("*.bak\n\n  Archive/  \n")
    dialog.model.edit.setText("/models/e5-small")
    dialog.rerank.setChecked(False)
    dialog.chunk.setValue(192)
    dialog.results.setValue(30)
    new = dialog.chosen()
    assert new.folders == ("/b", "/c")
    assert new.exclude == ("*.bak", "Archive/")
    assert (new.model, new.rerank, new.chunk_tokens, new.results) == ("/models/e5-small", False, 192, 30)
    changes = describe_changes(old, new)
    edits = dialog.folder_edits()
    assert edits.added == ("/c",) and edits.removed == ("/a",)
    assert changes["model"] == "/models/e5-small" and changes["reindex"]
    dialog.model.edit.setText("")
    assert dialog.chosen().model == old.model  # an empty field means the default
