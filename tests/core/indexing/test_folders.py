"""Chosen folders as one set: diffs never drop a folder by accident, and overlapping folders share files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from app.core.host.paths import resolve_paths
from app.core.indexing.folders import FolderChanges, FolderSet, uncovered_below
from app.core.indexing.scanner import Rules
from app.core.library import Library
from app.core.settings import load_settings


def indexed(lib: Library) -> set[str]:
    return {p for p, s in lib.store.catalog.all_files().items() if s.status == "indexed"}


def test_a_diff_holds_only_what_changed(tmp_path: Path) -> None:
    a, b, c = (str(tmp_path / n) for n in "abc")
    folders = FolderSet([a, b])
    assert folders.diff([b, c]) == FolderChanges(added=(c,), removed=(a,))
    assert not folders.diff([a, b])
    copy = folders.copy()
    copy.add(c)
    assert c not in folders and c in copy
    assert folders.apply(FolderChanges(added=(a,), removed=(c,))) == FolderChanges()


def test_overlap_is_resolved_by_which_folders_cover_a_path(tmp_path: Path) -> None:
    p, child, other = str(tmp_path / "p"), str(tmp_path / "p" / "c"), str(tmp_path / "pc")
    folders = FolderSet([child, other, p])
    assert folders.containing(f"{child}/x.txt") == [child, p]
    assert folders.containing(f"{other}/x.txt") == [other]  # a shared name prefix is no overlap
    assert folders.closure([child]) == [p, child]
    assert folders.outermost() == [other, p]
    rules = Rules()
    paths = [f"{child}/x.txt", f"{p}/y.txt"]
    assert uncovered_below(paths, child, FolderSet([p]), rules) == []
    assert uncovered_below(paths, p, FolderSet([child]), rules) == [f"{p}/y.txt"]


def test_stale_settings_never_remove_a_folder(library: Library, docs: Path, tmp_path: Path) -> None:
    stale = library.settings  # what a dialog opened before the folder was added holds
    extra = tmp_path / "extra"
    extra.mkdir()
    library.add_folders([str(extra)])
    library.update_settings(replace(stale, results=7))
    assert str(extra) in library.settings.folders and library.settings.results == 7
    assert str(extra) in load_settings(library.paths.settings_file).folders


def test_removing_a_nested_folder_keeps_the_files_its_parent_covers(library: Library,
                                                                    docs: Path) -> None:
    child = docs / "sub"
    library.index([str(docs)])
    library.index([str(child)])
    before = indexed(library)
    assert library.remove_folder(str(child)) == 0
    assert indexed(library) == before
    assert str(child / "river.txt") in indexed(library)
    library.remove_folder(str(docs))
    assert indexed(library) == set()


def test_removing_the_parent_keeps_the_nested_folders_files(library: Library, docs: Path) -> None:
    child = docs / "sub"
    library.index([str(child)])
    library.index([str(docs)])
    assert library.remove_folder(str(docs)) == 3
    assert indexed(library) == {str(child / "river.txt")}


def test_a_chosen_hidden_folder_inside_another_stays_indexed(library: Library, docs: Path) -> None:
    notes = docs / ".notes"  # hidden: the parent's rules leave it out, but the user chose it
    notes.mkdir()
    (notes / "plan.txt").write_text("the plan for the boiler valve\n", encoding="utf-8")
    library.index([str(notes)])
    library.index([str(docs)])
    assert str(notes / "plan.txt") in indexed(library)
    library.index()  # everything again
    assert str(notes / "plan.txt") in indexed(library)
    assert library.stats().files == 5


def test_folder_counts_include_nested_folders(library: Library, docs: Path) -> None:
    library.index([str(docs), str(docs / "sub")])
    counts = library.folder_counts()
    assert counts[str(docs)][0] == 4 and counts[str(docs / "sub")][0] == 1


def test_indexing_overlapping_folders_indexes_each_file_once(tmp_path: Path, settings,
                                                             tiny_embedder, docs: Path) -> None:
    lib = Library(resolve_paths(tmp_path / "d2"), settings, embedder=tiny_embedder)
    try:
        report = lib.index([str(docs / "sub"), str(docs)])
        assert report.added == 4
    finally:
        lib.close()


def test_sift_config_folders_sets_the_list(tmp_path: Path) -> None:
    from app.cli import run_cli

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    data = str(tmp_path / "data")
    assert run_cli(["--data-dir", data, "config", "folders", str(a), str(b)]) == 0
    assert run_cli(["--data-dir", data, "config", "folders", str(b)]) == 0
    assert load_settings(tmp_path / "data" / "settings.json").folders == (str(b),)


NAMES = ("/r/p", "/r/p/c", "/r/p/c/d", "/r/pc", "/r/q", "/r/p/.h")


@given(st.lists(st.sampled_from(NAMES)), st.lists(st.sampled_from(NAMES)),
       st.lists(st.sampled_from(NAMES)))
def test_a_dialog_diff_changes_only_what_the_user_changed(start: list[str], wanted: list[str],
                                                          added_meanwhile: list[str]) -> None:
    shown = FolderSet(start)  # what the dialog opened with
    live = FolderSet(start)
    for folder in added_meanwhile:  # folders added elsewhere while the dialog was open
        live.add(folder)
    done = live.apply(shown.diff(wanted))
    assert set(live) == set(wanted) | (set(added_meanwhile) - set(start) - set(shown.diff(
        wanted).removed))
    assert set(done.removed) <= set(start) - set(wanted)  # never a folder nobody removed


@given(st.sets(st.sampled_from(NAMES)), st.sampled_from(NAMES),
       st.sampled_from(["x.txt", "c/x.txt", "c/d/x.txt", ".h/x.txt", "c/.h/x.txt"]))
def test_a_removed_folder_forgets_exactly_the_files_no_other_folder_covers(
        remaining: set[str], removed: str, rel: str) -> None:
    path = f"/r/p/{rel}"
    folders = FolderSet(remaining - {removed})
    dropped = uncovered_below([path], removed, folders, Rules())
    if path.startswith(removed + "/"):
        assert (dropped == [path]) == (not folders.covers(path, Rules()))
    else:
        assert dropped == []
