"""Walking indexed folders: which files Sift should index, after exclusion rules and .gitignore."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pathspec

from app.core.extract import kind_of
from app.core.records import ScannedFile
from app.core.settings import DEFAULT_EXCLUDES

log = logging.getLogger(__name__)


class Rules:
    """Exclusion rules: defaults plus the user's patterns (gitignore syntax), plus .gitignore files."""

    def __init__(self, extra: Sequence[str] = (), *, respect_gitignore: bool = True,
                 defaults: Sequence[str] = DEFAULT_EXCLUDES) -> None:
        self.patterns = tuple(defaults) + tuple(p for p in extra if p.strip())
        self.spec = pathspec.GitIgnoreSpec.from_lines(self.patterns)
        self.respect_gitignore = respect_gitignore

    def excluded(self, rel: str, is_dir: bool) -> bool:
        return self.spec.match_file(rel + "/" if is_dir else rel)


def _load_gitignore(folder: str) -> pathspec.GitIgnoreSpec | None:
    path = os.path.join(folder, ".gitignore")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return pathspec.GitIgnoreSpec.from_lines(f.read().splitlines())
    except OSError:
        return None


def is_indexable(path: str, root: str, rules: Rules) -> bool:
    """Whether a single file below ``root`` would be indexed (used for watcher events)."""
    if kind_of(Path(path)) is None:
        return False
    rel = os.path.relpath(path, root)
    if rel.startswith(".."):
        return False
    parts = rel.replace(os.sep, "/").split("/")
    for i in range(1, len(parts)):
        if rules.excluded("/".join(parts[:i]), is_dir=True):
            return False
    if rules.excluded(rel.replace(os.sep, "/"), is_dir=False):
        return False
    if rules.respect_gitignore:
        base = root
        for i in range(len(parts)):
            spec = _load_gitignore(base)
            sub = "/".join(parts[i:])
            if spec is not None and spec.match_file(sub):
                return False
            base = os.path.join(base, parts[i])
    return True


def scan_folder(root: str, rules: Rules,
                should_stop: Callable[[], bool] = lambda: False) -> Iterator[ScannedFile]:
    """Every indexable file below ``root`` (symlinked folders are not followed, to avoid loops)."""
    stack: list[tuple[str, list[tuple[str, pathspec.GitIgnoreSpec]]]] = [(root, [])]
    while stack:
        if should_stop():
            return
        folder, ignores = stack.pop()
        if rules.respect_gitignore:
            spec = _load_gitignore(folder)
            if spec is not None:
                ignores = [*ignores, (folder, spec)]
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            log.warning("cannot list %s: %s", folder, exc)
            continue
        for entry in sorted(entries, key=lambda e: e.name):
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file(follow_symlinks=True)
            except OSError:
                continue
            if not is_dir and not is_file:
                continue
            rel = os.path.relpath(entry.path, root).replace(os.sep, "/")
            if rules.excluded(rel, is_dir) or _ignored(entry.path, is_dir, ignores):
                continue
            if is_dir:
                stack.append((entry.path, ignores))
            elif kind_of(Path(entry.name)) is not None:
                try:
                    st = entry.stat(follow_symlinks=True)
                except OSError:
                    continue
                yield ScannedFile(path=entry.path, folder=root, size=st.st_size,
                                  mtime_ns=st.st_mtime_ns)


def _ignored(path: str, is_dir: bool, ignores: list[tuple[str, pathspec.GitIgnoreSpec]]) -> bool:
    for base, spec in ignores:
        rel = os.path.relpath(path, base).replace(os.sep, "/")
        if spec.match_file(rel + "/" if is_dir else rel):
            return True
    return False


def normalize_folder(folder: str | os.PathLike[str]) -> str:
    """The canonical form of a folder path, as stored in settings and the catalog."""
    return str(Path(folder).expanduser().resolve())
