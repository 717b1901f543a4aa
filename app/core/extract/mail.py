"""Saved mail: .eml messages and .mbox mailboxes (streamed), with supported attachments.

Each message's Section starts with a header (subject, sender, date) so that a passage says what
mail it comes from; its label names the message. An attachment whose format Sift reads is a
``Member`` of the mail file, found as a result of its own; one that cannot be read is a Member
with the reason. A scanned attachment (an image, a PDF without text) keeps its bytes for the OCR
step of ``extract_parts``. ``attachment_bytes`` gets one back by its key.
"""

from __future__ import annotations

import email
import email.policy
import os
import tempfile
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from app.core.errors import SkipFile
from app.core.extract.text import read_bytes
from app.core.records import Member, Section

MAX_MESSAGES = 50_000
MAX_ATTACHMENTS = 20
MAX_MESSAGE_BYTES = 32 * 2**20
_MAX_LINE = 1 << 20
_LABEL_CHARS = 60
# Kinds never read inside mail: mail in mail (its own attachments would nest).
_NOT_IN_MAIL = ("eml", "mbox")


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a malformed header raises on access with policy.default
        return ""
    return " ".join(str(value or "").split())


def _date(message: EmailMessage) -> str:
    raw = _header(message, "Date")
    try:
        return parsedate_to_datetime(raw).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError, IndexError):
        return raw


def _body(message: EmailMessage) -> str:
    from app.core.extract.html import visible_text

    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # unknown charset or broken transfer encoding: take the raw bytes
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        return visible_text(content.encode("utf-8"))
    return content


def _subject(message: EmailMessage) -> str:
    return _header(message, "Subject") or "(no subject)"


def _name_of(part: EmailMessage) -> str:
    """The attachment's file name as a user reads it (never a path, never undecodable)."""
    try:
        raw = part.get_filename() or ""
    except Exception:  # a malformed Content-Disposition
        raw = ""
    name = Path(raw.replace("\\", "/")).name
    name = "".join(c for c in name if c.isprintable())
    return name.encode("utf-8", "replace").decode("utf-8")


def _attachments(message: EmailMessage) -> Iterator[tuple[int, str, EmailMessage]]:
    """(1-based position among the message's attachments, name, part) of those Sift reads.

    The position counts every attachment, so that a key stays the same whichever are read.
    """
    from app.core.extract import kind_of

    for number, part in enumerate(message.iter_attachments(), 1):
        name = _name_of(part)
        kind = kind_of(Path(name)) if name else None
        if kind is not None and kind not in _NOT_IN_MAIL:
            yield number, name, part  # type: ignore[misc]


def _read_member(key: str, name: str, of: str, part: EmailMessage, max_bytes: int) -> Member:
    from app.core.extract import extract_file

    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if not isinstance(data, bytes) or not data:
        return Member(key, name, of, reason="the attachment is empty or cannot be decoded")
    if len(data) > max_bytes:
        from app.core.extract import _size_text

        limit = _size_text(max_bytes).replace(".0 ", " ")
        return Member(key, name, of, size=len(data),
                      reason=f"larger than the {limit} limit ({_size_text(len(data))})")
    with tempfile.TemporaryDirectory(prefix="sift-mail-") as tmp:
        file = Path(tmp) / name
        try:
            file.write_bytes(data)
            found = extract_file(file, max_bytes=max_bytes)
        except SkipFile as exc:
            return Member(key, name, of, reason=exc.message)
        except (OSError, ValueError) as exc:  # a name the file system refuses
            return Member(key, name, of, reason=f"could not be read ({exc})")
    if found.ocr_pages:  # read by extract_parts' OCR step, which knows the OCR settings
        return Member(key, name, of, sections=tuple(found.sections), size=len(data),
                      ocr_pages=found.ocr_pages, data=data)
    if not found.sections:
        return Member(key, name, of, reason="no text found")
    return Member(key, name, of, sections=tuple(found.sections), size=len(data))


def _members(message: EmailMessage, number: int, max_bytes: int) -> list[Member]:
    """The readable attachments of message ``number`` (1 in an .eml), each a Member."""
    of = _subject(message)
    out: list[Member] = []
    for position, name, part in _attachments(message):
        key = f"{number}.{position}"
        if len(out) >= MAX_ATTACHMENTS:
            out.append(Member(key, name, of, reason=f"only the first {MAX_ATTACHMENTS} "
                              "attachments of a message are read"))
            continue
        out.append(_read_member(key, name, of, part, max_bytes))
    return out


