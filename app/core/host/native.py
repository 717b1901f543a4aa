"""Loading native libraries safely: one at a time, and onnxruntime before usearch."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import threading

# Native libraries (torch, onnxruntime, OpenVINO) imported by two threads at once can crash the
# process; every load that imports them takes this lock.
NATIVE_IMPORTS = threading.RLock()
_ONNXRUNTIME_IMPORT = threading.Lock()


def before_usearch() -> None:
    """Import onnxruntime (when installed) before usearch's extension is loaded.

    onnxruntime 1.23 and later crash (segmentation fault) when imported after usearch 2.2x's
    compiled module in the same process; the other order works. Queries, the exported
    backends and OCR all use onnxruntime, so it is loaded first, once.
    """
    if "onnxruntime" in sys.modules:
        # Imported, or being imported by another thread: the import waits until it is complete,
        # without waiting for a model load that may hold the lock for seconds.
        import onnxruntime
        return
    if importlib.util.find_spec("onnxruntime") is None:
        return
    with _ONNXRUNTIME_IMPORT:
        # Two threads got here at once: the first imports, and may go straight on into a model
        # load under NATIVE_IMPORTS; the second must not queue for that lock behind the load
        # (the writer, opening the index, would miss a quit's deadline by seconds).
        if "onnxruntime" in sys.modules:
            return
        with NATIVE_IMPORTS, contextlib.suppress(ImportError):
            import onnxruntime  # noqa: F401
