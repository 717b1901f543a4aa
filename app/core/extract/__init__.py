"""Text extraction: which files Sift can read, and their text as Sections (or why not)."""

from __future__ import annotations

import stat
from pathlib import Path

from app.core.errors import SkipFile
from app.core.records import Section

__all__ = ["extract", "kind_of", "shutdown", "supported_extensions"]

DEFAULT_MAX_BYTES = 50 * 2**20

_KINDS_BY_EXT: dict[str, str] = {
    **dict.fromkeys(
        (".txt", ".text", ".log", ".csv", ".tsv", ".json", ".yaml", ".yml", ".toml", ".ini",
         ".cfg", ".conf", ".properties", ".xml", ".tex", ".bib"),
        "text",
    ),
    **dict.fromkeys((".md", ".markdown", ".rst", ".org", ".adoc", ".asciidoc"), "markdown"),
    **dict.fromkeys(
        (".py", ".pyi", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".java", ".kt", ".kts",
         ".c", ".h", ".cpp", ".hpp", ".cc", ".cxx", ".hh", ".cs", ".go", ".rs", ".rb", ".php",
         ".swift", ".scala", ".sh", ".bash", ".zsh", ".fish", ".ps1", ".bat", ".sql", ".r",
         ".m", ".lua", ".pl", ".hs", ".ml", ".ex", ".exs", ".erl", ".clj", ".dart", ".jl",
         ".vue", ".svelte", ".css", ".scss", ".sass", ".less"),
        "code",
    ),
    **dict.fromkeys((".html", ".htm", ".xhtml"), "html"),
    ".pdf": "pdf",
    ".docx": "docx",
}  # fmt: skip

# Well-known files without an extension, matched case-insensitively.
_KINDS_BY_NAME: dict[str, str] = {
    **dict.fromkeys(("readme", "license", "licence", "copying", "authors", "changelog", "notice"), "text"),
    **dict.fromkeys(("makefile", "dockerfile", "containerfile", "jenkinsfile", "vagrantfile"), "code"),
}


def supported_extensions() -> frozenset[str]:
    """Lower-case extensions with the dot, e.g. ".md"; see kind_of for extensionless names."""
    return frozenset(_KINDS_BY_EXT)


def kind_of(path: Path) -> str | None:
    """The kind: "text", "markdown", "code", "html", "pdf" or "docx"; None if unsupported."""
    suffix = path.suffix.lower()
    if suffix:
        return _KINDS_BY_EXT.get(suffix)
    return _KINDS_BY_NAME.get(path.name.lower())


def _size_text(size: int) -> str:
    if size < 2**10:
        return f"{size} bytes"
    if size < 2**20:
        return f"{size / 2**10:.1f} KB"
    return f"{size / 2**20:.1f} MB"


def _check_size(path: Path, max_bytes: int) -> None:
    from app.core.extract.text import os_error_reason

    try:
        info = path.stat()
    except OSError as exc:
        raise SkipFile(os_error_reason(exc)) from exc
    if not stat.S_ISREG(info.st_mode):
        raise SkipFile("not a regular file")
    if info.st_size == 0:
        raise SkipFile("empty file (0 bytes)")
    if info.st_size > max_bytes:
        limit = _size_text(max_bytes).replace(".0 ", " ")
        raise SkipFile(f"larger than the {limit} limit ({_size_text(info.st_size)})")


def extract(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, pdf_timeout: float = 60.0) -> list[Section]:
    """The text of a file as one or more Sections; raises SkipFile with the reason if it can't."""
    path = Path(path)
    kind = kind_of(path)
    if kind is None:
        raise SkipFile("unsupported file type")
    _check_size(path, max_bytes)
    # Format modules are imported on first use: a spawned PDF worker should not pay for
    # BeautifulSoup and python-docx.
    if kind == "pdf":
        from app.core.extract.pdf import extract_pdf

        return extract_pdf(path, pdf_timeout)
    if kind == "docx":
        from app.core.extract.docx import extract_docx

        return extract_docx(path, max_bytes)
    if kind == "html":
        from app.core.extract.html import extract_html

        return extract_html(path, max_bytes)
    from app.core.extract.text import extract_text

    return extract_text(path, max_bytes)


def shutdown() -> None:
    """Stop the PDF worker process if one runs; call once at app exit."""
    import sys

    pdf = sys.modules.get("app.core.extract.pdf")
    if pdf is not None:
        pdf.shutdown()
