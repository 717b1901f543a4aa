"""`sift config`: settings shown, read, or changed (folders as a diff, OCR languages checked)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, fields, replace

from app.cli.library import open_library
from app.terminal import safe


def cmd_config(args: argparse.Namespace) -> int:
    from app.core.errors import KnownError

    lib = open_library(args)
    current = asdict(lib.settings)
    if not args.key:
        for k, v in current.items():
            if k != "extra":
                print(safe(f"{k} = {json.dumps(v, ensure_ascii=False)}"))
        return 0
    names = {f.name for f in fields(lib.settings)} - {"extra"}
    if args.key not in names:
        raise KnownError(f"Unknown setting '{safe(args.key)}'.",
                         "Known: " + ", ".join(sorted(names)))
    if not args.value:
        print(safe(json.dumps(current[args.key], ensure_ascii=False)))
        return 0
    default = current[args.key]
    raw = args.value
    value: object
    if args.key == "ocr_languages":
        value = _ocr_languages(raw)
    elif isinstance(default, (list, tuple)):
        value = tuple(raw)
    elif isinstance(default, bool):
        value = raw[0].lower() in ("1", "true", "yes", "on")
    elif isinstance(default, int):
        value = int(raw[0])
    elif isinstance(default, float):
        value = float(raw[0])
    else:
        value = " ".join(raw)
    if args.key == "folders":  # folders change only as a diff of the one folder set
        lib.apply_folder_changes(lib.folders.diff(value))  # type: ignore[arg-type]
    else:
        lib.update_settings(replace(lib.settings, **{args.key: value}))
    print(safe(f"{args.key} = {json.dumps(value, ensure_ascii=False)}"))
    if args.key in ("model", "chunk_tokens", "chunk_overlap"):
        print("Run 'sift index' to rebuild the index with the new setting.")
    if args.key == "ocr_languages":
        _print_ocr_engine(lib.settings.ocr_languages)
    return 0


def _ocr_languages(raw: list[str]) -> tuple[str, ...]:
    from app.core.errors import KnownError
    from app.core.extract.ocr.engines import invalid_languages, normalize_languages

    codes = normalize_languages(raw)
    wrong = invalid_languages(codes)
    if wrong:
        raise KnownError(f"Not a Tesseract language code: {safe(', '.join(wrong))}.",
                         "Use codes such as deu, eng, fra, rus, ell, jpn; "
                         "'tesseract --list-langs' lists those installed.")
    return codes


def _print_ocr_engine(languages: tuple[str, ...]) -> None:
    from app.core.extract.ocr.engines import choose

    engine = choose(languages)
    print(f"Scans are read by {engine.summary}." + (f"\n{engine.note}" if engine.note else ""))
    print("Run 'sift index' to read scans again in these languages.")