def message_sections(message: EmailMessage, number: int | None = None) -> list[Section]:
    """The message itself: header lines, then the body (attachments are Members)."""
    subject = _subject(message)
    sender = _header(message, "From")
    date = _date(message)
    head = [f"Subject: {subject}"] + [f"{k}: {v}" for k, v in (("From", sender), ("Date", date)) if v]
    short = subject if len(subject) <= _LABEL_CHARS else subject[: _LABEL_CHARS - 1] + "…"
    label = f"“{short}”" + (f" from {sender}" if sender else "") + (f", {date}" if date else "")
    if number is not None:
        label = f"message {number}: {label}"
    body = _body(message).replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = "\n".join(head) + "\n\n" + body
    return [Section(text, label=label, unit="")]


def _parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def _read_eml(path: Path, max_bytes: int) -> EmailMessage:
    message = _parse(read_bytes(path, max_bytes))
    if not message.keys():
        raise SkipFile("not an e-mail message (no headers)")
    return message


def extract_eml(path: Path, max_bytes: int) -> tuple[list[Section], list[Member]]:
    """One message, and its attachments as Members."""
    message = _read_eml(path, max_bytes)
    return message_sections(message), _members(message, 1, max_bytes)


def _mbox_messages(path: Path, max_read: int, notes: list[str]) -> Iterator[bytes]:
    """The raw messages of a mailbox in order, read as a stream; at most ``max_read`` bytes.

    A note is added to ``notes`` when the mailbox was longer than what was read.
    """
    read = 0
    count = 0
    current: list[bytes] = []
    current_size = 0
    previous_blank = True
    try:
        with open(path, "rb") as f:
            # Bounded reads: a "line" of a gigabyte must not be read in one piece.
            for line in iter(lambda: f.readline(_MAX_LINE), b""):
                if read > max_read or (line.startswith(b"From ") and previous_blank):
                    if current:
                        count += 1
                        yield b"".join(current)
                    current, current_size = [], 0
                    if count >= MAX_MESSAGES or read > max_read:
                        whole = os.fstat(f.fileno()).st_size
                        notes.append(f"only the first {count:,} messages are indexed "
                                     f"({read / 2**20:,.0f} MB of the mailbox's "
                                     f"{whole / 2**20:,.0f} MB)")
                        return
                else:
                    current_size += len(line)
                    # A message is kept up to MAX_MESSAGE_BYTES: beyond that, only attachments.
                    if current_size <= MAX_MESSAGE_BYTES:
                        # mboxrd quoting: ">From " in a body stands for "From ".
                        current.append(line[1:] if line.startswith(b">From ") else line)
                read += len(line)
                previous_blank = line in (b"\n", b"\r\n")
    except OSError as exc:
        from app.core.extract.text import os_error_reason

        raise SkipFile(os_error_reason(exc)) from exc
    if current:
        yield b"".join(current)


def extract_mbox(path: Path, max_read: int,
                 max_bytes: int | None = None) -> tuple[list[Section], list[str], list[Member]]:
    """Messages of a mailbox in order, their attachments as Members, and notes.

    ``max_read`` bounds the mailbox read; ``max_bytes`` (default: ``max_read``) one attachment.
    """
    sections: list[Section] = []
    notes: list[str] = []
    members: list[Member] = []
    for number, raw in enumerate(_mbox_messages(path, max_read, notes), 1):
        message = _parse(raw)
        sections += message_sections(message, number)
        members += _members(message, number, max_bytes or max_read)
    if not sections:
        raise SkipFile("no messages found in the mailbox")
    return sections, notes, members


def attachment_bytes(path: Path, key: str, max_read: int) -> tuple[str, bytes]:
    """(name, content) of the attachment ``key`` of the mail file ``path``; SkipFile if gone."""
    try:
        number, position = (int(n) for n in key.split("."))
    except ValueError as exc:
        raise SkipFile(f"no attachment {key!r}") from exc
    if path.suffix.lower() == ".mbox":
        raw = next((m for n, m in enumerate(_mbox_messages(path, max_read, []), 1)
                    if n == number), None)
        message = _parse(raw) if raw is not None else None
    else:
        message = _read_eml(path, max_read) if number == 1 else None
    if message is not None:
        for found, name, part in _attachments(message):
            data = part.get_payload(decode=True) if found == position else None
            if isinstance(data, bytes):
                return name, data
    raise SkipFile("the attachment is no longer in the mail")
