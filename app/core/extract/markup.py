"""Markdown, reStructuredText, Org and AsciiDoc markup taken out of the text, words kept.

What a reader of the rendered page sees is what search, snippets and the index see: no heading
marks, emphasis marks, roles, labels, directives, link targets or table borders. Every function
works line by line and keeps the number of lines, so line numbers stay right.
"""

from __future__ import annotations

import re

__all__ = ["strip_markup"]

# --- lines that are only markup -----------------------------------------------------------
# Front matter opens with "---" (YAML) or "+++" (TOML) and a "key: value" line; a document
# that merely starts with a horizontal rule keeps its text.
_FRONT_MATTER = re.compile(
    r"\A(?:---|\+\+\+)[ \t]*\n[\w-]+[ \t]*[:=].*\n(?:.*\n)*?(?:---|\+\+\+|\.\.\.)[ \t]*(?:\n|\Z)")
_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+<>:._])\1{2,}[ \t]*$")
_GRID_BORDER = re.compile(r"^[ \t]*\+(?:[-=:]+\+)+[ \t]*$")
_SIMPLE_TABLE_BORDER = re.compile(r"^[ \t]*=+(?:[ \t]+=+)+[ \t]*$")
_PIPE_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_TABLE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$")
_CODE_FENCE = re.compile(r"^[ \t]*(?:```|~~~)")
# rST: ".. _634-capture_pattern:", ".. _Python: https://…", "__ https://…", ".. [#] ", "[ref]: url".
_RST_TARGET = re.compile(r"^[ \t]*(?:\.\.[ \t]+_[^:\n]*(?:\\:[^:\n]*)*:(?:[ \t].*)?|__[ \t]+\S+)[ \t]*$")
_MD_LINK_DEFINITION = re.compile(r"^[ \t]{0,3}\[[^\]\n]+\]:[ \t]+\S+(?:[ \t]+[\"'(].*)?$")
# rST directive ".. note::", ".. versionadded:: 3.8", ".. code-block:: python"; its options
# (":maxdepth: 2") are the indented ":name:" lines right below it.
_DIRECTIVE = re.compile(r"^([ \t]*)\.\.[ \t]+(?:\|[^|\n]+\|[ \t]+)?([\w:+-]+)::[ \t]*(.*)$")
_DIRECTIVE_OPTION = re.compile(r"^[ \t]+:[\w -]+:(?:[ \t].*)?$")
# Admonitions whose name a rendered page shows as a heading of the box.
_ADMONITIONS = {"note": "Note", "warning": "Warning", "tip": "Tip", "hint": "Hint",
                "important": "Important", "caution": "Caution", "danger": "Danger",
                "error": "Error", "attention": "Attention", "seealso": "See also",
                "versionadded": "Added in version", "versionchanged": "Changed in version",
                "deprecated": "Deprecated since version", "todo": "To do"}
_RST_COMMENT = re.compile(r"^([ \t]*)\.\.(?:[ \t]+(.*))?$")
# Headings: "## Title ##" (Markdown, AsciiDoc "== Title"), "** Title" (Org), "#+TITLE: x" (Org).
_MD_HEADING = re.compile(r"^([ \t]{0,3})#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_ADOC_HEADING = re.compile(r"^={1,6}[ \t]+(.*?)[ \t]*$")
_ORG_HEADING = re.compile(r"^\*+[ \t]+(.*)$")
_ORG_KEYWORD = re.compile(r"^[ \t]*#\+\w+:[ \t]*(.*)$")
_BLOCKQUOTE = re.compile(r"^([ \t]*)(?:>[ \t]?)+")

# --- markup inside a line -------------------------------------------------------------------
# Roles: :pep:`572`, :func:`~os.path.join`, :ref:`the match statement <634-match>`, `text`:role:.
_ROLE_PREFIX = re.compile(r"(?<![\w`]):([\w.+-]+(?::[\w.+-]+)?):`([^`\n]+)`")
_ROLE_SUFFIX = re.compile(r"(?<![\w`])`([^`\n]+)`:[\w.+-]+:")
_NAMED_ROLES = {"pep": "PEP", "rfc": "RFC"}
# A target inside a reference: "text <target>", "<target>" alone keeps the target.
_TARGET = re.compile(r"^(.*?\S)[ \t]+<[^<>\n]+>$|^<([^<>\n]+)>$")
# ``literal``, `interpreted`_ / `link <url>`__, |substitution|, word_ references, [#]_ footnotes.
_LITERAL = re.compile(r"``([^`\n]+)``")
_RST_REFERENCE = re.compile(r"`([^`\n]+)`__?(?!\w)")
_BACKTICKS = re.compile(r"(?<![\w`])`([^`\n]+)`(?![\w`])")
_SUBSTITUTION = re.compile(r"(?<![\w|])\|([^|\n ][^|\n]*[^|\n ]|[^|\n ])\|(?:__?)?(?![\w|])")
_FOOTNOTE_REF = re.compile(r"[ \t]?\[(?:#[\w-]*|\*|\d+)\]_")
_WORD_REFERENCE = re.compile(r"(?<!\w)((?!_)\w*[^\W_])__?(?!\w)")
# Markdown: ![alt](src), [text](url "title"), [text][ref], <https://…>, <br/> and other tags.
_MD_IMAGE_OR_LINK = re.compile(r"!?\[([^\]\n]*)\](?:\([^)\n]*\)|\[[^\]\n]*\])")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^<>\s]+)>")
_HTML_TAG = re.compile(
    r"</?[A-Za-z][\w-]*(?:[ \t]+[\w:-]+(?:=(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s>]+))?)*[ \t]*/?>")
