"""The single writer: scan → extract → chunk → embed → store, incremental, resumable and cancellable."""

from __future__ import annotations

import logging
import os
import queue
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from app.core.control import Control
from app.core.encoders.embedder import Embedder
from app.core.errors import Cancelled
from app.core.indexing.file_reader import FileOp, FileReader
from app.core.indexing.progress import ProgressFn, ProgressTracker
from app.core.indexing.scanner import Rules, is_indexable, scan_folder
from app.core.indexing.stages import EmbeddingStage, LaterStage, StepResult
from app.core.indexing.work_order import newest_first
from app.core.records import IndexReport, ScannedFile, SkippedFile
from app.core.settings import Settings
from app.core.storage.catalog import STAGE_OCR, STAGE_WORDS, FileState
from app.core.storage.catalog.schema import PARTLY, RETRY_REASON
from app.core.storage.store import IndexStore

log = logging.getLogger(__name__)

WORDS_COMMIT_SECONDS = 0.5  # how soon an extracted file becomes findable by its words
WORDS_BATCH = 64            # files written together in the words stage
# The reader has been this long on one file: embedding fills the wait. Not at every short gap
# between files, where it would take the CPU that reading the next files needs (2 cores).
SLOW_READ_SECONDS = 1.0
SAVE_VECTORS_SECONDS = 60.0
SAVE_SHARE = 50.0           # periodic saves: at least this many times their own length apart


