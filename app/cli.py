"""The headless command line: index, search, status, eval… over the same core as the window."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from app import __version__
from app.terminal import safe, safe_block, safe_json

if TYPE_CHECKING:
    from app.core.records import IndexReport
    from app.core.settings import Settings

COMMANDS = ("index", "search", "status", "skipped", "folders", "remove", "config", "eval",
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
    s.add_argument("-n", "--limit", type=_positive_int, default=None,
                   help="number of files to show")
    s.add_argument("--folder", help="only files below this folder")
    s.add_argument("--type", action="append", default=[], metavar="EXT",
                   help="only files of this type, e.g. pdf (repeatable)")
    s.add_argument("--since", help="only files modified on or after this date (YYYY-MM-DD)")
    s.add_argument("--no-rerank", action="store_true", help="skip the cross-encoder")
    s.add_argument("--here", action="store_true",
                   help="search in this process even when a running Sift could answer")

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
    s.add_argument("--scale", type=_positive_int, default=None, metavar="N",
                   help="measure search over a synthetic library of N passages (no encoder runs)")
    s.add_argument("--quality", default=None, metavar="DIR",
                   help="also measure each backend's nDCG@10 against float32 on this BEIR folder")
    s.add_argument("--quality-docs", type=int, default=1000, metavar="N",
                   help="with --quality: the judged documents and others up to N (0: all)")
    return p


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{safe(text)}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def run_cli(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from app.main import setup_logging

    setup_logging(args.verbose)
    if not args.command:
        parser.print_help()
        return 0
    from app.core.errors import KnownError

    try:
        return int(HANDLERS[args.command](args) or 0)
    except KnownError as exc:
        print(f"sift: {safe_block(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nsift: interrupted", file=sys.stderr)
        return 130


def _library(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from app.core.library import Library
    from app.core.paths import resolve_paths

    return Library(resolve_paths(args.data_dir))


def cmd_index(args: argparse.Namespace) -> int:
    from app.core.errors import KnownError

    lib = _library(args)
    folders = args.folders
    for f in folders:
        if not os.path.isdir(f):
            raise KnownError(f"'{f}' is not a folder.")
    if not folders and not lib.settings.folders:
        print("No folders yet. Give one: sift index ~/Documents", file=sys.stderr)
        return 1
    live = sys.stderr.isatty()

    def progress(p):  # type: ignore[no-untyped-def]
        if live and p.phase == "indexing":
            eta = f", {p.eta_s:.0f}s left" if p.eta_s is not None else ""
            print(f"\r  {p.stages_text}, {p.chunks_done} passages{eta}   ",
                  end="", file=sys.stderr, flush=True)

    from app.core.extract import ocr_queue

    reports = []
    try:
        report = lib.index(folders or None, progress)
        reports.append(report)
        waiting = ocr_queue.waiting()
        if waiting and not report.cancelled:
            # Scans were left to background OCR so that text files went first; a one-shot run
            # waits for them and reads them again, so the command ends with everything findable.
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
    for s in report.skipped_files[:20]:
        print(f"  skipped {safe(s.path)}: {safe_block(s.reason)}")
    if len(report.skipped_files) > 20:
        print(f"  … and {len(report.skipped_files) - 20} more (sift skipped)")


def cmd_search(args: argparse.Namespace) -> int:
    from app.core.ipc import SearchRequest, ask_search
    from app.core.paths import resolve_paths

    query = _query_text(args.query)
    # An OS path: the filter turns it into the stored form of a name that is not UTF-8.
    folder = os.path.abspath(os.path.expanduser(args.folder)) if args.folder else None
    request = SearchRequest(query, limit=args.limit, folder=folder,
                            types=tuple(args.type), since=_since(args.since),
                            rerank=False if args.no_rerank else None)
    paths = resolve_paths(args.data_dir)
    # A running Sift (window or `sift watch`) has everything loaded: ask it first.
    answer = None if args.here else ask_search(paths.data_dir, request)
    if answer is not None and answer.response is None:
        print(f"sift: the running Sift could not answer ({safe(answer.error)}); "
              "searching here.", file=sys.stderr)
    resp = answer.response if answer is not None and answer.response is not None \
        else _search_here(args, request)
    return _print_response(resp, args.json)


def _search_here(args: argparse.Namespace, request) -> object:  # type: ignore[no-untyped-def]
    from app.core.search import Filters

    lib = _library(args)
    try:
        had_light = lib.embedder.light() is not None
        lib.embedder.prepare_queries()
        filters = Filters(folder=request.folder, types=request.types,
                          modified_after=request.since)
        resp = lib.search(request.query, limit=request.limit, filters=filters,
                          rerank=request.rerank)
        if not had_light:
            # The model had to be loaded with torch; export it once so the next search does not.
            lib.embedder.export_queries()
        return resp
    finally:
        lib.close()


def _query_text(words: list[str]) -> str:
    from app.core.errors import KnownError

    query = " ".join(words)
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        raise KnownError("The query is not valid text (its bytes are not UTF-8).",
                         "Type it again, or check the terminal's character encoding.") from None
    if not query.strip():
        raise KnownError("The query is empty.", 'Give some words: sift search "plumber invoice"')
    return query


def _since(text: str | None) -> float | None:
    """--since as a POSIX time, or a clear error for what is not a usable date."""
    from app.core.errors import KnownError

    if not text:
        return None
    try:
        when = datetime.strptime(text.strip(), "%Y-%m-%d")
        stamp = when.timestamp()
    except (ValueError, OverflowError, OSError):
        raise KnownError(f"--since wants a date like 2024-01-31, not '{safe(text)}'.") from None
    if stamp > time.time() + 86400:
        raise KnownError(f"--since {safe(text)} is in the future: no file was modified after it.")
    return stamp


def _print_response(resp, as_json: bool) -> int:  # type: ignore[no-untyped-def]
    if as_json:
        print(safe_json(json.dumps(response_json(resp), ensure_ascii=False, indent=2)))
        return 0
    if resp.rerank_note:
        print(f"({safe_block(resp.rerank_note)})", file=sys.stderr)
    if not resp.semantic:
        print("(keyword matches only: the meaning model is still loading)", file=sys.stderr)
    for phrase in getattr(resp, "unmatched_phrases", ()):
        print(f"No file contains \"{safe(phrase)}\"; results without requiring it:")
    if not resp.hits:
        print("No matches.")
        return 0
    if resp.weak:
        print("No good match; the closest files are:")
    bold = "\033[1m" if sys.stdout.isatty() else ""
    reset = "\033[0m" if sys.stdout.isatty() else ""
    for i, hit in enumerate(resp.hits, 1):
        if getattr(hit, "attachment", ""):  # an e-mail attachment, a result of its own
            print(f"{i:2}. {bold}{safe(hit.attachment)}{reset} — attached to "
                  f"“{safe(hit.attached_to)}” ({safe(hit.path)})  ({hit.score:.3f})")
        else:
            print(f"{i:2}. {bold}{safe(hit.path)}{reset}  ({hit.score:.3f})")
        for p in hit.passages[:2]:
            where = safe(p.location) if p.location else f"page {p.page}" if p.page else f"line {p.line}"
            print(f"      [{where}] {_mark(p.text, p.highlights, bold, reset)}")
    return 0


def _mark(text: str, spans, on: str, off: str) -> str:  # type: ignore[no-untyped-def]
    if not on:
        on, off = "[", "]"
    out, last = [], 0
    for a, b in spans:
        out += [safe_block(text[last:a]), on, safe_block(text[a:b]), off]
        last = b
    out.append(safe_block(text[last:]))
    return "".join(out)


def response_json(resp) -> dict:  # type: ignore[no-untyped-def]
    return {
        "query": resp.query,
        "reranked": resp.reranked,
        "rerank_note": resp.rerank_note,
        "weak": resp.weak,
        "semantic": resp.semantic,
        "unmatched_phrases": list(getattr(resp, "unmatched_phrases", ())),
        "elapsed_ms": round(resp.elapsed_ms, 1),
        "results": [
            {
                "path": h.path,
                # An e-mail attachment: "path" is the mail file that holds it.
                "attachment": {"name": h.attachment, "attached_to": h.attached_to}
                if getattr(h, "attachment", "") else None,
                "score": round(h.score, 6),
                "passages": [
                    {"text": p.text, "page": p.page, "line": p.line,
                     "location": p.location or None,
                     "highlights": [list(s) for s in p.highlights]}
                    for p in h.passages
                ],
            }
            for h in resp.hits
        ],
    }


def _stages(lib) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Files per indexing stage, read from the catalog without loading the model."""
    import sqlite3

    from app.core.catalog import Catalog

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
    lib = _library(args)
    stats = lib.stats()
    meta = lib.meta()
    counts = lib.folder_counts()
    stages = _stages(lib)
    from app.core.ipc import ask_progress

    live = ask_progress(lib.paths.data_dir)  # a running Sift that is indexing right now
    backend = meta.get("backend", "")
    data = {
        "data_dir": stats.data_dir,
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
        "indexing_now": None if live is None else {
            "stage": live.stage, "words_done": live.words_done, "words_total": live.words_total,
            "meaning_done": live.meaning_done, "meaning_total": live.meaning_total,
            "eta_s": live.eta_s, "current": live.current},
    }
    if args.json:
        print(safe_json(json.dumps(data, indent=2, ensure_ascii=False)))
        return 0
    st = data["stages"]
    print(f"Data folder: {safe(stats.data_dir)}")
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
    from app.core.extract.ocr_engines import choose

    engine = choose(settings.ocr_languages)
    return {"on": settings.ocr, "languages": list(settings.ocr_languages),
            "engine": engine.summary, "note": engine.note}


