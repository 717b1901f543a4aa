"""Where Sift keeps its settings, index and caches (platformdirs, overridable for tests and portable use)."""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from app import APP_NAME

ENV_DATA_DIR = "SIFT_DATA_DIR"


@dataclass(frozen=True)
class AppPaths:
    """The folders Sift writes to. With an explicit data folder, everything lives inside it."""

    data_dir: Path
    config_dir: Path
    cache_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def indexes_dir(self) -> Path:
        return self.data_dir / "indexes"

    @property
    def logs_dir(self) -> Path:
        """The log file and crash reports (app/core/host/diagnostics.py)."""
        return self.cache_dir / "logs"

    def ensure(self) -> AppPaths:
        """Create the folders, readable by the user only.

        A data folder that exists but cannot be written (a read-only disk, another user's
        folder) is left as it is: its index can still be searched.
        """
        for d in (self.data_dir, self.config_dir, self.cache_dir, self.indexes_dir):
            try:
                make_private_dir(d)
            except OSError as exc:
                if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM) \
                        or not self.data_dir.is_dir():
                    raise
        return self


def make_private_dir(path: Path) -> None:
    """Create ``path`` and each missing parent, readable by the current user only.

    Every folder made here is private, not only the last: the log folder (data/cache/logs) is
    the first one made, and its parents made on the way would otherwise be left 0755.
    A folder that already exists keeps its mode: the user may have pointed Sift at a shared
    folder on purpose, and changing it (a 1777 folder made 0700) would break other programs.
    Files Sift writes in it are private on their own (0600).
    """
    if path.is_dir():
        return
    missing: list[Path] = []
    folder = path
    while not folder.is_dir() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another thread
            folder.mkdir()
            with contextlib.suppress(OSError):  # FAT and some shares have no modes
                folder.chmod(0o700)  # mkdir's mode is cut by the umask: set it whole


def writable(folder: Path) -> bool:
    """Whether files can be made in ``folder`` (no on a read-only mount, even for root)."""
    try:
        if hasattr(os, "statvfs") and os.statvfs(folder).f_flag & os.ST_RDONLY:
            return False
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def resolve_paths(data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
    """Pick the folders: ``--data-dir`` first, then ``$SIFT_DATA_DIR``, then the platform's."""
    chosen = data_dir or os.environ.get(ENV_DATA_DIR)
    if chosen:
        root = Path(chosen).expanduser().resolve()
        return AppPaths(data_dir=root, config_dir=root, cache_dir=root / "cache")
    return AppPaths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
    )
