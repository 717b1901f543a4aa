"""Markdown and reStructuredText read as their rendered pages: no markup, every word, lines kept."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from app.core.extract import extract
from app.core.extract.chunking import chunk_sections
from app.core.extract.markup import strip_markup

RST = """\
.. _634-capture_pattern:

Capture Patterns
^^^^^^^^^^^^^^^^

A capture pattern binds the subject to a name (``None`` never binds), see :pep:`572`,
:func:`~os.path.join`, :ref:`the match statement <match>` and :rfc:`2822`.
Read `the tutorial <https://docs.python.org/3/tutorial/>`_, Python_ or |project|.
Values are *emphasised* or **strong**, footnoted [#]_ and `interpreted`.

.. note::
   :class: tip

   The name ``_`` is a wildcard; __init__ and snake_case_name keep their underscores.

.. versionadded:: 3.10

.. _Python: https://www.python.org
"""

MARKDOWN = """\
---
title: Garden notes
---
# Garden notes #

## Fences

The **new fence** is *oak*, see [the invoice](invoices/4471.pdf "Invoice") and
![a photo of the fence](fence.jpg). ~~Pine~~ was too soft; `stain` it yearly.<br/>
> Quoted: keep _the_ gate shut.

```python
total = price * count  # *not* emphasis
```

[invoices]: https://example.com/invoices
"""


def _words(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\S+", text)]


def test_rst_roles_labels_and_directives_leave_only_their_words(tmp_path: Path) -> None:
    path = tmp_path / "patterns.rst"
    path.write_text(RST, encoding="utf-8")
    [section] = extract(path)
    lines = section.text.split("\n")
    assert len(lines) == len(RST.split("\n"))
    assert lines[0] == "" and lines[-2] == ""  # the label and the link target
    assert lines[2] == "Capture Patterns" and lines[3] == ""
    assert lines[5] == ("A capture pattern binds the subject to a name (None never binds), "
                        "see PEP 572,")
    assert lines[6] == "os.path.join, the match statement and RFC 2822."
    assert lines[7] == "Read the tutorial, Python or project."
    assert lines[8] == "Values are emphasised or strong, footnoted and interpreted."
    assert lines[10] == "Note" and lines[11] == ""  # the directive's option is markup
    assert lines[13] == ("   The name _ is a wildcard; __init__ and snake_case_name keep their "
                         "underscores.")
    assert lines[15] == "Added in version 3.10"
    assert not re.search(r"``|:\w+:`|\.\. |`_|\*\*", section.text)


def test_markdown_heading_emphasis_and_link_marks_go_code_stays(tmp_path: Path) -> None:
    path = tmp_path / "garden.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    [section] = extract(path)
    lines = section.text.split("\n")
    assert len(lines) == len(MARKDOWN.split("\n"))
    assert lines[3] == "Garden notes" and lines[5] == "Fences"
    assert lines[7] == "The new fence is oak, see the invoice and"
    assert lines[8] == "a photo of the fence. Pine was too soft; stain it yearly."
    assert lines[9] == "Quoted: keep the gate shut."
    assert lines[12] == "total = price * count  # *not* emphasis"
    assert lines[11] == lines[13] == lines[15] == ""


def test_snippets_of_a_markdown_file_show_no_marks_and_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "garden.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    chunks = chunk_sections(extract(path), _words, max_tokens=12, overlap=0)
    heading = next(c for c in chunks if "Fences" in c.text)
    assert heading.line_start <= 6 <= heading.line_end
    photo = next(c for c in chunks if "photo" in c.text)
    assert photo.line_start <= 9 <= photo.line_end
    assert not any(mark in c.text for c in chunks for mark in ("##", "**", "](", "~~", "<br"))


@given(st.text(alphabet=st.sampled_from(list("ab `*_|:.<>[]()!#~\n\t=-+")), max_size=200))
def test_stripping_markup_never_changes_the_number_of_lines(text: str) -> None:
    assert strip_markup(text).count("\n") == text.count("\n")
