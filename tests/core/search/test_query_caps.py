"""A query is capped in length and in quoted phrases, with a message that says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import run_cli
from app.core.errors import KnownError
from app.core.search.query import MAX_PHRASES, MAX_QUERY_CHARS, QueryTooLong, parse_query


def _run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = run_cli(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_window_is_told_a_query_quotes_too_many_phrases(library, docs: Path) -> None:
    library.index([str(docs)])
    query = " ".join(f'"river {i}"' for i in range(MAX_PHRASES + 4))
    with pytest.raises(KnownError) as info:
        library.search(query, rerank=False)
    assert f"quotes {MAX_PHRASES + 4} phrases, at most {MAX_PHRASES}" in str(info.value)
    assert library.search(" ".join(f'"river {i}"' for i in range(2)), rerank=False) is not None


def test_the_window_is_told_a_query_is_too_long(library, docs: Path) -> None:
    library.index([str(docs)])
    with pytest.raises(KnownError) as info:
        library.search("river " * (MAX_QUERY_CHARS // 6 + 1), rerank=False)
    assert "too long" in str(info.value) and "Shorten it" in str(info.value)


def test_sift_search_refuses_thirty_thousand_phrases_in_words(capsys, data_dir: Path,
                                                               docs: Path) -> None:
    _run(capsys, "--data-dir", str(data_dir), "index", str(docs))
    words = [f'"keeper {i}"' for i in range(30_000)]
    code, out, err = _run(capsys, "--data-dir", str(data_dir), "search", *words)
    assert code == 2 and "The query is too long" in err and "Traceback" not in err + out


def test_a_query_at_the_caps_is_searched() -> None:
    at_cap = " ".join(f'"w{i}"' for i in range(MAX_PHRASES))
    assert len(parse_query(at_cap).phrases) == MAX_PHRASES
    assert parse_query("x" * MAX_QUERY_CHARS).terms
    with pytest.raises(QueryTooLong):
        parse_query("x" * (MAX_QUERY_CHARS + 1))
