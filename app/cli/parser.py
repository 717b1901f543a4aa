"""The command line's grammar: which words ask for it, and every command with its options."""

from __future__ import annotations

import argparse

from app import __version__
from app.terminal import safe

COMMANDS = ("index", "search", "similar", "status", "skipped", "folders", "remove", "config", "eval",
            "watch", "bench", "get-reranker")


def wants_cli(args: list[str]) -> bool:
    """Whether these arguments ask for the command line rather than the window."""
    return any(a in COMMANDS or a in ("-h", "--help", "--version") for a in args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sift", description="Sift finds files by meaning: local, offline, private.")
    p.add_argument("--version", action="version", version=f"sift {__version__}")
    p.add_argument("--data-dir", help="where Sift keeps its index and settings "
                   "(default: the platform's user data folder; env SIFT_DATA_DIR)")
    p.add_argument("-v", "--verbose", action="count", default=0)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("index", help="index folders (and remember them); no folder: all known")
    s.add_argument("folders", nargs="*")

    s = sub.add_parser("search", help="search by meaning and keywords")
    s.add_argument("query", nargs="+")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("-n", "--limit", type=positive_int, default=None,
                   help="number of files to show")
    s.add_argument("--folder", help="only files below this folder")
    s.add_argument("--type", action="extend", type=file_type, default=[], metavar="TYPE",
                   help="only files of this type (repeatable): a group (" + ", ".join(_group_keys())
                   + ") or an extension, e.g. pdf")
    s.add_argument("--since", help="only files modified on or after this date (YYYY-MM-DD)")
    s.add_argument("--no-rerank", action="store_true", help="skip the cross-encoder")
    s.add_argument("--here", action="store_true",
                   help="search in this process even when a running Sift could answer")

    s = sub.add_parser("similar", help="files closest in meaning to a file (more like this)")
    s.add_argument("path", help="an indexed file")
    s.add_argument("--json", action="store_true", help="machine-readable output, as sift search")
    s.add_argument("-n", "--limit", type=positive_int, default=None,
                   help="number of files to show")

    s = sub.add_parser("status", help="what is indexed, the model, and skipped files")
    s.add_argument("--json", action="store_true")

    sub.add_parser("skipped", help="list every file that could not be indexed, and why")
    sub.add_parser("folders", help="list indexed folders")
    s = sub.add_parser("remove", help="stop indexing a folder and forget its files")
    s.add_argument("folder")

    s = sub.add_parser("config", help="show or change a setting: sift config [KEY [VALUE]]",
                       description="Show or change a setting. ocr_languages: the languages of "
                       "your scans as Tesseract codes, e.g. 'sift config ocr_languages deu,eng' "
                       "(German and English, read by Tesseract where it and its language packs "
                       "are installed; empty '': the bundled engine, English and Chinese).")
    s.add_argument("key", nargs="?")
    s.add_argument("value", nargs="*")

    s = sub.add_parser("eval", help="measure retrieval quality on a BEIR-layout collection")
    s.add_argument("dir")
    s.add_argument("--run-out", help="write the ranked lists in TREC run format")
    s.add_argument("--max-queries", type=int, default=None)
    s.add_argument("--no-rerank", action="store_true")
    s.add_argument("--reranker", help="cross-encoder id or folder for the rerank stage")
    s.add_argument("--keep", help="index into this folder and keep it (reused when present)")

    s = sub.add_parser("watch", help="watch folders and keep the index up to date (Ctrl-C stops)")
    s.add_argument("folders", nargs="*")
    s.add_argument("--interval", type=float, default=600.0, metavar="SECONDS",
                   help="full rescan period, to catch changes the system did not report")

    sub.add_parser("get-reranker", help="download the configured cross-encoder once (the one "
                   "command that uses the network)")
    s = sub.add_parser("bench", help="measure encoding backends and indexing throughput")
    s.add_argument("--corpus", default=None, help="BEIR folder with corpus.jsonl")
    s.add_argument("--chunks", type=int, default=400)
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("--scale", type=positive_int, default=None, metavar="N",
                   help="measure search over a synthetic library of N passages (no encoder runs)")
    s.add_argument("--duplicates", type=share, default=0.0, metavar="SHARE",
                   help="with --scale: this share of the passages repeats boilerplate texts "
                   "(0 to 0.95; real folders are full of licence headers, signatures, logs)")
    s.add_argument("--quality", default=None, metavar="DIR",
                   help="also measure each backend's nDCG@10 against float32 on this BEIR folder")
    s.add_argument("--quality-docs", type=int, default=1000, metavar="N",
                   help="with --quality: the judged documents and others up to N (0: all)")
    return p


def positive_int(text: str) -> int:
    """An argparse type: a whole number of 1 or more, with a message a user can act on."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{safe(text)}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def share(text: str) -> float:
    """An argparse type: a share from 0 to 0.95, as a fraction or a percentage."""
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{safe(text)}' is not a number") from None
    if not 0 <= value <= 0.95:
        raise argparse.ArgumentTypeError(f"must be from 0 to 0.95, not {safe(text)}")
    return value


def _group_keys() -> list[str]:
    from app.core.extract.kinds import GROUPS

    return [key for key, _label in GROUPS]


def file_type(text: str) -> tuple[str, ...]:
    """An argparse type: a group of kinds or an extension, as the extensions it stands for."""
    from app.core.extract.kinds import extensions_named

    exts = extensions_named(text)
    if exts is None:
        raise argparse.ArgumentTypeError(
            f"Sift reads no files of type '{safe(text)}'; give a group ({', '.join(_group_keys())})"
            " or an extension such as pdf, docx, md")
    return exts
