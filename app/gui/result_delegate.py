"""Painting results: a file's row (icon, name, folder, strength) and its passages' snippets."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QIcon,
    QPainter,
    QPalette,
    QTextDocument,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileIconProvider,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from app.gui import theme
from app.gui.results_model import (
    FOLDER_ROLE,
    HIT_ROLE,
    LOCATION_ROLE,
    NAME_ROLE,
    PASSAGE_ROLE,
    SCORE_ROLE,
    SNIPPET_LINES,
    AnyIndex,
    attached_text,
)
from app.gui.richtext import snippet_html


class IconCache:
    """One icon per file extension: the platform's file icons, else the style's generic one."""

    def __init__(self) -> None:
        self._provider = QFileIconProvider()
        self._icons: dict[str, QIcon] = {}

    def icon(self, path: str, style: QStyle) -> QIcon:
        ext = os.path.splitext(path)[1].lower()
        if ext not in self._icons:
            from PySide6.QtCore import QFileInfo

            icon = self._provider.icon(QFileInfo(path))
            if icon.isNull():
                icon = style.standardIcon(QStyle.StandardPixmap.SP_FileIcon)
            self._icons[ext] = icon
        return self._icons[ext]


class ResultDelegate(QStyledItemDelegate):
    """Paints a file row (icon, name, folder elided in the middle, match strength) and passage rows
    (location, then the snippet as rich text with the query's words marked)."""

    PAD = 6
    INDENT = 30

    def __init__(self, view: QAbstractItemView, icons: IconCache) -> None:
        super().__init__(view)
        self._view = view
        self._icons = icons
        self._docs: dict[tuple[int, int, bool, int], tuple[QTextDocument, float]] = {}
        self._line_counts: dict[tuple[int, int], int] = {}

    def clear_cache(self) -> None:
        self._docs.clear()
        self._line_counts.clear()

    # -- sizes ---------------------------------------------------------------------------------
    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        fm = option.fontMetrics
        width = self._view.viewport().width()
        if index.internalId() == 0:
            return QSize(width, max(22, fm.height()) + 2 * self.PAD + 2)
        # Estimated from the font, not laid out: the view asks every row's size on each new
        # answer, and laying out dozens of rich-text snippets then stalls typing. Only painted
        # rows are laid out (in _doc).
        lines = self._lines(index, self._snippet_width(width, fm), fm)
        return QSize(width, lines * fm.lineSpacing() + self.PAD + 2)

    def _lines(self, index: AnyIndex, width: int, fm: Any) -> int:
        """How many lines a snippet wraps to (a little generous: a short guess would clip text)."""
        passage = index.data(PASSAGE_ROLE)
        key = (id(passage), width)
        if key not in self._line_counts:
            text = " ".join(passage.text.split())
            ragged = fm.horizontalAdvance("mmmm")  # lines break at words, so each ends a bit short
            per_line = max(1, width - ragged)
            self._line_counts[key] = max(1, min(SNIPPET_LINES,
                                                -(-int(fm.horizontalAdvance(text) * 1.05) // per_line)))
        return self._line_counts[key]

    def _loc_width(self, fm: Any) -> int:
        return fm.horizontalAdvance("slide 00 “Abcd”") + 10

    def _snippet_width(self, row_width: int, fm: Any) -> int:
        # Never wider than the row: a too-narrow column wraps more, it does not spill over.
        return max(40, row_width - self.INDENT - self._loc_width(fm) - self.PAD)

    def _doc(self, index: AnyIndex, width: int, selected: bool, font: QFont) -> tuple[QTextDocument, float]:
        passage = index.data(PASSAGE_ROLE)
        key = (id(passage), width, selected, font.pointSize())
        cached = self._docs.get(key)
        if cached is not None:
            return cached
        doc = QTextDocument()
        doc.setDocumentMargin(0)
        doc.setDefaultFont(font)
        wrap = doc.defaultTextOption()
        wrap.setWrapMode(QTextOption.WrapMode.WordWrap)  # "lighthou se" reads as two words: never
        doc.setDefaultTextOption(wrap)
        style = theme.mark_style(self._view.palette(), selected=selected)
        doc.setHtml(snippet_html(passage.text, passage.highlights, style,
                                 getattr(passage, "meaning", ())))
        doc.setTextWidth(width)
        height = _height_of_lines(doc, SNIPPET_LINES)  # the row's own height clips it further
        if len(self._docs) > 500:  # widths change on resize; old layouts are just memory
            self._docs.clear()
        self._docs[key] = (doc, height)
        return doc, height

    # -- painting --------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        opt.icon = QIcon()
        style = self._view.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter, self._view)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        pal = opt.palette
        text_color = pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        dim = text_color if selected else theme.dim_text(pal)
        painter.save()
        model = index.model()
        if getattr(model, "weak", False):  # "closest, but not a good match": visibly secondary
            painter.setOpacity(0.55)
        if index.internalId() == 0:
            self._paint_file(painter, opt, index, text_color, dim, selected)
        else:
            self._paint_passage(painter, opt, index, text_color, dim, selected)
        painter.restore()

    def _paint_file(self, painter: QPainter, opt: QStyleOptionViewItem, index: AnyIndex,
                    text_color: QColor, dim: QColor, selected: bool) -> None:
        r = opt.rect.adjusted(self.PAD, 0, -self.PAD, 0)
        hit = index.data(HIT_ROLE)  # an attachment has its own type's icon, not the mail's
        icon = self._icons.icon(getattr(hit, "attachment", "") or hit.path, self._view.style())
        icon.paint(painter, QRect(r.left(), r.center().y() - 10, 20, 20))
        bar_w = 34
        pct_w = opt.fontMetrics.horizontalAdvance("100%") + 4
        right = r.right() - bar_w - pct_w - 8
        name_font = QFont(opt.font)
        name_font.setBold(True)
        painter.setFont(name_font)
        painter.setPen(text_color)
        name = str(index.data(NAME_ROLE))
        nfm = painter.fontMetrics()
        x = r.left() + self.INDENT - self.PAD
        name_room = max(40, (right - x) * 2 // 3)
        name = nfm.elidedText(name, Qt.TextElideMode.ElideRight, name_room)
        name_rect = QRect(x, r.top(), nfm.horizontalAdvance(name) + 1, r.height())
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, name)
        painter.setFont(opt.font)
        painter.setPen(dim)
        folder_x = name_rect.right() + 12
        # A folder keeps both ends; an attachment's text keeps its start (which mail holds it).
        mode = Qt.TextElideMode.ElideRight if attached_text(hit) else Qt.TextElideMode.ElideMiddle
        folder = opt.fontMetrics.elidedText(index.data(FOLDER_ROLE), mode,
                                            max(0, right - folder_x))
        painter.drawText(QRect(folder_x, r.top(), max(0, right - folder_x), r.height()),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, folder)
        self._paint_score(painter, opt, QRect(r.right() - bar_w - pct_w, r.top(), bar_w + pct_w,
                                              r.height()), float(index.data(SCORE_ROLE)), dim, selected)

    def _paint_score(self, painter: QPainter, opt: QStyleOptionViewItem, rect: QRect, score: float,
                     dim: QColor, selected: bool) -> None:
        """A small bar and a percentage: how strongly the file matched."""
        pal = opt.palette
        bar = QRect(rect.left(), rect.center().y() - 2, 34, 5)
        track = theme.blend(pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Text), 0.15)
        fill = pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Highlight)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        if selected:
            track = theme.blend(fill, pal.color(QPalette.ColorRole.Highlight), 0.6)
        painter.setBrush(track)
        painter.drawRoundedRect(bar, 2, 2)
        painter.setBrush(fill)
        filled = QRect(bar.left(), bar.top(), max(2, round(bar.width() * score)), bar.height())
        painter.drawRoundedRect(filled, 2, 2)
        painter.setPen(dim)
        painter.drawText(rect.adjusted(bar.width() + 4, 0, 0, 0),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                         f"{round(score * 100)}%")

    def _paint_passage(self, painter: QPainter, opt: QStyleOptionViewItem, index: AnyIndex,
                       text_color: QColor, dim: QColor, selected: bool) -> None:
        r = opt.rect
        fm = opt.fontMetrics
        x = r.left() + self.INDENT
        painter.setPen(dim)
        painter.drawText(QRect(x, r.top() + 1, self._loc_width(fm), fm.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                         # A long place ("“Results”, paragraphs 2–4") is cut with an ellipsis here;
                         # the preview shows it whole.
                         fm.elidedText(index.data(LOCATION_ROLE), Qt.TextElideMode.ElideRight,
                                       self._loc_width(fm) - 6))
        width = self._snippet_width(self._view.viewport().width(), fm)
        doc, height = self._doc(index, width, selected, opt.font)
        painter.translate(x + self._loc_width(fm), r.top() + 1)
        shown, cut_at = _cut(doc, min(SNIPPET_LINES, self._lines(index, width, fm)))
        painter.setClipRect(QRect(0, 0, int(doc.textWidth()) + 2, int(min(height, shown))))
        # The paint context's text colour follows the row, normal or selected.
        ctx = QAbstractTextDocumentLayout.PaintContext()
        ctx.palette.setColor(QPalette.ColorRole.Text, text_color)
        doc.documentLayout().draw(painter, ctx)
        if cut_at is not None:  # more text than the row shows: end it with an ellipsis
            dots = fm.horizontalAdvance("…") + 2
            end = min(cut_at, doc.textWidth() - dots)
            back = opt.palette.color(QPalette.ColorRole.Highlight if selected else QPalette.ColorRole.Base)
            line_top = int(shown) - fm.height()
            faded = painter.opacity()
            painter.setOpacity(1.0)  # the cover must hide the text under it, even on a dimmed row
            painter.fillRect(QRect(int(end), line_top, dots + 2, fm.height()), back)
            painter.setOpacity(faded)
            painter.setPen(text_color)
            painter.drawText(QRect(int(end) + 1, line_top, dots + 2, fm.height()),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "…")


def _height_of_lines(doc: QTextDocument, lines: int) -> float:
    """The height of the first ``lines`` laid-out lines, so a clipped snippet ends on a whole line."""
    return _cut(doc, lines)[0]


def _cut(doc: QTextDocument, lines: int) -> tuple[float, float | None]:
    """Where the first ``lines`` lines end: their height, and the x where the last one's text ends
    when text follows it (``None`` when everything fits)."""
    block = doc.begin()
    seen = 0
    while block.isValid():
        layout = block.layout()
        for i in range(layout.lineCount()):
            seen += 1
            if seen == lines:
                line = layout.lineAt(i)
                more = i < layout.lineCount() - 1 or block.next().isValid()
                bottom = layout.position().y() + line.y() + line.height()
                end = layout.position().x() + line.x() + line.naturalTextWidth()
                return bottom, (end if more else None)
        block = block.next()
    return doc.size().height(), None