class Indexer:
    """Brings one IndexStore in step with the folders on disk. Only one thread may use it."""

    def __init__(self, store: IndexStore, embedder: Embedder, settings: Settings,
                 control: Control | None = None,
                 later_stages: Sequence[LaterStage] | None = None,
                 ocr_cache: Path | None = None) -> None:
        self.store = store
        self.ocr_cache = ocr_cache
        self.embedder = embedder
        self.settings = settings
        self.control = control or Control()
        # After the words stage, in order: each is resumable from the catalog. An OCR stage
        # goes before the embedding stage (its text is then embedded like any other).
        self.later_stages: list[LaterStage] = list(later_stages) if later_stages is not None \
            else [EmbeddingStage(store, embedder)]
        self.rules = Rules(settings.exclude, respect_gitignore=settings.respect_gitignore)
        self._last_save = time.monotonic()
        self._moved_ids: set[int] = set()
        self._retry: set[str] = set()  # paths read again even if unchanged (scans awaiting OCR)
        # Embed passages already written while the reader is busy with a slow file, rather
        # than after the words stage of the whole folder.
        self.overlap = True

    # -- public --------------------------------------------------------------------------
    def index_folders(self, folders: Sequence[str], on_progress: ProgressFn | None = None,
                      forget_others: bool = False) -> IndexReport:
        """Scan ``folders`` and index what changed since last time.

        With ``forget_others``, files of folders not in ``folders`` are removed from the index.
        """
        started = time.perf_counter()
        report = IndexReport()
        progress = ProgressTracker(on_progress)
        progress.scanning()
        known = self.store.catalog.all_files()
        retry = self.store.catalog.retry_paths()
        self._retry = retry
        work: list[tuple[ScannedFile, FileState | None]] = []
        gone: dict[str, FileState] = {}
        # One set for all folders: overlapping folders (a parent and its child) are one scan,
        # and a file is wanted when any of them wants it.
        on_disk: set[str] = set()
        scanned_roots: list[str] = []
        for folder in folders:
            if not os.path.isdir(folder):
                # An unplugged drive or unmounted share: keep its index until it comes back.
                log.warning("folder %s is not reachable; keeping its index", folder)
                continue
            scanned_roots.append(folder.rstrip(os.sep) + os.sep)
            folder_work: list[tuple[ScannedFile, FileState | None]] = []
            for scanned in scan_folder(folder, self.rules, lambda: self.control.cancelled):
                if scanned.path in on_disk:
                    continue
                on_disk.add(scanned.path)
                state = known.get(scanned.path)
                if _changed(state, scanned) or scanned.path in retry:
                    folder_work.append((scanned, state))
                else:
                    report.unchanged += 1
            work += newest_first(folder_work)
        for path, state in known.items():
            if path.startswith(tuple(scanned_roots)) and path not in on_disk:
                gone[path] = state
        if forget_others:
            roots = [f.rstrip(os.sep) + os.sep for f in folders]
            for path, state in known.items():
                if not any(path.startswith(r) for r in roots):
                    gone[path] = state
        try:
            self._run(work, gone, report, progress)
        except Cancelled:
            report.cancelled = True
        finally:
            self.store.save()
            self._last_save = time.monotonic()
        report.seconds = time.perf_counter() - started
        if not report.cancelled:
            with self.store.catalog.transaction():
                self.store.catalog.set_meta("complete", "1")
                self.store.catalog.set_meta("last_indexed", str(time.time()))
                if self.embedder.loaded:
                    info = self.embedder.info
                    # Shown by `sift status` without loading the model.
                    self.store.catalog.set_meta("backend", f"{info.backend}: {info.reason}")
        progress.done(summarize(report))
        return report

    def update_paths(self, paths: Iterable[str], folders: Sequence[str],
                     on_progress: ProgressFn | None = None) -> IndexReport:
        """Re-check individual paths (from the watcher): index, update or remove each."""
        started = time.perf_counter()
        report = IndexReport()
        work: list[tuple[ScannedFile, FileState | None]] = []
        gone: dict[str, FileState] = {}
        cat = self.store.catalog
        retry = cat.retry_paths()
        self._retry = retry
        for path in dict.fromkeys(paths):
            root = root_of(path, folders)
            state = cat.file_state(path)
            try:
                st = os.stat(path)
                present = root is not None and os.path.isfile(path) and is_indexable(path, root,
                                                                                      self.rules)
            except OSError:
                present = False
            if not present:
                if state is not None:
                    gone[path] = state
                continue
            assert root is not None
            scanned = ScannedFile(path, root, st.st_size, st.st_mtime_ns)
            if _changed(state, scanned) or path in retry:
                work.append((scanned, state))
            else:
                report.unchanged += 1
        try:
            self._run(newest_first(work), gone, report, ProgressTracker(on_progress))
        except Cancelled:
            report.cancelled = True
        report.seconds = time.perf_counter() - started
        self._maybe_save(force=False)
        return report

    def remove_folder(self, folder: str) -> int:
        """Forget every file below ``folder``; returns how many files were removed."""
        prefix = folder.rstrip(os.sep) + os.sep
        states = [s for p, s in self.store.catalog.all_files().items() if p.startswith(prefix)]
        with self.store.catalog.transaction():
            for state in states:
                self.store.vectors.remove(self.store.catalog.delete_file(state.id))
        self.store.save()
        return len(states)

    # -- the pipeline ----------------------------------------------------------------------
    def _run(self, work: list[tuple[ScannedFile, FileState | None]], gone: dict[str, FileState],
             report: IndexReport, progress: ProgressTracker) -> None:
        """The words stage for ``work`` (every file findable by keyword), then the later stages."""
        started = time.perf_counter()
        progress.start_words(len(work), sum(f.size for f, _ in work), self.later_stages)
        # E-mail attachments are embedded as files of their own: the meaning stage counts them.
        progress.meaning_total += self.store.catalog.attachments_at_stage(STAGE_WORDS)
        try:
            self._words(work, gone, report, progress)
        finally:
            self._moved_ids.clear()
        report.words_seconds = time.perf_counter() - started
        self._later(report, progress)
        self._maybe_save(force=False)

    def _words(self, work: list[tuple[ScannedFile, FileState | None]], gone: dict[str, FileState],
               report: IndexReport, progress: ProgressTracker) -> None:
        gone_by_hash: dict[str, list[FileState]] = {}
        for state in gone.values():
            if state.hash and state.status == "indexed":
                gone_by_hash.setdefault(state.hash, []).append(state)
        reader = self.reader()
        reader.start(work, gone_by_hash)
        pending: list[FileOp] = []
        last_commit = last_op = time.monotonic()
        try:
            while True:
                self.control.checkpoint()
                try:
                    op = reader.ops.get(timeout=0.1)
                except queue.Empty:
                    if pending and time.monotonic() - last_commit > WORDS_COMMIT_SECONDS:
                        self._write(pending, report, progress)
                        pending, last_commit = [], time.monotonic()
                    elif not pending and time.monotonic() - last_op > SLOW_READ_SECONDS:
                        # The reader is busy with a slow file: embed what was read meanwhile.
                        self._embed_meanwhile(report, progress)
                    continue
                last_op = time.monotonic()
                if op is None:
                    break
                pending.append(op)
                if len(pending) >= WORDS_BATCH or \
                        time.monotonic() - last_commit > WORDS_COMMIT_SECONDS:
                    self._write(pending, report, progress)
                    pending, last_commit = [], time.monotonic()
                progress.file_read(op.file.path, op.file.size,
                                   op.passages if op.kind == "index" and not op.waiting_ocr
                                   else None,
                                   report.chunks + sum(o.passages for o in pending))
                progress.meaning_total += sum(1 for _, c in op.members if c)
            self._write(pending, report, progress)
            pending = []
            leftovers = [s for s in gone.values() if s.id not in self._moved_ids]
            if leftovers:
                with self.store.catalog.transaction():
                    for state in leftovers:
                        self.store.vectors.remove(self.store.catalog.delete_file(state.id))
                report.removed += len(leftovers)
        finally:
            reader.stop()

    def reader(self) -> FileReader:
        """What reads this run's files (hash, extract, chunk) ahead of the writer."""
        return FileReader(self.settings, self.embedder, self.ocr_cache, self._retry)

    def _later(self, report: IndexReport, progress: ProgressTracker) -> None:
        """Run the later stages until none has work left (one may hand work to another)."""
        progress.start_later()
        busy = True
        while busy:
            busy = False
            for stage in self.later_stages:
                while (step := stage.step(self.control.checkpoint)) is not None:
                    busy = True
                    self._count_step(stage.name, step, report, progress)

    def _embed_meanwhile(self, report: IndexReport, progress: ProgressTracker) -> None:
        """One small embedding step while the words stage waits for the reader.

        It is one encoder slice (about SLICE_SECONDS), so the next file read waits that long at
        most to be written; before the model is in, nothing is waited for here.
        """
        if not self.overlap or not self.embedder.loaded:
            return
        stage = next((s for s in self.later_stages if isinstance(s, EmbeddingStage)), None)
        if stage is None:
            return
        step = stage.step(self.control.checkpoint, most=stage.slice)
        if step is not None:
            self._count_step(stage.name, step, report, progress)

    def _count_step(self, name: str, step: StepResult, report: IndexReport,
                    progress: ProgressTracker) -> None:
        if name == EmbeddingStage.name:
            report.embedded += step.passages - step.kept
            report.reused += step.kept
            report.embed_seconds += step.seconds
        progress.step_done(name, step.files, step.passages)
        self._maybe_save(force=False)
        self.control.checkpoint()

    def _write(self, ops: list[FileOp], report: IndexReport,
               progress: ProgressTracker | None = None) -> None:
        """Store the outcome of ``ops`` in one transaction: files, passages and their keywords.

        Passages are stored without embeddings (stage 'words'): the file is found by its words
        at once, and the embedding stage fills in its meaning afterwards.
        """
        if not ops:
            return
        cat = self.store.catalog
        removed_ids: list[int] = []
        reused: dict[int, bytes] = {}  # new passage id -> an embedding stored for the same text
        complete = 0  # files whose passages all kept an embedding: nothing left to embed
        with cat.transaction():
            for op in ops:
                f = op.file
                if op.kind == "touch":
                    assert op.old is not None
                    cat.touch_file(op.old.id, f.size, f.mtime_ns)
                    report.unchanged += 1
                elif op.kind == "move":
                    assert op.old is not None
                    existing = cat.file_state(f.path)
                    if existing is not None:
                        removed_ids += cat.delete_file(existing.id)
                    cat.move_file(op.old.id, f.path, f.folder, f.size, f.mtime_ns)
                    self._moved_ids.add(op.old.id)
                    report.moved += 1
                elif op.kind == "skip":
                    old = cat.file_state(f.path)
                    if old is not None:
                        removed_ids += cat.delete_chunks_of(old.id) + cat.delete_members_of(old.id)
                    cat.put_file(f.path, f.folder, f.size, f.mtime_ns, op.hash, "skipped",
                                 op.reason)
                    report.skipped += 1
                    report.skipped_files.append(SkippedFile(f.path, op.reason))
                else:
                    old = cat.file_state(f.path)
                    known = {} if op.waiting_ocr else self._known_embeddings(old, op)
                    if old is not None:
                        removed_ids += cat.delete_chunks_of(old.id) + cat.delete_members_of(old.id)
                        report.updated += 1
                    else:
                        report.added += 1
                    file_id = cat.put_file(f.path, f.folder, f.size, f.mtime_ns, op.hash,
                                           "indexed", op.reason or None)
                    ids = cat.add_chunks(file_id, f.path, op.chunks, known=known)
                    if known:
                        kept = {i: known[c.text] for i, c in zip(ids, op.chunks, strict=True)
                                if c.text in known}
                        reused.update(kept)
                        complete += len(kept) == len(ids)
                    for member, chunks in op.members:
                        cat.put_member(file_id, member, chunks)
                    if op.waiting_ocr:
                        cat.set_stage(file_id, STAGE_OCR)  # nothing to embed until its text comes
                    else:
                        report.chunks += op.passages
                    if op.reason and not op.reason.startswith(RETRY_REASON):
                        report.skipped_files.append(SkippedFile(f.path, f"{PARTLY}{op.reason}"))
        # The catalog has committed; now the vector index follows. A crash in between is
        # repaired from the catalog at the next start.
        self.store.vectors.remove(removed_ids)
        if reused:
            blobs = list(reused.values())
            vectors = np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), -1)
            self.store.vectors.add(np.fromiter(reused, dtype=np.uint64, count=len(reused)),
                                   vectors.astype(np.float32))
            report.reused += len(reused)
            if progress is not None:
                progress.kept(complete, len(reused))
        self._maybe_save(force=False)

    def _known_embeddings(self, old: FileState | None, op: FileOp) -> dict[str, bytes]:
        """Embeddings already stored for this file's passages' texts: its own before this change
        (an edit keeps most passages as they were), a copy's, or the same text anywhere else
        (another version of a document).

        They are the same model's (a catalog holds one model), so those passages need no
        embedding; a file whose passages all have one is found by its meaning at once.
        """
        cat = self.store.catalog
        sources = [old.id] if old is not None and old.status == "indexed" else []
        twin = cat.twin_of(op.hash, op.file.path)
        if twin is not None:
            sources.append(twin)
        known = cat.embeddings_by_text(sources) if sources else {}
        # Passages stored before keys existed are found only through their own file or a copy.
        rest = [c.text for c in op.chunks if c.text not in known]
        if rest:
            known.update(cat.embeddings_for_texts(rest))
        return known

    def _maybe_save(self, force: bool) -> None:
        # Saving is for a quick next start, not for safety (the catalog is): a large index,
        # whose save takes seconds, is saved less often so saves stay a small share of the time.
        last = float(getattr(self.store.vectors, "save_seconds", 0.0))
        if force or time.monotonic() - self._last_save > max(SAVE_VECTORS_SECONDS, SAVE_SHARE * last):
            self.store.save()
            self._last_save = time.monotonic()


def root_of(path: str, folders: Sequence[str]) -> str | None:
    best: str | None = None
    for folder in folders:
        prefix = folder.rstrip(os.sep) + os.sep
        if path.startswith(prefix) and (best is None or len(folder) > len(best)):
            best = folder
    return best


def summarize(r: IndexReport) -> str:
    parts = [f"{r.added} added", f"{r.updated} updated", f"{r.moved} moved",
             f"{r.removed} removed", f"{r.skipped} skipped", f"{r.unchanged} unchanged"]
    if r.reused:
        parts.append(f"{r.reused} passages already embedded")
    return ", ".join(parts) + (" (cancelled)" if r.cancelled else "")


def _changed(state: FileState | None, scanned: ScannedFile) -> bool:
    return state is None or state.size != scanned.size or state.mtime_ns != scanned.mtime_ns
