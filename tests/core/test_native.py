"""Native libraries load in an order that works: onnxruntime after usearch must not crash Sift."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="needs onnxruntime")
def test_opening_a_vector_index_then_the_query_encoder_does_not_crash(tmp_path: Path) -> None:
    # In a child: a segmentation fault would take the test run with it.
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from app.core.vectors import UsearchStore\n"
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
        "from app.core.native import NATIVE_IMPORTS, before_usearch\n"
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
