"""Saved mail: .eml messages and .mbox mailboxes (streamed), with supported attachments.

Each message's Section starts with a header (subject, sender, date) so that a passage says what
mail it comes from; its label names the message. An attachment whose format Sift reads becomes
Sections of its own, labelled "attachment “report.pdf”" (OCR is left out inside mail).
"""

from __future__ import annotations

import email
import email.policy
import tempfile
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from app.core.errors import SkipFile
from app.core.extract.text import read_bytes
from app.core.records import Section

MAX_MESSAGES = 50_000
MAX_ATTACHMENTS = 20
MAX_MESSAGE_BYTES = 32 * 2**20
_MAX_LINE = 1 << 20
_LABEL_CHARS = 60


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


def _attachments(message: EmailMessage, max_bytes: int) -> list[Section]:
    """Sections of the attachments Sift can read, each labelled with its file name."""
    from app.core.extract import extract_file, kind_of

    sections: list[Section] = []
    count = 0
    for part in message.iter_attachments():
        name = Path(part.get_filename() or "").name
        kind = kind_of(Path(name)) if name else None
        if kind is None or kind in ("eml", "mbox", "image") or count >= MAX_ATTACHMENTS:
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data or len(data) > max_bytes:
            continue
        count += 1
        with tempfile.TemporaryDirectory(prefix="sift-mail-") as tmp:
            file = Path(tmp) / name
            file.write_bytes(data)
            try:
                found = extract_file(file, max_bytes=max_bytes)
            except SkipFile:
                continue
        for s in found.sections:
            label = f"attachment “{name}”" + (f", {s.label}" if s.label else "")
            sections.append(Section(s.text, page=s.page, first_line=s.first_line, label=label,
                                    unit=s.unit))
    return sections


def message_sections(message: EmailMessage, max_bytes: int, number: int | None = None) -> list[Section]:
    """The message (header lines, then body) and its readable attachments."""
    subject = _header(message, "Subject") or "(no subject)"
    sender = _header(message, "From")
    date = _date(message)
    head = [f"Subject: {subject}"] + [f"{k}: {v}" for k, v in (("From", sender), ("Date", date)) if v]
    short = subject if len(subject) <= _LABEL_CHARS else subject[: _LABEL_CHARS - 1] + "…"
    label = f"“{short}”" + (f" from {sender}" if sender else "") + (f", {date}" if date else "")
    if number is not None:
        label = f"message {number}: {label}"
    body = _body(message).replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = "\n".join(head) + "\n\n" + body
    return [Section(text, label=label, unit=""), *_attachments(message, max_bytes)]


def _parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def extract_eml(path: Path, max_bytes: int) -> list[Section]:
    """One message with its attachments."""
    data = read_bytes(path, max_bytes)
    message = _parse(data)
    if not message.keys():
        raise SkipFile("not an e-mail message (no headers)")
    return message_sections(message, max_bytes)


def extract_mbox(path: Path, max_read: int) -> tuple[list[Section], list[str]]:
    """Messages of a mailbox in order, read as a stream; at most ``max_read`` bytes of it.

    Returns the sections and a note when the mailbox was longer than what was read.
    """
    sections: list[Section] = []
    notes: list[str] = []
    read = 0
    count = 0
    current: list[bytes] = []
    current_size = 0
    previous_blank = True

    def flush() -> None:
        nonlocal count
        if current:
            count += 1
            sections.extend(message_sections(_parse(b"".join(current)), max_read, count))

    try:
        with open(path, "rb") as f:
            # Bounded reads: a "line" of a gigabyte must not be read in one piece.
            for line in iter(lambda: f.readline(_MAX_LINE), b""):
                if read > max_read or (line.startswith(b"From ") and previous_blank):
                    flush()
                    current, current_size = [], 0
                    if count >= MAX_MESSAGES or read > max_read:
                        notes.append(f"only the first {count:,} messages are indexed "
                                     f"({read / 2**20:,.0f} MB of the mailbox)")
                        break
                else:
                    current_size += len(line)
                    # A message is kept up to MAX_MESSAGE_BYTES: beyond that, only attachments.
                    if current_size <= MAX_MESSAGE_BYTES:
                        # mboxrd quoting: ">From " in a body stands for "From ".
                        current.append(line[1:] if line.startswith(b">From ") else line)
                read += len(line)
                previous_blank = line in (b"\n", b"\r\n")
            else:
                flush()
    except OSError as exc:
        from app.core.extract.text import os_error_reason

        raise SkipFile(os_error_reason(exc)) from exc
    if not sections:
        raise SkipFile("no messages found in the mailbox")
    return sections, notes
