"""Native libraries load in an order that works: onnxruntime after usearch must not crash Sift."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
# The child starts without them, as a user's shell would (this test process has set them).
_SETTLED = {"TOKENIZERS_PARALLELISM", "HF_HUB_DISABLE_PROGRESS_BARS", "OPENBLAS_MAIN_FREE",
            "KMP_DUPLICATE_LIB_OK", "KMP_INIT_AT_FORK", "TF_CPP_MIN_LOG_LEVEL",
            "CODECARBON_LOG_LEVEL", "TORCHINDUCTOR_CACHE_DIR"}


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="needs onnxruntime")
def test_opening_a_vector_index_then_the_query_encoder_does_not_crash(tmp_path: Path) -> None:
    # In a child: a segmentation fault would take the test run with it.
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from app.core.storage.vectors import UsearchStore\n"
        "store = UsearchStore(Path(sys.argv[1]) / 'v.usearch', 4)\n"
        "store.reset()\n"
        "import onnxruntime\n"
        "print('alive')\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "alive" in out.stdout, out.stderr[-1000:]


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="needs onnxruntime")
def test_a_writer_opening_the_index_never_queues_behind_a_model_load(tmp_path: Path) -> None:
    # Two threads reach the onnxruntime import together: one goes straight on into a model load
    # (seconds under the native-imports lock). The other, the writer about to open the index,
    # must be through as soon as onnxruntime is in, or a quit then misses its deadline.
    code = (
        "import importlib.util, threading, time\n"
        "real = importlib.util.find_spec\n"
        "def slow(name, *a):  # a slow disk: both threads find onnxruntime not imported yet\n"
        "    time.sleep(0.3)\n"
        "    return real(name, *a)\n"
        "importlib.util.find_spec = slow\n"
        "from app.core.host.native import NATIVE_IMPORTS, before_usearch\n"
        "start = threading.Barrier(2)\n"
        "took = {}\n"
        "def loader():\n"
        "    start.wait()\n"
        "    before_usearch()\n"
        "    with NATIVE_IMPORTS:\n"
        "        time.sleep(4)  # the model load\n"
        "def writer():\n"
        "    start.wait()\n"
        "    t = time.monotonic()\n"
        "    before_usearch()\n"
        "    took['writer'] = time.monotonic() - t\n"
        "threads = [threading.Thread(target=f) for f in (loader, writer)]\n"
        "[t.start() for t in threads]\n"
        "threads[1].join()\n"
        "print(f\"{took['writer']:.2f}\")\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-1000:]
    assert float(out.stdout.strip()) < 3.0  # the import alone, not the 4 s load behind it


def test_no_library_adds_an_environment_variable_on_a_worker_thread(tmp_path: Path,
                                                                    tiny_model: Path) -> None:
    # A name added to the environment on one thread while another reads it (Qt, OpenMP) crashes
    # the process now and then: the window died this way, on the model-loading thread importing
    # scikit-learn. Loading the model as the app does (backend auto: torch, the ONNX export,
    # OpenVINO and its int8 tools) and reading a PDF must add no name after start. (OpenCV, which
    # sets Qt's, is only ever imported by the OCR worker process.)
    code = (
        "import os, sys, threading\n"
        "from pathlib import Path\n"
        "real, added = os.putenv, []\n"
        "def spy(key, value):\n"
        "    name = os.fsdecode(key)\n"
        "    if threading.current_thread() is not threading.main_thread() and name not in os.environ:\n"
        "        added.append(name)\n"
        "    real(key, value)\n"
        "os.putenv = spy\n"
        "import app  # settles the environment on the main thread\n"
        "def load():\n"
        "    from app.core.encoders.embedder import Embedder\n"
        "    e = Embedder(sys.argv[1], backend='auto', cache_dir=Path(sys.argv[2]))\n"
        "    e.load()\n"
        "    e.embed_documents(['a few words'])\n"
        "    import pypdf  # noqa: F401\n"
        "t = threading.Thread(target=load)\n"
        "t.start()\n"
        "t.join()\n"
        "print('added:', sorted(set(added)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tiny_model), str(tmp_path / "cache")],
                         cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={k: v for k, v in os.environ.items() if k not in _SETTLED})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "added: []" in out.stdout, out.stdout[-2000:]