# Emphasis: **strong**, *emphasis*, __strong__ (not __dunder__ names), _emphasis_, ~~struck~~.
_STRONG = re.compile(r"(?<![\w*])\*\*(?=\S)([^*\n]*?\S)\*\*(?![\w*])")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![\w*])")
_UNDERSCORE_EMPHASIS = re.compile(r"(?<![\w_])_(?=[^\s_])([^_\n]*?[^\s_])_(?![\w_])")
_STRIKE = re.compile(r"(?<!~)~~(?=\S)([^~\n]*?\S)~~(?!~)")


def _reference_text(inner: str) -> str:
    """The words of a reference: "text <target>" gives "text", "~os.path.join" "os.path.join"."""
    found = _TARGET.match(inner)
    if found:
        inner = found.group(1) or found.group(2)
    return inner.lstrip("~!")


def _role(match: re.Match[str]) -> str:
    name, inner = match.group(1), _reference_text(match.group(2))
    label = _NAMED_ROLES.get(name.rsplit(":", 1)[-1].lower())
    return f"{label} {inner}" if label else inner


def _inline(line: str) -> str:
    """One line without inline markup; its words stay."""
    if not any(c in line for c in "`*_|[<~:"):
        return line
    line = _ROLE_PREFIX.sub(_role, line)
    line = _ROLE_SUFFIX.sub(lambda m: _reference_text(m.group(1)), line)
    line = _LITERAL.sub(r"\1", line)
    line = _RST_REFERENCE.sub(lambda m: _reference_text(m.group(1)), line)
    line = _BACKTICKS.sub(r"\1", line)
    line = _FOOTNOTE_REF.sub("", line)
    line = _SUBSTITUTION.sub(r"\1", line)
    line = _MD_IMAGE_OR_LINK.sub(r"\1", line)
    line = _AUTOLINK.sub(r"\1", line)
    line = _HTML_TAG.sub("", line)
    line = _STRONG.sub(r"\1", line)
    line = _EMPHASIS.sub(r"\1", line)
    line = _UNDERSCORE_EMPHASIS.sub(r"\1", line)
    line = _STRIKE.sub(r"\1", line)
    return _WORD_REFERENCE.sub(r"\1", line) if "_" in line else line


def _directive(match: re.Match[str]) -> str:
    indent, name, argument = match.groups()
    shown = _ADMONITIONS.get(name.lower())
    if shown is None:
        return f"{indent}{argument}".rstrip()
    return f"{indent}{shown} {argument}".rstrip() if argument else f"{indent}{shown}"


def _line(line: str, after_directive: bool) -> tuple[str, bool]:
    """A line without its markup, and whether directive options may follow it."""
    if (_ADORNMENT.match(line) or _GRID_BORDER.match(line) or _SIMPLE_TABLE_BORDER.match(line)
            or (_PIPE_TABLE_RULE.match(line) and "---" in line) or _RST_TARGET.match(line)
            or _MD_LINK_DEFINITION.match(line)):
        return "", False
    if after_directive and _DIRECTIVE_OPTION.match(line):
        return "", True
    directive = _DIRECTIVE.match(line)
    if directive:
        return _inline(_directive(directive)), True
    comment = _RST_COMMENT.match(line)
    if comment:
        return f"{comment.group(1)}{_inline(comment.group(2) or '')}".rstrip(), False
    if _TABLE_ROW.match(line):
        cells = [_inline(c.strip()) for c in line.strip().strip("|").split("|")]
        return "\t".join(c for c in cells if c), False
    for heading in (_MD_HEADING, _ADOC_HEADING, _ORG_HEADING, _ORG_KEYWORD):
        found = heading.match(line)
        if found:
            return _inline(found.group(found.lastindex or 1)), False
    line = _BLOCKQUOTE.sub(r"\1", line) if line.lstrip().startswith(">") else line
    return _inline(line), False


def strip_markup(text: str) -> str:
    """The text as its rendered page reads; same number of lines as the input."""
    front = _FRONT_MATTER.match(text)
    if front:
        text = "\n" * front.group().count("\n") + text[front.end():]
    lines = text.split("\n")
    after_directive = in_code = False
    for i, line in enumerate(lines):
        if _CODE_FENCE.match(line):
            lines[i], in_code = "", not in_code
        elif not in_code:  # code keeps its asterisks and underscores
            lines[i], after_directive = _line(line, after_directive)
    return "\n".join(lines)
