"""Encoder speed on an AVX2-only CPU, emulated on a newer one: `sift bench --json` with every capable
runtime capped to AVX2.

    .venv/bin/python tests/benchmarks/avx2_emulated.py [--data-dir D] [--chunks 400] [--json OUT]

Most people's CPUs have AVX2 and no AVX-512 (Intel laptops before Ice Lake, AMD before Zen 4).
Without such a machine, the runtimes are told to dispatch no further than AVX2: oneDNN (torch's
and OpenVINO's matrix products: ONEDNN_MAX_CPU_ISA), MKL (torch's float32 GEMM:
MKL_ENABLE_INSTRUCTIONS), ATen's vector code (ATEN_CPU_CAPABILITY) and OpenVINO's own kernels
(OV_CPU_MAX_ISA, where the build honours it). ONNX Runtime picks its kernels from CPUID and has no
such switch, so its rows are NOT capped and are marked so. Before the bench, OpenVINO's per-layer
profile is read under the cap to show which kernels its matrix products really ran.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CAP = {"ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2", "OV_CPU_MAX_ISA": "AVX2",
       "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
UNCAPPED = ("onnxruntime",)  # backend labels whose runtime ignores the cap

PROFILE = r"""
import collections, sys
import numpy as np, openvino as ov
from app.core.backends.check import PROBE_PASSAGES
from app.core.backends.exported import ExportedRunner, load_spec
folder = sys.argv[1]
for name in sys.argv[2:]:
    core = ov.Core()
    req = core.compile_model(f"{folder}/{name}", "CPU", {"PERF_COUNT": True,
                             "INFERENCE_PRECISION_HINT": "f32"}).create_infer_request()
    tok = ExportedRunner(__import__("pathlib").Path(folder), load_spec(__import__("pathlib").Path(folder)),
                         lambda x: x)
    req.infer(tok.feed(list(PROBE_PASSAGES[:4])))
    kinds = collections.Counter(f"{p.node_type}:{p.exec_type}" for p in req.profiling_info
                                if p.node_type in ("FullyConnected", "MatMul"))
    print(name, dict(kinds))
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default="/tmp/sift-avx2-bench")
    p.add_argument("--chunks", type=int, default=400)
    p.add_argument("--json", help="also write both runs here")
    p.add_argument("--cap", default="AVX2", choices=("AVX2", "AVX2_VNNI"),
                   help="AVX2_VNNI: the AVX2 CPUs with VNNI (Intel since Alder Lake)")
    p.add_argument("--capped-only", action="store_true", help="skip the uncapped run")
    args = p.parse_args()
    cap = {k: (args.cap if k != "ATEN_CPU_CAPABILITY" else "avx2") for k in CAP}
    runs: dict[str, Any] = {}
    plan = (("native", {}), (args.cap.lower(), cap))
    for label, extra in plan[1:] if args.capped_only else plan:
        env = {**os.environ, **extra, "PYTHONPATH": str(ROOT)}
        if extra:
            _profile(args.data_dir, env)
        out = subprocess.run([sys.executable, "-m", "app.main", "--data-dir", args.data_dir,
                              "bench", "--json", "--chunks", str(args.chunks)], env=env, cwd=ROOT,
                             capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            return 1
        runs[label] = json.loads(out.stdout)
        _print(label, runs[label])
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    return 0


def _profile(data_dir: str, env: dict[str, str]) -> None:
    """Which kernels OpenVINO's matrix products ran under the cap (brgemm_avx2 / jit_avx2 …)."""
    for folder in Path(data_dir).glob("cache/encoders/*/"):
        models = [m.name for m in folder.glob("*.onnx")] + [m.name for m in folder.glob("*.xml")]
        if models:
            out = subprocess.run([sys.executable, "-c", PROFILE, str(folder), *models], env=env,
                                 cwd=ROOT, capture_output=True, text=True)
            print(f"OpenVINO kernels under the cap ({folder.name}):\n{out.stdout or out.stderr[-1500:]}")


def _print(label: str, run: dict[str, Any]) -> None:
    machine = run["machine"]
    print(f"\n{label}: {machine['cpu']} flags {machine['flags']} cap {machine.get('isa_cap')} "
          f"load {machine['load_average']:.1f}; chosen {run['chosen']}")
    for key in ("backends", "backends_short"):
        rows = run.get(key) or []
        base = next((r["chunks_per_s"] for r in rows if r["name"].startswith("torch float32")), None)
        print(f"  ≤{run.get(f'{key}_max_tokens')} word pieces:")
        for r in rows:
            rate = r["chunks_per_s"]
            ratio = f"{rate / base:5.2f}x" if rate and base else "   —  "
            capped = "" if label == "native" or not any(r["name"].startswith(u) for u in UNCAPPED) \
                else "  (not capped: ONNX Runtime ignores the switch)"
            print(f"    {r['name']:<34} {rate or 0:7.1f}/s {ratio} cos {r['mean_cos']}{capped}")
    print(f"  end to end: {run.get('end_to_end_chunks_per_s')}/s")


if __name__ == "__main__":
    raise SystemExit(main())
