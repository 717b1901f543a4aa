"""Colours and icons that follow the platform's palette, so light and dark themes both read well."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QGraphicsOpacityEffect, QWidget

from app.gui.richtext import MarkStyle

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
ICON_FILE = RESOURCES / "icons" / "sift.svg"


def blend(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` toward ``b``."""
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
    )


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def mark_style(palette: QPalette | None = None, *, selected: bool = False) -> MarkStyle:
    """Highlight colours for matching words, derived from the palette's own highlight colour."""
    pal = palette or QGuiApplication.palette()
    base = pal.color(QPalette.ColorRole.Base)
    accent = pal.color(QPalette.ColorRole.Highlight)
    text = pal.color(QPalette.ColorRole.Text)
    if selected:
        # On a selected row the background already is the highlight: lighten or darken it instead.
        sel_text = pal.color(QPalette.ColorRole.HighlightedText)
        return MarkStyle(background=blend(accent, sel_text, 0.3).name(), foreground=sel_text.name())
    mark = blend(base, accent, 0.45 if is_dark(pal) else 0.3)
    region = blend(base, accent, 0.12)
    return MarkStyle(background=mark.name(), foreground=text.name(), region=region.name())


def dim_text(palette: QPalette) -> QColor:
    """Secondary text (folders, locations): the text colour halfway to the background."""
    return blend(palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base), 0.45)


def secondary(widget: QWidget, opacity: float = 0.68) -> QWidget:
    """Make text read as secondary in any theme: the palette's own colour, partly transparent."""
    effect = QGraphicsOpacityEffect(widget)
    effect.setOpacity(opacity)
    widget.setGraphicsEffect(effect)
    return widget


def app_icon() -> QIcon:
    """The application icon from resources/icons (SVG, with PNGs beside it when packaged)."""
    icon = QIcon()
    folder = ICON_FILE.parent
    for png in sorted(folder.glob("sift*.png")) if folder.is_dir() else []:
        icon.addFile(str(png))
    if ICON_FILE.is_file():
        for size in (16, 24, 32, 48, 64, 128, 256):
            icon.addFile(str(ICON_FILE), QSize(size, size))
    return icon
