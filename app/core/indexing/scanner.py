"""Walking indexed folders: which files Sift should index, after exclusion rules and .gitignore."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
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
    if os.path.islink(path):  # the scan's rule: a link leading outside the folder is not read
        target, real_root = os.path.realpath(path), os.path.realpath(root)
        if not target.startswith(real_root.rstrip(os.sep) + os.sep):
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
    """Every indexable file below ``root``, and what is left out of it with the reason.

    Links: one inside the folder is followed (a file link is indexed under its own name; a
    folder link's files are indexed where they are, so it is not walked again, which also
    keeps loops out); one leading outside the folder is not followed and is listed as skipped
    with where it leads, as are broken links, link loops, named pipes, sockets and devices.
    """
    real_root = os.path.realpath(root)
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
            except OSError:
                continue
            try:
                is_file = entry.is_file(follow_symlinks=True)
            except OSError:  # a loop of links: listed below
                is_file = False
            rel = os.path.relpath(entry.path, root).replace(os.sep, "/")
            if (not is_dir and not is_file) or entry.is_symlink():
                left_out = _left_out(entry, real_root, is_file)
                if left_out is not None and not rules.excluded(rel, left_out.folder) and \
                        not _ignored(entry.path, left_out.folder, ignores):
                    yield ScannedFile(path=entry.path, folder=root, size=0,
                                      mtime_ns=left_out.mtime_ns, skip=left_out.reason)
                if left_out is not None or not is_file:
                    continue
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


@dataclass(frozen=True)
class _LeftOut:
    reason: str
    mtime_ns: int
    folder: bool  # a link to a folder (exclusion rules match it as one)


def _left_out(entry: os.DirEntry[str], real_root: str, is_file: bool) -> _LeftOut | None:
    """Why an entry that is no plain file or folder of its own is not read; None: no matter.

    None for a link inside the folder (a file link is then indexed, a folder link's files
    are indexed where they are), and for what would not be indexed anyway (an unknown kind).
    """
    try:
        mtime_ns = entry.stat(follow_symlinks=False).st_mtime_ns
    except OSError:
        return None
    known_kind = kind_of(Path(entry.name)) is not None
    if not entry.is_symlink():
        what = _special(entry.path)
        return _LeftOut(f"{what}, not a file: not read", mtime_ns, False) if what else None
    try:
        target_mode = os.stat(entry.path).st_mode
    except OSError:  # broken, or a loop of links
        return _LeftOut("a link that leads nowhere (its target is missing, or links "
                        "lead in a loop)", mtime_ns, False) if known_kind else None
    target = os.path.realpath(entry.path)
    inside = target == real_root or target.startswith(real_root.rstrip(os.sep) + os.sep)
    if stat.S_ISDIR(target_mode):
        return None if inside else _LeftOut(
            f"a link to the folder {target}, outside the indexed folder: not followed",
            mtime_ns, True)
    if not is_file:
        what = _special(entry.path)
        return _LeftOut(f"a link to {what}, not a file: not read", mtime_ns, False) \
            if what and known_kind else None
    if inside or not known_kind:
        return None
    return _LeftOut(f"a link to {target}, outside the indexed folder: not followed", mtime_ns,
                    False)


def _special(path: str) -> str:
    """'a named pipe', 'a socket', 'a device', or '' for a file or folder."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return ""
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return ""


def _ignored(path: str, is_dir: bool, ignores: list[tuple[str, pathspec.GitIgnoreSpec]]) -> bool:
    for base, spec in ignores:
        rel = os.path.relpath(path, base).replace(os.sep, "/")
        if spec.match_file(rel + "/" if is_dir else rel):
            return True
    return False


def normalize_folder(folder: str | os.PathLike[str]) -> str:
    """The canonical form of a folder path, as stored in settings and the catalog."""
    return str(Path(folder).expanduser().resolve())
