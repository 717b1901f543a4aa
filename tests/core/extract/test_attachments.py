"""E-mail attachments are results of their own: found, filtered, moved and removed with their mail."""

from __future__ import annotations

import mailbox
import os
import shutil
import sqlite3
from email.message import EmailMessage
from pathlib import Path

import docx
import pytest

from app.core.extract import extract, extract_parts
from app.core.extract.mail import attachment_bytes
from app.core.search.searcher import Filters
from app.core.storage.catalog import SCHEMA_VERSION, Catalog
from tests.pdf_samples import pdf_bytes

ROOF = "The roofer quotes slate tiles and copper gutters for the north side."
TERMS = "Payment is due within thirty days of the invoice date."


def _mail(subject: str, body: str, *attachments: tuple[str, bytes]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "Ann Lee <ann@example.org>"
    message["Date"] = "Tue, 05 Mar 2024 10:30:00 +0000"
    message.set_content(body)
    for name, data in attachments:
        message.add_attachment(data, maintype="application", subtype="octet-stream",
                               filename=name)
    return message


def _docx(text: str, tmp: Path) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    document.save(str(tmp / "made.docx"))
    return (tmp / "made.docx").read_bytes()


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    d = tmp_path / "mail"
    d.mkdir()
    offer = _mail("Offer for the roof", "Hello, please find our offer attached.",
                  ("report.pdf", pdf_bytes(["Cover page", ROOF])),
                  ("logo.png", b"\x89PNG damaged"),
                  ("broken.xlsx", b"PK\x03\x04 not really a workbook"))
    (d / "2024-03 offer.eml").write_bytes(bytes(offer))
    (d / "note.txt").write_text("A note about the garden fence.\n", encoding="utf-8")
    return d


# -- extraction ------------------------------------------------------------------------------------

def test_an_eml_yields_its_attachments_as_members_not_as_its_own_text(mail_dir: Path) -> None:
    found = extract_parts(mail_dir / "2024-03 offer.eml")
    assert len(found.sections) == 1 and ROOF not in found.sections[0].text
    assert "please find our offer" in found.sections[0].text
    report, logo, broken = found.members
    assert (logo.name, logo.sections) == ("logo.png", ()) and "not a readable image" in logo.reason
    assert (report.key, report.name, report.of) == ("1.1", "report.pdf", "Offer for the roof")
    assert [s.page for s in report.sections] == [1, 2] and report.sections[1].text == ROOF
    assert (broken.key, broken.name, broken.sections) == ("1.3", "broken.xlsx", ())
    assert broken.reason  # why it could not be read, in words
    assert extract(mail_dir / "2024-03 offer.eml") == found.sections


def test_mbox_attachments_say_which_message_holds_them(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(str(path))
    box.add(_mail("Hello", "No attachment here."))
    terms = _docx(TERMS, tmp_path)  # once: a document made a second later differs in its date
    box.add(_mail("Terms", "See attached.", ("terms.docx", terms)))
    box.close()
    found = extract_parts(path)
    [member] = found.members
    assert (member.key, member.name, member.of) == ("2.1", "terms.docx", "Terms")
    assert member.sections[0].text == TERMS
    name, data = attachment_bytes(path, "2.1", 2**20)
    assert name == "terms.docx" and data == terms


def test_an_attachment_over_the_size_limit_is_a_member_skipped_with_the_reason(
        tmp_path: Path) -> None:
    from app.core.extract import MBOX_MAX_BYTES

    path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(str(path))
    box.add(_mail("Big", "Too big to read.", ("huge.txt", b"words " * 40_000)))
    box.close()
    found = extract_parts(path, max_bytes=100_000)
    [member] = found.members
    assert member.sections == () and member.size == 240_000
    assert member.reason == "larger than the 97.7 KB limit (234.4 KB)"
    assert path.stat().st_size < MBOX_MAX_BYTES and "Too big to read." in found.sections[0].text


def test_attachment_bytes_finds_the_attachment_by_its_key(mail_dir: Path) -> None:
    name, data = attachment_bytes(mail_dir / "2024-03 offer.eml", "1.1", 2**20)
    assert name == "report.pdf" and data == pdf_bytes(["Cover page", ROOF])
    from app.core.errors import SkipFile

    with pytest.raises(SkipFile):
        attachment_bytes(mail_dir / "2024-03 offer.eml", "1.7", 2**20)


# -- indexing and search ----------------------------------------------------------------------------

def _holding(library, phrase: str, **filters):  # type: ignore[no-untyped-def]
    """The results holding ``phrase`` (a search whose phrase no file holds drops it)."""
    resp = library.search(f'"{phrase}"', rerank=False,
                          filters=Filters(**filters) if filters else None)
    return () if resp.unmatched_phrases else resp.hits


def _roof_hits(library, **filters):  # type: ignore[no-untyped-def]
    return _holding(library, "copper gutters", **filters)


def test_an_attachment_is_a_result_of_its_own_named_for_it(library, mail_dir: Path) -> None:
    library.index([str(mail_dir)])
    mail = str(mail_dir / "2024-03 offer.eml")
    [hit] = _roof_hits(library)
    assert (hit.path, hit.attachment, hit.attached_to, hit.ext) == (
        mail, "report.pdf", "Offer for the roof", ".pdf")
    assert hit.passages[0].page == 2
    assert hit.title == "report.pdf — attached to “Offer for the roof” (2024-03 offer.eml)"
    # The mail's own result holds its own words only: nothing is counted twice.
    mail_hits = _holding(library, "please find our offer")
    assert [(h.path, h.attachment) for h in mail_hits] == [(mail, "")]
    # The type filter treats it as a PDF, the folder filter as living where the mail lives.
    assert len(_roof_hits(library, types=("pdf",))) == 1
    assert _roof_hits(library, types=("eml",)) == ()
    assert len(_roof_hits(library, folder=str(mail_dir))) == 1
    assert _roof_hits(library, folder=str(mail_dir / "elsewhere")) == ()
    # Files on disk are counted as files; the attachment is counted apart.
    assert library.stats().files == 2
    assert library.store.catalog.attachment_count() == 1
    # Its meaning is embedded like any file's.
    assert library.store.catalog.files_at_stage("words") == []
    assert library.store.consistent()


def test_a_broken_attachment_is_listed_as_skipped_and_the_mail_stays(library,
                                                                       mail_dir: Path) -> None:
    library.index([str(mail_dir)])
    mail = str(mail_dir / "2024-03 offer.eml")
    broken, logo = sorted(library.skipped(), key=lambda s: s.reason)
    assert broken.path == mail and broken.reason.startswith("attachment “broken.xlsx”: ")
    assert logo.path == mail and logo.reason.startswith("attachment “logo.png”: not a readable image")
    assert library.search('"please find our offer"', rerank=False).hits[0].path == mail


def test_attachments_follow_their_mail_when_edited_moved_and_deleted(library,
                                                                     mail_dir: Path) -> None:
    library.index([str(mail_dir)])
    cat = library.store.catalog
    mail = mail_dir / "2024-03 offer.eml"
    # Edited: the new attachment replaces the old one.
    mail.write_bytes(bytes(_mail("Offer for the roof, revised", "Revised offer.",
                                 ("terms.docx", _docx(TERMS, mail_dir.parent)))))
    os.utime(mail, ns=(1, 10**18))
    library.index([str(mail_dir)])
    assert _roof_hits(library) == ()
    [hit] = _holding(library, "thirty days")
    assert (hit.attachment, hit.attached_to) == ("terms.docx", "Offer for the roof, revised")
    assert library.store.consistent() and library.skipped() == []
    # Moved: same passages and vectors, at the new place.
    ids = cat.chunk_ids().tolist()
    (mail_dir / "archive").mkdir()
    moved = mail_dir / "archive" / "offer.eml"
    shutil.move(str(mail), moved)
    report = library.index([str(mail_dir)])
    assert report.moved == 1 and cat.chunk_ids().tolist() == ids
    [hit] = _holding(library, "thirty days", folder=str(mail_dir / "archive"))
    assert (hit.path, hit.attachment) == (str(moved), "terms.docx")
    # Deleted: gone from the catalog and from the vector index.
    moved.unlink()
    library.index([str(mail_dir)])
    assert _holding(library, "thirty days") == ()
    assert cat.attachment_count() == 0 and library.store.consistent()
    assert len(cat.chunk_ids()) == len(cat.chunks_of_file(cat.file_state(
        str(mail_dir / "note.txt")).id))


def test_watched_changes_reach_attachments(library, mail_dir: Path) -> None:
    library.index([str(mail_dir)])
    mail = str(mail_dir / "2024-03 offer.eml")
    folders = [str(mail_dir)]
    indexer = library.indexer()
    # Renamed (the watcher reports both ends): the attachment follows, not embedded again.
    ids = library.store.catalog.chunk_ids().tolist()
    renamed = str(mail_dir / "roof offer.eml")
    os.rename(mail, renamed)
    assert indexer.update_paths([mail, renamed], folders).moved == 1
    assert library.store.catalog.chunk_ids().tolist() == ids
    assert [h.path for h in _roof_hits(library)] == [renamed]
    # Edited in place: read again.
    Path(renamed).write_bytes(bytes(_mail("Roof, final", "Final.", ("terms.docx",
                                                                      _docx(TERMS, mail_dir.parent)))))
    indexer.update_paths([renamed], folders)
    assert _roof_hits(library) == ()
    assert [h.attached_to for h in _holding(library, "thirty days")] == ["Roof, final"]
    # Deleted.
    os.unlink(renamed)
    indexer.update_paths([renamed], folders)
    assert _holding(library, "thirty days") == () and library.store.catalog.attachment_count() == 0
    assert library.store.consistent()


def test_the_command_line_names_the_attachment_and_its_mail(capsys, data_dir: Path,
                                                           mail_dir: Path) -> None:
    import json

    from app.cli import run_cli

    assert run_cli(["--data-dir", str(data_dir), "index", str(mail_dir)]) == 0
    capsys.readouterr()
    run_cli(["--data-dir", str(data_dir), "search", "--here", '"copper gutters"'])
    out = capsys.readouterr().out
    mail = mail_dir / "2024-03 offer.eml"
    assert f" 1. report.pdf — attached to “Offer for the roof” ({mail})" in out
    assert "[page 2]" in out
    run_cli(["--data-dir", str(data_dir), "search", "--here", "--json", '"copper gutters"'])
    [result] = json.loads(capsys.readouterr().out)["results"]
    assert result["path"] == str(mail)
    assert result["attachment"] == {"name": "report.pdf", "attached_to": "Offer for the roof"}
    run_cli(["--data-dir", str(data_dir), "status"])
    # Files on disk (the mail and the note), and the attachment apart.
    assert "Index:       2 files (and 1 e-mail attachment)," in capsys.readouterr().out


def test_an_attachment_result_crosses_the_query_channel_whole() -> None:
    from app.core.ipc import response_from_json, response_to_json
    from app.core.records import FileHit, SearchResponse

    hit = FileHit(path="/m/offer.eml", score=0.5, passages=(), ext=".pdf",
                  attachment="report.pdf", attached_to="Offer", part="1.1")
    resp = SearchResponse(query="q", hits=(hit,), reranked=False)
    assert response_from_json(response_to_json(resp)).hits == (hit,)


def test_removing_the_folder_forgets_the_attachments(library, mail_dir: Path) -> None:
    library.index([str(mail_dir)])
    library.remove_folder(str(mail_dir))
    cat = library.store.catalog
    assert cat.conn.execute("SELECT count(*) FROM files").fetchone()[0] == 0
    assert len(cat.chunk_ids()) == 0 and library.store.consistent()


# -- the catalog -----------------------------------------------------------------------------------

V3_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE,
    folder TEXT NOT NULL, name TEXT NOT NULL, ext TEXT NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, hash TEXT, status TEXT NOT NULL, reason TEXT,
    indexed_at REAL NOT NULL, stage TEXT NOT NULL DEFAULT 'meaning');
CREATE TABLE chunks (id INTEGER PRIMARY KEY AUTOINCREMENT, file_id INTEGER NOT NULL
    REFERENCES files(id) ON DELETE CASCADE, ord INTEGER NOT NULL, text TEXT NOT NULL,
    page INTEGER, line_start INTEGER NOT NULL, line_end INTEGER NOT NULL,
    char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, section INTEGER NOT NULL,
    embedding BLOB NOT NULL, location TEXT NOT NULL DEFAULT '');
INSERT INTO meta VALUES ('schema_version', '3');
INSERT INTO files VALUES (1, '/d/offer.eml', '/d', 'offer.eml', '.eml', 3, 1, 'h', 'indexed',
    NULL, 0, 'meaning');
INSERT INTO chunks VALUES (1, 1, 0, 'Subject: Offer', NULL, 1, 1, 0, 14, 0, x'0000', '');
"""


def test_a_version_3_catalog_gains_attachment_rows(tmp_path: Path) -> None:
    from app.core.records import Chunk, Member

    path = tmp_path / "catalog.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(V3_SCHEMA)
    conn.close()
    cat = Catalog(path)
    try:
        assert cat.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert list(cat.all_files()) == ["/d/offer.eml"]
        # The passage it had is counted by the migration (and by triggers from then on).
        assert cat.folder_counts() == {"/d": (1, 1)}
        # Its attachments were part of its own text: it is read again at the next look.
        state = cat.all_files()["/d/offer.eml"]
        assert (state.size, state.hash) == (-1, None)
        with cat.transaction():
            cat.put_member(1, Member("1.1", "report.pdf", "Offer"),
                           [Chunk("slate tiles", 2, 1, 1, 0, 11)])
        assert list(cat.all_files()) == ["/d/offer.eml"]  # what is compared with the disk
        [row] = [r for r in cat.chunk_rows([1, 2]).values() if r.member]
        assert (row.container, row.member, row.member_key, row.member_of, row.ext) == (
            "/d/offer.eml", "report.pdf", "1.1", "Offer", ".pdf")
        with cat.transaction():
            assert sorted(cat.delete_file(1)) == [1, 2]  # the member's passage goes too
        assert cat.conn.execute("SELECT count(*) FROM files").fetchone()[0] == 0
    finally:
        cat.close()
    Catalog(path).close()  # opening again does not migrate twice


def test_a_failed_migration_leaves_the_version_3_catalog_as_it_was(tmp_path: Path,
                                                                   monkeypatch) -> None:
    from app.core.storage import catalog

    path = tmp_path / "catalog.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(V3_SCHEMA)
    conn.close()
    broken = (*catalog.MIGRATIONS[3][:2], "ALTER TABLE nowhere ADD COLUMN x TEXT")
    monkeypatch.setitem(catalog.MIGRATIONS, 3, broken)
    with pytest.raises(sqlite3.OperationalError):
        Catalog(path)
    conn = sqlite3.connect(path)
    cols = {r[1] for r in conn.execute("PRAGMA table_info(files)")}
    version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    conn.close()
    assert "container_id" not in cols and version == ("3",)


# -- opening -------------------------------------------------------------------------------------

def test_a_private_copy_is_the_attachment_and_old_copies_are_cleaned_up(tmp_path: Path,
                                                                         mail_dir: Path) -> None:
    import stat

    from app.core.errors import SkipFile
    from app.core.extract.attachments import copies_folder, private_copy, remove_stale

    mail = mail_dir / "2024-03 offer.eml"
    copy = private_copy(tmp_path / "data", mail, "1.1", "report.pdf")
    assert copy.read_bytes() == pdf_bytes(["Cover page", ROOF])
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert stat.S_IMODE(copies_folder(tmp_path / "data").stat().st_mode) == 0o700
    # The mail changed since it was indexed: say so rather than open another attachment.
    with pytest.raises(SkipFile, match="changed since it was indexed"):
        private_copy(tmp_path / "data", mail, "1.1", "other.pdf")
    fresh = private_copy(tmp_path / "data", mail, "1.1", "report.pdf")
    os.utime(copy.parent, (1, 1))  # a copy from long ago
    assert remove_stale(copies_folder(tmp_path / "data")) == 1
    assert not copy.exists() and fresh.exists()


def test_a_mail_marked_by_the_migration_is_read_again_at_the_next_look(library,
                                                                       mail_dir: Path) -> None:
    from app.core.storage.catalog import MIGRATIONS

    library.index([str(mail_dir)])
    cat = library.store.catalog
    with cat.transaction():
        cat.conn.execute(MIGRATIONS[3][-1])
    report = library.index([str(mail_dir)])
    assert (report.updated, report.unchanged) == (1, 1)
    assert len(_roof_hits(library)) == 1 and cat.attachment_count() == 1
    assert library.store.consistent()


def test_a_mail_renamed_to_text_is_read_as_text(library, mail_dir: Path) -> None:
    """Same bytes, another reading: not a move (the stateful engine test found this one)."""
    library.index([str(mail_dir)])
    assert _roof_hits(library)
    as_text = mail_dir / "offer as text.txt"
    os.rename(mail_dir / "2024-03 offer.eml", as_text)
    report = library.index([str(mail_dir)])
    assert report.moved == 0 and report.added == 1 and report.removed == 1
    cat = library.store.catalog
    assert cat.attachment_count() == 0 and _roof_hits(library) == ()
    assert library.store.consistent()
    # And back: a mail again, with its attachment a result of its own.
    os.rename(as_text, mail_dir / "2024-03 offer.eml")
    library.index([str(mail_dir)])
    assert cat.attachment_count() > 0 and _roof_hits(library)
