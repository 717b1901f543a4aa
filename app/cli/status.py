"""`sift status`, `sift skipped` and `sift folders`: what is indexed, how far, and what was not."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import TYPE_CHECKING

from app.cli.library import open_library
from app.terminal import safe, safe_block, safe_json

if TYPE_CHECKING:
    from app.core.library import Library
    from app.core.settings import Settings


def _stages(lib: Library) -> dict[str, int]:
    """Files per indexing stage, read from the catalog without loading the model."""
    import sqlite3

    from app.core.storage.catalog import Catalog

    path = lib.index_folder / "catalog.sqlite"
    if not path.exists():
        return {}
    try:
        cat = Catalog(path, readonly=True)
        try:
            return {**cat.stage_counts(), "attachments": cat.attachment_count()}
        finally:
            cat.close()
    except sqlite3.Error:  # an older catalog not yet migrated, or one being created
        return {}


def cmd_status(args: argparse.Namespace) -> int:
    lib = open_library(args)
    stats = lib.stats()
    meta = lib.meta()
    counts = lib.folder_counts()
    stages = _stages(lib)
    from app.core.ipc import ask_progress

    live = ask_progress(lib.paths.data_dir)  # a running Sift that is indexing right now
    backend = meta.get("backend", "")
    data = {
        "data_dir": stats.data_dir,
        "read_only": lib.read_only,  # searched as it stands; indexing needs a writable folder
        "model": stats.model,
        "backend": backend,
        "files": stats.files,
        "attachments": stages.get("attachments", 0),  # e-mail attachments, results of their own
        "passages": stats.chunks,
        "skipped": stats.skipped,
        "stages": {"words": stats.files, "meaning": stages.get("meaning", stats.files),
                   "passages_to_embed": stages.get("pending_chunks", 0)},
        "folders": {f: {"files": counts.get(f, (0, 0))[0], "passages": counts.get(f, (0, 0))[1],
                        "reachable": os.path.isdir(f)} for f in stats.folders},
        "reranker": lib.settings.reranker if lib.settings.rerank else None,
        "ocr": _ocr_status(lib.settings),
        "last_indexed": float(meta["last_indexed"]) if "last_indexed" in meta else None,
        "logs": str(lib.paths.logs_dir),  # the log file and any crash reports (nothing is sent)
        "indexing_now": None if live is None else {
            "stage": live.stage, "words_done": live.words_done, "words_total": live.words_total,
            "meaning_done": live.meaning_done, "meaning_total": live.meaning_total,
            "eta_s": live.eta_s, "current": live.current},
    }
    if args.json:
        print(safe_json(json.dumps(data, indent=2, ensure_ascii=False)))
        return 0
    st = data["stages"]
    print(f"Data folder: {safe(stats.data_dir)}"
          + (" (read-only: searching works, indexing does not)" if data["read_only"] else ""))
    print(f"Model:       {safe(stats.model)}" + (f" ({safe(backend)})" if backend else ""))
    print(f"Reranker:    {safe(data['reranker'] or 'off')}")
    ocr = data["ocr"]
    print(f"OCR:         {safe(ocr['engine'] if ocr['on'] else 'off')}"
          + (f"\n             {safe(ocr['note'])}" if ocr["on"] and ocr["note"] else ""))
    n = int(data["attachments"])
    attached = f" (and {n} e-mail attachment{'s' if n != 1 else ''})" if n else ""
    print(f"Index:       {stats.files} files{attached}, {stats.chunks} passages, "
          f"{stats.skipped} skipped")
    print(f"Stages:      words: {st['words']}/{stats.files} files · "
          f"meaning: {st['meaning']}/{stats.files}"
          + (f" ({st['passages_to_embed']} passages to embed)" if st["passages_to_embed"] else ""))
    if live is not None:
        eta = f", about {live.eta_s:.0f} s left" if live.eta_s else ""
        print(f"Now:         indexing ({live.stages_text}{eta})")
    if data["last_indexed"]:
        print(f"Updated:     {time.strftime('%Y-%m-%d %H:%M', time.localtime(data['last_indexed']))}")
    print(f"Log:         {safe(data['logs'])} (log file and crash reports, kept here)")
    print("Folders:" if stats.folders else "Folders:     none yet (sift index FOLDER)")
    for f, c in data["folders"].items():
        state = "" if c["reachable"] else "  (not reachable)"
        print(f"  {safe(f)}: {c['files']} files, {c['passages']} passages{state}")
    skipped = lib.skipped()
    if skipped:
        print(f"Skipped ({len(skipped)}):")
        for s in skipped[:30]:
            print(f"  {safe(s.path)}: {safe_block(s.reason)}")
        if len(skipped) > 30:
            print(f"  … and {len(skipped) - 30} more (sift skipped)")
    return 0


def _ocr_status(settings: Settings) -> dict[str, object]:
    from app.core.extract.ocr.engines import choose

    engine = choose(settings.ocr_languages)
    return {"on": settings.ocr, "languages": list(settings.ocr_languages),
            "engine": engine.summary, "note": engine.note}


def cmd_skipped(args: argparse.Namespace) -> int:
    for s in open_library(args).skipped():
        print(f"{safe(s.path)}\t{safe_block(s.reason)}")
    return 0


def cmd_folders(args: argparse.Namespace) -> int:
    for f in open_library(args).settings.folders:
        print(safe(f))
    return 0
