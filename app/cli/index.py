"""`sift index` and `sift remove`: folders indexed (waiting for their scans' OCR) or forgotten."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from app.cli.library import open_library
from app.terminal import safe, safe_block

if TYPE_CHECKING:
    from app.core.records import IndexReport, Progress


def cmd_index(args: argparse.Namespace) -> int:
    from app.core.errors import KnownError

    lib = open_library(args)
    folders = args.folders
    for f in folders:
        if not os.path.isdir(f):
            raise KnownError(f"'{f}' is not a folder.")
    if not folders and not lib.settings.folders:
        print("No folders yet. Give one: sift index ~/Documents", file=sys.stderr)
        return 1
    live = sys.stderr.isatty()

    def progress(p: Progress) -> None:
        if live and p.phase == "indexing":
            eta = f", {p.eta_s:.0f}s left" if p.eta_s is not None else ""
            print(f"\r  {p.stages_text}, {p.chunks_done} passages{eta}   ",
                  end="", file=sys.stderr, flush=True)

    from app.core.extract.ocr import queue as ocr_queue

    reports = []
    try:
        report = lib.index(folders or None, progress)
        reports.append(report)
        # Scans were left to background OCR so that text files went first; a one-shot run
        # waits for them and reads them again, so the command ends with everything findable.
        # Asked of the catalog, not of the queue: an OCR that ended before this pass did is
        # no longer waiting, but its scan is still stored as waiting for it.
        if not report.cancelled and lib.store.catalog.retry_paths():
            waiting = ocr_queue.waiting()
            if waiting:
                print(f"\n  reading {waiting} scanned file(s) with OCR (this takes a while)…",
                      file=sys.stderr, flush=True)
                ocr_queue.wait_idle(lambda: lib.control.cancelled)
            report = lib.index(folders or None, progress)
            reports.append(report)
        if not report.cancelled and lib.embedder.loaded:
            # Once per model: later `sift search` runs then embed queries without torch.
            lib.embedder.export_queries()
    finally:
        lib.close()
    if live:
        print(file=sys.stderr)
    if lib.notice:  # a damaged index was set aside and rebuilt by this run
        print(f"sift: note: {safe_block(lib.notice)}", file=sys.stderr)
    for report in reports:
        _print_index_report(report)
    return 130 if reports[-1].cancelled else 0


def _print_index_report(report: IndexReport) -> None:
    rate = report.chunks / report.seconds if report.seconds else 0.0
    print(f"Indexed in {report.seconds:.1f}s: {report.added} added, {report.updated} updated, "
          f"{report.moved} moved, {report.removed} removed, {report.unchanged} unchanged, "
          f"{report.skipped} skipped; {report.chunks} passages ({rate:.1f}/s).")
    if report.chunks and report.embedded:
        print(f"Findable by words after {report.words_seconds:.1f}s; {report.embedded} passages "
              f"embedded in {report.embed_seconds:.1f}s.")
    if report.reused:
        print(f"{report.reused} passages were embedded already (unchanged text, or a copy's).")
    for s in report.skipped_files[:20]:
        partly = s.reason.startswith("indexed in part: ")  # its reason says what was left out
        print(f"  {'' if partly else 'skipped '}{safe(s.path)}: {safe_block(s.reason)}")
    if len(report.skipped_files) > 20:
        print(f"  … and {len(report.skipped_files) - 20} more (sift skipped)")


def cmd_remove(args: argparse.Namespace) -> int:
    lib = open_library(args)
    try:
        n = lib.remove_folder(args.folder)
    finally:
        lib.close()
    print(f"Removed {safe(args.folder)} ({n} files forgotten).")
    return 0
