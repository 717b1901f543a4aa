"""Indexing folders: what gets in, what is skipped and why, and incremental updates."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.pdf_samples import make_pdf


def _paths(lib) -> set[str]:  # type: ignore[no-untyped-def]
    return set(lib.store.catalog.all_files())


def _indexed(lib) -> set[str]:  # type: ignore[no-untyped-def]
    return {p for p, s in lib.store.catalog.all_files().items() if s.status == "indexed"}


def test_index_finds_text_files_and_counts_passages(library, docs: Path) -> None:
    report = library.index([str(docs)])
    assert report.added == 4
    assert report.skipped == 0
    assert _indexed(library) == {str(p) for p in docs.rglob("*") if p.is_file()}
    stats = library.stats()
    assert stats.files == 4 and stats.chunks >= 4
    assert stats.folders == (str(docs.resolve()),)


def test_reindex_without_changes_touches_nothing(library, docs: Path) -> None:
    library.index([str(docs)])
    again = library.index([str(docs)])
    assert (again.added, again.updated, again.removed, again.chunks) == (0, 0, 0, 0)
    assert again.unchanged == 4


def test_edited_file_is_reembedded_and_old_text_is_gone(library, docs: Path) -> None:
    library.index([str(docs)])
    target = docs / "lease.txt"
    target.write_text("The plumber sent an invoice for the boiler valve.\n", encoding="utf-8")
    os.utime(target, ns=(1, 10**18))
    report = library.index([str(docs)])
    assert report.updated == 1 and report.chunks >= 1
    hits = library.search('"boiler valve"').hits
    assert [h.path for h in hits] == [str(target)]
    assert library.search('"deposit after the lease"').unmatched_phrases == ("deposit after the lease",)
    assert library.store.consistent()


def test_touched_but_unchanged_file_is_not_reembedded(library, docs: Path) -> None:
    library.index([str(docs)])
    os.utime(docs / "lease.txt", ns=(1, 10**18))
    report = library.index([str(docs)])
    assert report.chunks == 0 and report.updated == 0


def test_moved_file_keeps_its_vectors(library, docs: Path) -> None:
    library.index([str(docs)])
    before = library.store.catalog.chunk_ids().tolist()
    (docs / "archive").mkdir()
    shutil.move(str(docs / "lease.txt"), str(docs / "archive" / "old-lease.txt"))
    report = library.index([str(docs)])
    assert report.moved == 1 and report.chunks == 0 and report.removed == 0
    assert library.store.catalog.chunk_ids().tolist() == before
    hits = library.search("landlord deposit").hits
    assert hits[0].path == str(docs / "archive" / "old-lease.txt")


def test_deleted_file_leaves_the_index(library, docs: Path) -> None:
    library.index([str(docs)])
    (docs / "code.py").unlink()
    report = library.index([str(docs)])
    assert report.removed == 1
    assert str(docs / "code.py") not in _paths(library)
    assert all(h.path != str(docs / "code.py") for h in library.search("alpha beta").hits)
    assert library.store.consistent()


def test_unreachable_folder_keeps_its_index(library, docs: Path, tmp_path: Path) -> None:
    library.index([str(docs)])
    moved = tmp_path / "unplugged"
    docs.rename(moved)
    report = library.index()
    assert report.removed == 0
    assert len(_indexed(library)) == 4
    moved.rename(docs)
    report = library.index()
    assert report.chunks == 0 and report.unchanged == 4


def test_bad_files_are_skipped_with_reasons_and_indexing_goes_on(library, tmp_path: Path) -> None:
    d = tmp_path / "bad"
    d.mkdir()
    (d / "empty.txt").write_bytes(b"")
    (d / "binary.txt").write_bytes(bytes(range(256)) * 20)
    (d / "broken.pdf").write_bytes(b"%PDF-1.4\n this is not really a pdf at all")
    make_pdf(d / "locked.pdf", ["secret text"], encrypt="pw")
    make_pdf(d / "scanned.pdf", ["", ""])
    (d / "huge.txt").write_text("word " * 300_000, encoding="utf-8")
    (d / "good.txt").write_text("The river runs to the ocean.", encoding="utf-8")
    (d / "latin1.txt").write_bytes("Rechnung von Müller Sanitär für das Ventil".encode("cp1252"))
    library.settings = library.settings.__class__(**{**library.settings.__dict__, "max_file_mb": 1})
    report = library.index([str(d)])
    reasons = {Path(s.path).name: s.reason for s in library.skipped()}
    assert set(reasons) == {"empty.txt", "binary.txt", "broken.pdf", "locked.pdf", "scanned.pdf",
                            "huge.txt"}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "encrypted" in reasons["locked.pdf"]
    assert "no text layer" in reasons["scanned.pdf"]
    assert "limit" in reasons["huge.txt"]
    assert report.added == 2
    assert library.search("Müller Sanitär").hits[0].path == str(d / "latin1.txt")


def test_pdf_pages_are_located(library, tmp_path: Path) -> None:
    d = tmp_path / "pdfs"
    d.mkdir()
    make_pdf(d / "2024-03 Müller Sanitär.pdf", ["Cover letter", "Invoice for the boiler valve"])
    library.index([str(d)])
    hit = library.search('"boiler valve"').hits[0]
    assert hit.path.endswith("Müller Sanitär.pdf")
    assert hit.passages[0].page == 2


def test_excluded_folders_and_gitignore_are_respected(library, docs: Path) -> None:
    for name in (".git", "node_modules", ".venv", "build"):
        (docs / name).mkdir()
        (docs / name / "junk.txt").write_text("river ocean junk", encoding="utf-8")
    (docs / ".gitignore").write_text("secret/\n*.log\n", encoding="utf-8")
    (docs / "secret").mkdir()
    (docs / "secret" / "s.txt").write_text("river", encoding="utf-8")
    (docs / "trace.log").write_text("river", encoding="utf-8")
    (docs / "private").mkdir()
    (docs / "private" / "p.txt").write_text("river", encoding="utf-8")
    library.settings = library.settings.__class__(
        **{**library.settings.__dict__, "exclude": ("private/",)})
    library.index([str(docs)])
    names = {Path(p).relative_to(docs).as_posix() for p in _paths(library)}
    assert names == {"dogs.md", "lease.txt", "code.py", "sub/river.txt"}


def test_line_numbers_point_into_the_file(library, tmp_path: Path) -> None:
    d = tmp_path / "lines"
    d.mkdir()
    lines = [f"filler line number {i} with alpha" for i in range(1, 60)]
    lines[41] = "the landlord kept the deposit"
    (d / "long.txt").write_text("\n".join(lines), encoding="utf-8")
    library.index([str(d)])
    hit = library.search('"landlord kept the deposit"').hits[0]
    p = hit.passages[0]
    assert p.line <= 42 <= hit.passages[0].line_end


def test_changing_the_model_reindexes_into_a_separate_index(library, docs: Path, tmp_path: Path,
                                                             tiny_model: Path) -> None:
    library.index([str(docs)])
    first = library.index_folder
    other_model = tmp_path / "other-model"
    shutil.copytree(tiny_model, other_model)
    other = library.with_model(str(other_model))
    try:
        assert other.index_folder != first
        report = other.index()
        assert report.added == 4 and report.chunks >= 4
        assert other.store.catalog.get_meta("model") == str(other_model.resolve())
        assert not first.exists()  # the old model's vectors are gone, never mixed
    finally:
        other.close()


def test_a_failure_past_extraction_lists_the_file_and_reads_the_ones_behind_it(
        library, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import app.core.indexing.file_reader as reader_module

    d = tmp_path / "mixed"
    d.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (d / name).write_text(f"The lighthouse keeper of {name} wrote a log.", encoding="utf-8")
    real = reader_module.chunk_sections

    def failing_on_b(sections, *args, **kwargs):  # type: ignore[no-untyped-def]
        if any("b.txt" in s.text for s in sections):
            raise ValueError("a chunking bug")
        return real(sections, *args, **kwargs)

    monkeypatch.setattr(reader_module, "chunk_sections", failing_on_b)
    library.index([str(d)])
    assert _indexed(library) == {str(d / "a.txt"), str(d / "c.txt")}
    assert [(Path(s.path).name, s.reason) for s in library.skipped()] == [
        ("b.txt", "could not read the file (a chunking bug)")]


def test_recently_modified_files_are_read_and_embedded_first(library, tmp_path: Path) -> None:
    from app.core.indexing.indexer import Indexer
    from app.core.indexing.scanner import normalize_folder
    from app.core.indexing.stages import EmbeddingStage
    from app.core.storage.catalog import STAGE_WORDS

    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    day = 86_400
    now = 1_700_000_000
    # Names and folders in another order than the dates: the scan's order is not the answer.
    ages = {"a_report.txt": 30, "sub/b_minutes.txt": 2, "c_invoice.txt": 400,
            "sub/d_draft.txt": 0, "e_letter.txt": 9}
    for name, age in ages.items():
        path = folder / name
        path.write_text(f"{path.stem} about the quarterly budget\n" * 3, encoding="utf-8")
        os.utime(path, (now - age * day, now - age * day))
    newest_first = [str(folder / n) for n in sorted(ages, key=ages.__getitem__)]
    root = normalize_folder(folder)
    library.add_folders([root])
    stage = EmbeddingStage(library.store, library.embedder, batch=1)
    embedded: list[str] = []

    class Recording:
        name = stage.name

        def pending(self) -> tuple[int, int]:
            return stage.pending()

        def step(self, checkpoint):  # type: ignore[no-untyped-def]
            result = stage.step(checkpoint)
            cat = library.store.catalog
            waiting = set(cat.files_at_stage(STAGE_WORDS))
            for path, state in cat.all_files().items():
                if path not in embedded and state.id not in waiting:
                    embedded.append(path)
            return result

    indexer = Indexer(library.store, library.embedder, library.settings, library.control,
                      later_stages=[Recording()])  # type: ignore[list-item]
    assert indexer.index_folders([root]).added == 5
    files = library.store.catalog.all_files()
    written = sorted(files, key=lambda p: files[p].id)  # ids follow the order files were written
    assert written == newest_first
    assert embedded == newest_first