def cmd_skipped(args: argparse.Namespace) -> int:
    for s in _library(args).skipped():
        print(f"{safe(s.path)}\t{safe_block(s.reason)}")
    return 0


def cmd_folders(args: argparse.Namespace) -> int:
    for f in _library(args).settings.folders:
        print(safe(f))
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    lib = _library(args)
    try:
        n = lib.remove_folder(args.folder)
    finally:
        lib.close()
    print(f"Removed {safe(args.folder)} ({n} files forgotten).")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from dataclasses import asdict, fields

    from app.core.errors import KnownError

    lib = _library(args)
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
    from app.core.extract.ocr_engines import invalid_languages, normalize_languages

    codes = normalize_languages(raw)
    wrong = invalid_languages(codes)
    if wrong:
        raise KnownError(f"Not a Tesseract language code: {safe(', '.join(wrong))}.",
                         "Use codes such as deu, eng, fra, rus, ell, jpn; "
                         "'tesseract --list-langs' lists those installed.")
    return codes


def _print_ocr_engine(languages: tuple[str, ...]) -> None:
    from app.core.extract.ocr_engines import choose

    engine = choose(languages)
    print(f"Scans are read by {engine.summary}." + (f"\n{engine.note}" if engine.note else ""))
    print("Run 'sift index' to read scans again in these languages.")


