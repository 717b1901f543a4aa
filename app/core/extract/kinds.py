"""Which files Sift reads: extension → kind (the extractor) → group (what the type filter shows)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["GROUPS", "extensions_by_group", "extensions_named", "group_of", "kind_of",
           "supported_extensions"]

_KINDS_BY_EXT: dict[str, str] = {
    **dict.fromkeys(
        (".txt", ".text", ".log", ".json", ".yaml", ".yml", ".toml", ".ini",
         ".cfg", ".conf", ".properties", ".xml", ".tex", ".bib"),
        "text",
    ),
    **dict.fromkeys((".csv", ".tsv"), "csv"),
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
    ".pptx": "pptx",
    **dict.fromkeys((".xlsx", ".xlsm"), "xlsx"),
    ".ods": "ods",
    ".odt": "odt",
    ".odp": "odp",
    ".epub": "epub",
    ".rtf": "rtf",
    ".eml": "eml",
    ".mbox": "mbox",
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"), "image"),
}  # fmt: skip

# Well-known files without an extension, matched case-insensitively.
_KINDS_BY_NAME: dict[str, str] = {
    **dict.fromkeys(("readme", "license", "licence", "copying", "authors", "changelog", "notice"), "text"),
    **dict.fromkeys(("makefile", "dockerfile", "containerfile", "jenkinsfile", "vagrantfile"), "code"),
}

# The type filter's groups in the order shown, with the words a user knows.
GROUPS: tuple[tuple[str, str], ...] = (
    ("documents", "Documents"),
    ("pdf", "PDF"),
    ("slides", "Slides"),
    ("spreadsheets", "Spreadsheets"),
    ("ebooks", "E-books"),
    ("mail", "Mail"),
    ("images", "Images"),
    ("text", "Text & notes"),
    ("code", "Code"),
)

_GROUP_OF_KIND: dict[str, str] = {
    "docx": "documents", "odt": "documents", "rtf": "documents", "html": "documents",
    "pdf": "pdf",
    "pptx": "slides", "odp": "slides",
    "xlsx": "spreadsheets", "ods": "spreadsheets", "csv": "spreadsheets",
    "epub": "ebooks",
    "eml": "mail", "mbox": "mail",
    "image": "images",
    "text": "text", "markdown": "text",
    "code": "code",
}  # fmt: skip

# Other words people use for a group, accepted by `sift search --type`.
_GROUP_WORDS: dict[str, str] = {
    "docs": "documents", "sheets": "spreadsheets", "presentations": "slides", "email": "mail",
    "e-books": "ebooks", "books": "ebooks", "pictures": "images", "photos": "images",
    "notes": "text",
}  # fmt: skip


def supported_extensions() -> frozenset[str]:
    """Lower-case extensions with the dot, e.g. ".md"; see kind_of for extensionless names."""
    return frozenset(_KINDS_BY_EXT)


def kind_of(path: Path) -> str | None:
    """The extractor's kind ("text", "markdown", "code", "html", "pdf", "docx", "pptx", …); None if
    unsupported."""
    suffix = path.suffix.lower()
    if suffix:
        return _KINDS_BY_EXT.get(suffix)
    return _KINDS_BY_NAME.get(path.name.lower())


def group_of(path: Path) -> str | None:
    """The type-filter group of a file (a key of GROUPS), or None if Sift does not read it."""
    kind = kind_of(path)
    return None if kind is None else _GROUP_OF_KIND[kind]


def extensions_by_group() -> dict[str, tuple[str, ...]]:
    """Every group's extensions, e.g. {"slides": (".odp", ".pptx"), …}, in GROUPS order."""
    out: dict[str, list[str]] = {g: [] for g, _ in GROUPS}
    for ext in sorted(_KINDS_BY_EXT):
        out[_GROUP_OF_KIND[_KINDS_BY_EXT[ext]]].append(ext)
    return {g: tuple(exts) for g, exts in out.items() if exts}


def extensions_named(word: str) -> tuple[str, ...] | None:
    """What a user's word for a type means, as extensions: a group ("slides", "mail"), a kind
    ("markdown", "docx") or an extension ("pdf", ".tsv"); None if Sift reads no such type."""
    key = word.strip().lower()
    key = _GROUP_WORDS.get(key, key)
    groups = extensions_by_group()
    if key in groups:
        return groups[key]
    by_kind = tuple(sorted(ext for ext, kind in _KINDS_BY_EXT.items() if kind == key))
    if by_kind:
        return by_kind
    ext = key if key.startswith(".") else "." + key
    return (ext,) if ext in _KINDS_BY_EXT else None
