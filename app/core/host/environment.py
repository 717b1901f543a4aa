"""The environment variables Sift's libraries would add later, added once at start by one thread."""

from __future__ import annotations

import getpass
import os
import re

# glibc's setenv may move the environment array when it adds a name, while a getenv on another
# thread is still reading the old one: a segmentation fault (Qt, OpenMP and the native runtimes
# read the environment on their own threads). The libraries below add these names when they
# are first imported, which in Sift happens on the model-loading thread while the window runs.
# Added here first, they are only ever replaced in place, which is safe. The values are the
# ones each library would set, so nothing else changes.
LIBRARY_DEFAULTS: dict[str, str] = {
    "TOKENIZERS_PARALLELISM": "false",  # Sift's own: no tokenizer threads beside its workers
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # Sift's own: no progress bars on a model load
    "OPENBLAS_MAIN_FREE": "1",  # numpy sets it while it loads OpenBLAS, then removes it
    "KMP_DUPLICATE_LIB_OK": "True",  # scikit-learn (imported by sentence-transformers)
    "KMP_INIT_AT_FORK": "FALSE",  # scikit-learn
    "TF_CPP_MIN_LOG_LEVEL": "2",  # OpenVINO's model converter, ONNX Runtime's exporter
    "CODECARBON_LOG_LEVEL": "error",  # sentence-transformers, when codecarbon is installed
}


def torch_cache_dir() -> str:
    """The folder torch names as its compile cache when none is set (it always writes the name).

    Its own default, without tempfile.gettempdir(), which writes probe files (every start pays it).
    """
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid_{os.getuid()}" if hasattr(os, "getuid") else "unknown_user"
    temp = next((os.environ[v] for v in ("TMPDIR", "TEMP", "TMP") if os.environ.get(v)),
                "/tmp" if os.name != "nt" else os.path.expanduser(r"~\AppData\Local\Temp"))
    return os.path.abspath(os.path.join(temp, "torchinductor_" + re.sub(r'[\\/:*?"<>|]', "_", user)))


def settle_environment() -> None:
    """Add every name a library would add later, keeping any the user has set."""
    for name, value in LIBRARY_DEFAULTS.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", torch_cache_dir())
