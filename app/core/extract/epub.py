"""EPUB e-books: the spine's XHTML documents in reading order, one Section per chapter."""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from app.core.errors import SkipFile
from app.core.extract.html import visible_text
from app.core.extract.odf import safe_parser
from app.core.extract.ziplimits import open_package, read_member
from app.core.records import Section

MAX_CHAPTERS = 5_000
_LABEL_CHARS = 60
_ENCRYPTED_TEXT = re.compile(rb"""URI=["'][^"']+\.x?html?["']""", re.IGNORECASE)


def _xml(zf: zipfile.ZipFile, name: str) -> Any:
    from lxml import etree

    try:
        return etree.fromstring(read_member(zf, name), safe_parser())
    except KeyError as exc:
        raise SkipFile(f"not a valid EPUB ({name} is missing)") from exc
    except etree.XMLSyntaxError as exc:
        raise SkipFile(f"the EPUB is damaged ({name}: {exc})") from exc


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _opf_path(zf: zipfile.ZipFile) -> str:
    container = _xml(zf, "META-INF/container.xml")
    for element in container.iter():
        if _local(element.tag) == "rootfile" and element.get("full-path"):
            return element.get("full-path")
    raise SkipFile("not a valid EPUB (no package document)")


def _toc_titles(zf: zipfile.ZipFile, base: str, manifest: dict[str, tuple[str, str, str]]) -> dict[str, str]:
    """Chapter file → its first title in the table of contents (EPUB 3 nav or EPUB 2 NCX)."""
    titles: dict[str, str] = {}
    for href, media, props in manifest.values():
        is_nav = "nav" in props.split()
        if not (is_nav or media == "application/x-dtbncx+xml"):
            continue
        try:
            root = _xml(zf, href)
        except SkipFile:
            continue
        toc_dir = posixpath.dirname(href)
        for element in root.iter():
            name = _local(element.tag)
            if is_nav and name == "a" and element.get("href"):
                target, label = element.get("href"), " ".join("".join(element.itertext()).split())
            elif not is_nav and name == "navPoint":
                texts = [t for t in element.iter() if _local(t.tag) == "text"]
                contents = [c for c in element.iter() if _local(c.tag) == "content"]
                if not texts or not contents:
                    continue
                target, label = contents[0].get("src", ""), " ".join((texts[0].text or "").split())
            else:
                continue
            file = posixpath.normpath(posixpath.join(toc_dir, unquote(target.split("#")[0])))
            if label and file not in titles:
                titles[file] = label
    return titles


def extract_epub(path: Path, max_bytes: int) -> list[Section]:
    """Chapters in spine order; each Section is labelled with its title from the table of contents."""
    zf, _data = open_package(path, max_bytes, "EPUB")
    try:
        if "META-INF/encryption.xml" in zf.namelist() and _ENCRYPTED_TEXT.search(
                read_member(zf, "META-INF/encryption.xml")):
            raise SkipFile("the EPUB is DRM-protected (its text is encrypted)")
        opf_name = _opf_path(zf)
        opf = _xml(zf, opf_name)
        base = posixpath.dirname(opf_name)
        manifest: dict[str, tuple[str, str, str]] = {}
        spine: list[str] = []
        for element in opf.iter():
            name = _local(element.tag)
            if name == "item" and element.get("id") and element.get("href"):
                href = posixpath.normpath(posixpath.join(base, unquote(element.get("href"))))
                manifest[element.get("id")] = (href, element.get("media-type", ""),
                                               element.get("properties", ""))
            elif name == "itemref" and element.get("idref"):
                spine.append(element.get("idref"))
        if len(spine) > MAX_CHAPTERS:
            raise SkipFile(f"the EPUB has {len(spine):,} chapters (limit {MAX_CHAPTERS:,}); skipped")
        titles = _toc_titles(zf, base, manifest)
        sections: list[Section] = []
        for idref in spine:
            if idref not in manifest:
                continue
            href, media, props = manifest[idref]
            # The navigation document is the table of contents, not a chapter: counted, it
            # numbered every chapter one too high.
            if "html" not in media or "nav" in props.split():
                continue
            try:
                text = visible_text(read_member(zf, href))
            except KeyError:
                continue  # a spine entry without its file: read the rest
            if not text.strip():
                continue
            number = len(sections) + 1
            title = titles.get(href, "")
            if len(title) > _LABEL_CHARS:
                title = title[: _LABEL_CHARS - 1] + "…"
            label = f"chapter {number} “{title}”" if title else f"chapter {number}"
            sections.append(Section(text, label=label, unit=""))
    finally:
        zf.close()
    if not sections:
        raise SkipFile("no text found")
    return sections
