"""More like this: files closest in meaning to one file, never itself or its exact copies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import run_cli
from app.core.errors import KnownError
from app.core.search.meaning_marks import MarkerSource
from tests.word_marker import word_marker


@pytest.fixture
def pets(tmp_path: Path) -> Path:
    d = tmp_path / "pets"
    d.mkdir()
    (d / "dogs.md").write_text("Dog food and canine nutrition: protein for a puppy.\n",
                               encoding="utf-8")
    (d / "dogs copy.md").write_text("Dog food and canine nutrition: protein for a puppy.\n",
                                    encoding="utf-8")
    (d / "puppy.txt").write_text("The puppy eats dog food with protein every morning.\n",
                                 encoding="utf-8")
    (d / "lease.txt").write_text("The landlord kept the deposit after the lease ended.\n",
                                 encoding="utf-8")
    return d


def test_similar_leaves_out_the_file_and_its_copies(library, pets: Path) -> None:  # type: ignore[no-untyped-def]
    library.index([str(pets)])
    resp = library.similar(str(pets / "dogs.md"))
    paths = [h.path for h in resp.hits]
    assert str(pets / "dogs.md") not in paths and str(pets / "dogs copy.md") not in paths
    assert set(paths) == {str(pets / "puppy.txt"), str(pets / "lease.txt")}
    assert all(h.passages for h in resp.hits)


@pytest.mark.real_model
def test_with_the_real_model_the_closest_file_comes_first(tmp_path: Path, pets: Path) -> None:
    from app.core.host.paths import resolve_paths
    from app.core.library import Library
    from app.core.settings import Settings

    lib = Library(resolve_paths(tmp_path / "data"), Settings(rerank=False))
    try:
        lib.index([str(pets)])
        resp = lib.similar(str(pets / "dogs.md"))
    finally:
        lib.close()
    assert [h.path for h in resp.hits] == [str(pets / "puppy.txt"), str(pets / "lease.txt")]
    (a, b), = resp.hits[0].passages[0].meaning  # what they share, marked
    assert "puppy" in resp.hits[0].passages[0].text[a:b]


def test_similar_of_a_file_not_indexed_says_so(library, pets: Path) -> None:  # type: ignore[no-untyped-def]
    library.index([str(pets)])
    with pytest.raises(KnownError, match="not in the index"):
        library.similar(str(pets / "missing.txt"))


def test_sift_similar_json_has_the_search_shape(capsys, data_dir: Path, pets: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli(["--data-dir", str(data_dir), "index", str(pets)]) == 0
    capsys.readouterr()
    run_cli(["--data-dir", str(data_dir), "search", "--json", "--here", "puppy"])
    search = json.loads(capsys.readouterr()[0])
    assert run_cli(["--data-dir", str(data_dir), "similar", "--json", "--limit", "1",
                    str(pets / "dogs.md")]) == 0
    similar = json.loads(capsys.readouterr()[0])
    assert set(similar) == set(search)
    assert set(similar["results"][0]) == set(search["results"][0])
    assert set(similar["results"][0]["passages"][0]) == set(search["results"][0]["passages"][0])
    assert len(similar["results"]) == 1
    assert similar["results"][0]["path"] in {str(pets / "puppy.txt"), str(pets / "lease.txt")}


def test_sift_similar_prints_the_files_with_marks(capsys, data_dir: Path, pets: Path) -> None:  # type: ignore[no-untyped-def]
    run_cli(["--data-dir", str(data_dir), "index", str(pets)])
    capsys.readouterr()
    assert run_cli(["--data-dir", str(data_dir), "similar", str(pets / "dogs.md")]) == 0
    out, err = capsys.readouterr()
    assert "Files most like" in err and str(pets / "puppy.txt") in out
    assert str(pets / "dogs copy.md") not in out


def test_sift_search_marks_words_and_the_meaning_sentence(capsys, data_dir: Path, pets: Path,  # type: ignore[no-untyped-def]
                                                          monkeypatch) -> None:
    monkeypatch.setattr(MarkerSource, "_load", lambda self: word_marker())
    run_cli(["--data-dir", str(data_dir), "index", str(pets)])
    capsys.readouterr()
    run_cli(["--data-dir", str(data_dir), "search", "--json", "--here", "puppy", "food"])
    passage = json.loads(capsys.readouterr()[0])["results"][0]["passages"][0]
    kinds = {kind for _, _, kind in passage["highlights"]}
    assert kinds == {"word", "meaning"}
    for a, b, kind in passage["highlights"]:
        if kind == "word":
            assert passage["text"][a:b].lower() in {"puppy", "food"}
    run_cli(["--data-dir", str(data_dir), "search", "--here", "puppy", "food"])
    out = capsys.readouterr()[0]
    assert "[puppy]" in out.lower() and "«" in out and "»" in out  # a pipe: brackets and quotes
