"""Nothing leaves the machine: the libraries Sift runs on neither report usage nor leave ids behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.encoders.backends import hardware

ROOT = Path(__file__).resolve().parents[3]


def _fresh_home_run(tmp_path: Path, code: str) -> Path:
    """Run ``code`` in a new process whose home is empty; the home afterwards."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("ORT_DISABLE_TELEMETRY", "HF_HUB_DISABLE_TELEMETRY", "DO_NOT_TRACK", "CI")}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT), XDG_CACHE_HOME="", XDG_CONFIG_HOME="")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return home


# Running a model with each runtime Sift uses, in a process that imported the app first.
# ONNX Runtime 1.29+ reports usage to Microsoft on Linux and macOS and keeps a device id under
# ~/.cache/Microsoft unless told not to before it initialises. Importing openvino loads its
# converter, which sends a Google Analytics event and keeps a client id under ~/intel when the
# openvino_telemetry package can be imported.
RUNS = {
    "onnxruntime": (
        "import onnx, onnxruntime as ort\n"
        "from onnx import helper, TensorProto\n"
        "x = helper.make_tensor_value_info('x', TensorProto.FLOAT, [1])\n"
        "y = helper.make_tensor_value_info('y', TensorProto.FLOAT, [1])\n"
        "g = helper.make_graph([helper.make_node('Identity', ['x'], ['y'])], 'g', [x], [y])\n"
        "m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])\n"
        "m.ir_version = 8\n"
        "s = ort.InferenceSession(m.SerializeToString(), providers=['CPUExecutionProvider'])\n"
        "print(s.run(None, {'x': np.ones(1, np.float32)}))\n"),
    "openvino": (
        "import openvino as ov\n"
        "from openvino import opset13 as ops\n"
        "x = ops.parameter([1], np.float32)\n"
        "m = ov.Model([ops.relu(x)], [x])\n"
        "print(ov.Core().compile_model(m, 'CPU')(np.ones(1, np.float32)))\n"),
}


@pytest.mark.parametrize("runtime", sorted(RUNS))
def test_running_a_model_reports_nothing_and_leaves_no_id_behind(tmp_path: Path,
                                                                 runtime: str) -> None:
    if not hardware.installed(runtime):
        pytest.skip(f"{runtime} is optional")
    home = _fresh_home_run(tmp_path, "import app\nimport numpy as np\n" + RUNS[runtime])
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []


def test_the_switches_reach_processes_sift_starts(tmp_path: Path) -> None:
    # PDF and OCR workers are processes of their own; they inherit the environment.
    code = ("import app, subprocess, sys\n"
            "print(subprocess.run([sys.executable, '-c', 'import os; "
            "print(os.environ.get(\"ORT_DISABLE_TELEMETRY\"), os.environ.get(\"DO_NOT_TRACK\"))'],"
            " capture_output=True, text=True).stdout.strip())\n")
    home = tmp_path / "h"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "DO_NOT_TRACK")}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "1 1", out.stderr
