"""Search results as a two-level model (files, then their passages) and the delegate that paints them."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
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
from app.gui.richtext import snippet_html
from app.gui.shown_paths import carried, shown

HIT_ROLE = Qt.ItemDataRole.UserRole + 1
PASSAGE_ROLE = Qt.ItemDataRole.UserRole + 2
PATH_ROLE = Qt.ItemDataRole.UserRole + 3
FOLDER_ROLE = Qt.ItemDataRole.UserRole + 4
LOCATION_ROLE = Qt.ItemDataRole.UserRole + 5
SCORE_ROLE = Qt.ItemDataRole.UserRole + 6
KEY_ROLE = Qt.ItemDataRole.UserRole + 7  # which result a row belongs to (see result_key)
NAME_ROLE = Qt.ItemDataRole.UserRole + 8  # the name in bold: the file's, or the attachment's

AnyIndex = QModelIndex | QPersistentModelIndex
SNIPPET_LINES = 3  # a row shows this much; the preview shows the rest


def location_text(passage: Any) -> str:
    """Where the passage is, as a user reads it: 'slide 2 “Numbers”', 'page 3', 'line 12'."""
    if getattr(passage, "location", ""):
        return str(passage.location)
    if passage.page is not None:
        return f"page {passage.page}"
    return f"line {passage.line}"


def result_key(hit: Any) -> str:
    """One result among others: its path, and for an e-mail attachment which part of the mail."""
    part = getattr(hit, "part", "")
    return f"{carried(hit.path)}\0{part}" if part else carried(str(hit.path))


def title_text(hit: Any) -> str:
    """What a result is called: its file name, or 'report.pdf — attached to “Offer” (offer.eml)'."""
    return shown(str(getattr(hit, "title", "") or os.path.basename(hit.path)))


def attached_text(hit: Any) -> str:
    """'attached to “Offer” (offer.eml)' for an e-mail attachment, else ''."""
    if not getattr(hit, "attachment", ""):
        return ""
    return f"attached to “{hit.attached_to}” ({shown(os.path.basename(hit.path))})"


def tooltip_text(hit: Any) -> str:
    if getattr(hit, "attachment", ""):
        return f"{hit.attachment}, attached to “{hit.attached_to}” in {shown(hit.path)}"
    return shown(str(hit.path))


def folder_text(path: str) -> str:
    """The file's folder, with the home folder shortened to ~ (as file managers show it)."""
    folder = shown(os.path.dirname(path))
    home = os.path.expanduser("~")
    if home and home != os.sep and (folder == home or folder.startswith(home + os.sep)):
        return "~" + folder[len(home):]
    return folder


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


class ResultsModel(QAbstractItemModel):
    """Top-level rows are files (FileHit); each has its passages as children.

    Internal ids: 0 for a file row, file row + 1 for its passages, so parents need no objects.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.response: Any = None
        self.hits: tuple[Any, ...] = ()

    @property
    def weak(self) -> bool:
        return bool(self.response is not None and self.response.weak)

    def set_response(self, response: Any) -> None:
        self.beginResetModel()
        self.response = response
        self.hits = tuple(response.hits) if response is not None else ()
        self.endResetModel()

    def clear(self) -> None:
        self.set_response(None)

    # -- structure ---------------------------------------------------------------------------
    def index(self, row: int, column: int = 0, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if column != 0 or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, 0, 0) if row < len(self.hits) else QModelIndex()
        if parent.internalId() == 0 and row < len(self.hits[parent.row()].passages):
            return self.createIndex(row, 0, parent.row() + 1)
        return QModelIndex()

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid() or index.internalId() == 0:
            return QModelIndex()
        return self.createIndex(int(index.internalId()) - 1, 0, 0)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self.hits)
        if parent.internalId() == 0:
            return len(self.hits[parent.row()].passages)
        return 0

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 1

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # -- content -----------------------------------------------------------------------------
    def hit_of(self, index: AnyIndex) -> Any:
        if not index.isValid():
            return None
        file_row = index.row() if index.internalId() == 0 else int(index.internalId()) - 1
        return self.hits[file_row] if file_row < len(self.hits) else None

    def passage_index_of(self, index: AnyIndex) -> int:
        """Which passage of its file a row is (a file row stands for its best passage, 0)."""
        return 0 if not index.isValid() or index.internalId() == 0 else index.row()

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        hit = self.hit_of(index)
        if hit is None:
            return None
        is_file = index.internalId() == 0
        passage = None if is_file else hit.passages[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return title_text(hit) if is_file else passage.text
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip_text(hit)
        if role == PATH_ROLE:  # what Qt carries intact; FileActions takes the real path back
            return carried(hit.path)
        if role == KEY_ROLE:
            return result_key(hit)
        if role == HIT_ROLE:
            return hit
        if role == PASSAGE_ROLE:
            return passage
        if role == NAME_ROLE:
            return getattr(hit, "attachment", "") or shown(os.path.basename(hit.path))
        if role == FOLDER_ROLE:
            # An attachment says which mail holds it first, then where that mail lives.
            attached = attached_text(hit)
            return f"{attached}  ·  {folder_text(hit.path)}" if attached else folder_text(hit.path)
        if role == LOCATION_ROLE:
            return location_text(passage) if passage is not None else ""
        if role == SCORE_ROLE:
            return max(0.0, min(1.0, float(hit.score)))
        return None


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