def cmd_eval(args: argparse.Namespace) -> int:
    from app.core.evaluation import run_eval

    return run_eval(args)


def cmd_watch(args: argparse.Namespace) -> int:
    from app.watch_command import run_watch

    return run_watch(args)


def cmd_get_reranker(args: argparse.Namespace) -> int:
    """The explicit action that may use the network: fetch the reranker into the local cache."""
    from app.core.errors import KnownError
    from app.core.reranker import Reranker

    lib = _library(args)
    try:
        reranker = Reranker(lib.settings.reranker)
        if reranker.source.local:
            print(f"The reranker is a local folder already: {safe(reranker.source.location)}")
            return 0
        try:
            folder = reranker.download()
        except Exception as exc:  # offline, a proxy, no such model: say so in words
            raise KnownError(f"Could not download the reranker {reranker.source.name}: {exc}") from exc
        print(f"Reranker ready in {safe(folder)}; searches rerank from now on, offline.")
        return 0
    finally:
        lib.close()


def cmd_bench(args: argparse.Namespace) -> int:
    from app.core.bench import run_bench

    return run_bench(args)


HANDLERS = {
    "index": cmd_index, "search": cmd_search, "status": cmd_status, "skipped": cmd_skipped,
    "folders": cmd_folders, "remove": cmd_remove, "config": cmd_config, "eval": cmd_eval,
    "watch": cmd_watch, "bench": cmd_bench, "get-reranker": cmd_get_reranker,
}
