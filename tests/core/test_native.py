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
