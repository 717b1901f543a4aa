"""Opening zip-based documents (DOCX, PPTX, XLSX, OpenDocument, EPUB) without zip bombs.

A package is checked before any library parses it: the sizes its directory declares (total,
per part and compression ratio), then the elements that would cost a parser time and memory are
counted in a stream over the inflated XML.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import SkipFile
from app.core.extract.text import read_bytes

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_STREAM_BLOCK = 1 << 20
_XML_SUFFIXES = (".xml", ".rels", ".xhtml", ".html", ".htm", ".opf", ".ncx")


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """How much a package may hold once inflated."""

    total_bytes: int = 256 * 2**20
    member_bytes: int = 128 * 2**20
    # A parser builds a tree several times the size of its XML: parts that are parsed get less.
    xml_bytes: int = 64 * 2**20
    # Real documents compress XML about 5–20×; whitespace bombs reach 1000×.
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 8 * 2**20
    members: int = 20_000


DEFAULT_LIMITS = ZipLimits()


def _mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB"


def _check_directory(zf: zipfile.ZipFile, limits: ZipLimits, what: str) -> None:
    infos = zf.infolist()
    if len(infos) > limits.members:
        raise SkipFile(f"the {what} holds {len(infos):,} parts (limit {limits.members:,}); skipped")
    total = sum(i.file_size for i in infos)
    if total > limits.total_bytes:
        raise SkipFile(f"the {what} inflates to {_mb(total)} (limit {_mb(limits.total_bytes)}); "
                       "possible zip bomb, skipped")
    for info in infos:
        if info.flag_bits & 0x1:
            raise SkipFile(f"the {what} is encrypted")
        limit = limits.xml_bytes if info.filename.lower().endswith(_XML_SUFFIXES) else limits.member_bytes
        if info.file_size > limit:
            raise SkipFile(f"a part of the {what} inflates to {_mb(info.file_size)} "
                           f"(limit {_mb(limit)}); possible zip bomb, skipped")
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_ratio:
            raise SkipFile(f"a part of the {what} is compressed {ratio:,.0f}:1; possible zip bomb, "
                           "skipped")


def count_in_member(zf: zipfile.ZipFile, name: str, needles: tuple[bytes, ...], limit: int) -> int:
    """How often the needles occur in a member, inflating it in blocks of bounded size."""
    count = 0
    keep = max(len(n) for n in needles) - 1
    tail = b""
    with zf.open(name) as f:
        while block := f.read(_STREAM_BLOCK):
            # A needle split across two blocks is seen once: it ends inside the new block.
            data = tail + block
            count += sum(data.count(n) - tail.count(n) for n in needles)
            tail = data[-keep:] if keep else b""
            if count > limit:
                break
    return count


def open_package(
    path: Path,
    max_bytes: int,
    what: str,
    *,
    limits: ZipLimits = DEFAULT_LIMITS,
    element_caps: Mapping[str, tuple[tuple[bytes, ...], int, str]] | None = None,
) -> tuple[zipfile.ZipFile, bytes]:
    """The checked zip and its raw bytes; SkipFile for encrypted, damaged or oversized packages.

    ``element_caps`` maps a member name to (needle, limit, noun), e.g.
    ``{"word/document.xml": ((b"<w:p>", b"<w:p "), 200_000, "paragraphs")}``: more than the limit
    and the file is skipped before a parser builds a tree of them.
    """
    data = read_bytes(path, max_bytes)
    if data.startswith(OLE_MAGIC):
        # Office saves a password-protected .docx/.xlsx/.pptx as an OLE compound file holding
        # an "EncryptionInfo" stream; any other OLE file is an old .doc/.xls/.ppt renamed.
        if "EncryptionInfo".encode("utf-16-le") in data:
            raise SkipFile(f"the {what} is password-protected (encrypted)")
        raise SkipFile(f"the {what} is in the old binary Office format (.doc, .xls or .ppt), "
                       "which Sift does not read")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SkipFile(f"not a valid {what} (damaged or not a zip package)") from exc
    # The directory's sizes are enough: Python's zipfile never inflates a member past its
    # declared size (it stops there and fails the CRC check), and every reader below uses it.
    _check_directory(zf, limits, what)
    names = set(zf.namelist())
    for name, (needles, cap, noun) in (element_caps or {}).items():
        if name not in names:
            continue
        try:
            count = count_in_member(zf, name, needles, cap)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, zlib.error) as exc:
            raise SkipFile(f"not a valid {what} (damaged: {exc})") from exc
        if count > cap:
            raise SkipFile(f"the {what} has more than {cap:,} {noun}; skipped")
    return zf, data


def read_member(zf: zipfile.ZipFile, name: str, limit: int = DEFAULT_LIMITS.xml_bytes) -> bytes:
    """One member's bytes, never more than ``limit``; KeyError if there is no such member."""
    try:
        with zf.open(name) as f:
            data = f.read(limit + 1)
    except KeyError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, zlib.error) as exc:
        raise SkipFile(f"the package is damaged ({name}: {exc})") from exc
    if len(data) > limit:
        raise SkipFile(f"{name} inflates past {_mb(limit)}; possible zip bomb, skipped")
    return data
