"""Opening an e-mail attachment: a private copy under the data folder, stale copies removed."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from app.core.errors import SkipFile
from app.core.host.paths import make_private_dir

# The default app opens a copy after Sift hands it over, and may keep it open for a while:
# copies are removed once they are this old, at the next opening.
KEEP_SECONDS = 24 * 3600


def copies_folder(data_dir: Path) -> Path:
    return data_dir / "cache" / "attachments"


def private_copy(data_dir: Path, mail: Path, part: str, name: str,
                 max_bytes: int | None = None) -> Path:
    """Write attachment ``part`` (named ``name``) of the mail file ``mail`` to a file only this
    user can read, and return its path; SkipFile with the reason when it cannot."""
    from app.core.extract import DEFAULT_MAX_BYTES, MBOX_MAX_BYTES
    from app.core.extract.mail import attachment_bytes

    folder = copies_folder(data_dir)
    make_private_dir(folder)
    with contextlib.suppress(OSError):
        folder.chmod(0o700)  # ours alone: never a folder someone else made readable
    remove_stale(folder)
    try:
        found, data = attachment_bytes(mail, part, max(max_bytes or DEFAULT_MAX_BYTES,
                                                         MBOX_MAX_BYTES))
    except OSError as exc:
        raise SkipFile(f"the mail could not be read ({exc.strerror or exc})") from exc
    if found != name:
        raise SkipFile("the mail has changed since it was indexed; search again")
    # A folder of its own per copy (mkdtemp: mode 0700), so the copy keeps the attachment's name.
    holder = Path(tempfile.mkdtemp(prefix="open-", dir=folder))
    target = holder / (name if name not in ("", ".", "..") else "attachment")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return target


def remove_stale(folder: Path, keep_seconds: float = KEEP_SECONDS) -> int:
    """Remove copies older than ``keep_seconds``; returns how many."""
    removed = 0
    cutoff = time.time() - keep_seconds
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed
