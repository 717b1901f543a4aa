"""PowerPoint .pptx with python-pptx: one Section per slide (its title, text, tables and notes)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.core.errors import SkipFile
from app.core.extract.ziplimits import open_package
from app.core.records import Section

MAX_SLIDES = 5_000
_LABEL_CHARS = 60


def _shape_lines(shape: Any) -> Iterator[str]:
    """Text of a shape, a group's shapes and a table's cells, one line per paragraph or row."""
    if getattr(shape, "shape_type", None) is not None and hasattr(shape, "shapes"):
        for inner in shape.shapes:
            yield from _shape_lines(inner)
        return
    if getattr(shape, "has_text_frame", False):
        for paragraph in shape.text_frame.paragraphs:
            text = "".join(run.text for run in paragraph.runs).strip() or paragraph.text.strip()
            if text:
                yield text.replace("\v", " ")
    if getattr(shape, "has_table", False):
        for row in shape.table.rows:
            cells = [c.text.strip().replace("\n", " ") for c in row.cells]
            line = "\t".join(c for c in cells if c)
            if line:
                yield line


def _title(slide: Any) -> str:
    try:
        shape = slide.shapes.title
    except Exception:  # layouts without a title placeholder raise in some files
        return ""
    text = " ".join(shape.text_frame.text.split()) if shape is not None and shape.has_text_frame else ""
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"


def _slide_text(slide: Any) -> str:
    lines = [line for shape in slide.shapes for line in _shape_lines(shape)]
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None and notes.text.strip():
            lines.append(notes.text.strip())
    return "\n".join(lines)


def extract_pptx(path: Path, max_bytes: int) -> list[Section]:
    """Slides in order; page is the slide number, the label names it with its title."""
    import pptx

    zf, data = open_package(path, max_bytes, "PowerPoint file")
    slides = sum(1 for n in zf.namelist() if n.startswith("ppt/slides/slide") and n.endswith(".xml"))
    zf.close()
    if slides > MAX_SLIDES:
        raise SkipFile(f"the presentation has {slides:,} slides (limit {MAX_SLIDES:,}); skipped")
    try:
        presentation = pptx.Presentation(io.BytesIO(data))
        sections = []
        for number, slide in enumerate(presentation.slides, start=1):
            title = _title(slide)
            label = f"slide {number} “{title}”" if title else f"slide {number}"
            sections.append(Section(_slide_text(slide), page=number, label=label, unit=""))
    except SkipFile:
        raise
    except Exception as exc:  # python-pptx and lxml raise many kinds on damaged files
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise SkipFile(f"could not read the PowerPoint file: {first}") from exc
    return sections
