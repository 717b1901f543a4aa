"""Encoder speed on an AVX2-only CPU, emulated on a newer one: `sift bench --json` on a CPU whose
CPUID answers without AVX-512.

    .venv/bin/python tests/benchmarks/avx2_emulated.py [--data-dir D] [--chunks 400] [--json OUT]
        [--cap AVX2|AVX2_VNNI] [--capped-only] [--method cpuid|env]

Most people's CPUs have AVX2 and no AVX-512 (Intel laptops before Ice Lake, AMD before Zen 4).
Without such a machine, --method cpuid (the default) runs the bench with cpuid_cap.c preloaded:
Linux's CPUID faulting traps every CPUID instruction and answers it with AVX-512 (and, for
--cap AVX2, AVX-VNNI) masked out. Every library in the process - MKL, oneDNN, OpenVINO, ONNX
Runtime's MLAS, numpy - then picks the kernels it would pick on that CPU, and they run natively.
It needs gcc and the `cpuid_fault` CPU flag (Intel CPUs, KVM guests).

--method env is the older, partial way: the runtimes that have a switch are told to dispatch no
further than AVX2 (ONEDNN_MAX_CPU_ISA, MKL_ENABLE_INSTRUCTIONS, ATEN_CPU_CAPABILITY,
OV_CPU_MAX_ISA); ONNX Runtime has none, so its rows are not capped and are marked so.
Before the bench, OpenVINO's per-layer profile is read under the cap to show which kernels its
matrix products really ran.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHIM = Path(__file__).with_name("cpuid_cap.c")
ENV_CAP = {"ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2", "OV_CPU_MAX_ISA": "AVX2",
           "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
UNCAPPED = ("onnxruntime",)  # backend labels whose runtime ignores --method env

PROFILE = r"""
import collections, sys
import numpy as np, openvino as ov
from app.core.encoders.backends.check import PROBE_PASSAGES
from app.core.encoders.backends.exported import ExportedRunner, load_spec
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

# Where torch float32's time goes under the cap, and what int8 could gain at most: AVX2 without
# VNNI multiplies int8 (vpmaddubsw + vpmaddwd) at twice float32's FMA rate at best, AVX-VNNI
# (vpdpbusd) at four times; only the matrix products can run in int8.
TORCH_SHARES = r"""
import collections, time, torch
from torch.profiler import ProfilerActivity, profile
from app.core.encoders.backends.check import PROBE_PASSAGES
from app.core.encoders.backends.torch_runner import load_sentence_transformer
from app.core.encoders.models import resolve_model
model = load_sentence_transformer(resolve_model("sentence-transformers/all-MiniLM-L6-v2"))
texts = [" ".join(PROBE_PASSAGES[i:] + PROBE_PASSAGES[:i])[:1300] for i in range(32)]
with torch.inference_mode():
    model.encode(texts, batch_size=16)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        model.encode(texts, batch_size=16)
kinds = collections.Counter()
for e in prof.key_averages():
    kind = ("matrix products" if e.key in ("aten::addmm", "aten::mm", "aten::bmm", "aten::matmul")
            else "attention" if "attention" in e.key else "other")
    kinds[kind] += e.self_cpu_time_total
total = sum(kinds.values())
shares = {k: v / total for k, v in kinds.items()}
print("torch float32 CPU time:", ", ".join(f"{k} {v:.0%}" for k, v in shares.items()),
      f"(capability {torch.backends.cpu.get_cpu_capability()})")
m = shares.get("matrix products", 0.0)
speedup = 4 if "VNNI" in __import__("os").environ.get("CPUID_CAP", "") else 2
print(f"at most {1 / (1 - m + m / speedup):.2f}x torch float32 if every matrix product ran "
      f"{speedup}x faster in int8")
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default="/tmp/sift-avx2-bench")
    p.add_argument("--chunks", type=int, default=400)
    p.add_argument("--json", help="also write both runs here")
    p.add_argument("--cap", default="AVX2", choices=("AVX2", "AVX2_VNNI"),
                   help="AVX2_VNNI: the AVX2 CPUs with VNNI (Intel since Alder Lake)")
    p.add_argument("--capped-only", action="store_true", help="skip the uncapped run")
    p.add_argument("--method", default="cpuid", choices=("cpuid", "env"))
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cap = cpuid_env(args.cap, Path(tmp)) if args.method == "cpuid" else env_cap(args.cap)
        runs: dict[str, Any] = {}
        plan = (("native", {}), (args.cap.lower(), cap))
        for label, extra in plan[1:] if args.capped_only else plan:
            env = {**os.environ, **extra, "PYTHONPATH": str(ROOT)}
            if extra:
                _profile(args.data_dir, env)
                shares = subprocess.run([sys.executable, "-c", TORCH_SHARES], env=env, cwd=ROOT,
                                        capture_output=True, text=True)
                print(shares.stdout or shares.stderr[-1500:], flush=True)
            out = subprocess.run([sys.executable, "-m", "app.main", "--data-dir", args.data_dir,
                                  "bench", "--json", "--chunks", str(args.chunks)], env=env,
                                 cwd=ROOT, capture_output=True, text=True)
            if out.returncode != 0:
                print(out.stderr[-3000:], file=sys.stderr)
                return 1
            runs[label] = json.loads(out.stdout)
            _print(label, runs[label], args.method)
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    return 0


def cpuid_env(cap: str, build: Path) -> dict[str, str]:
    """The environment that runs a program on the emulated CPU: the shim, built here, preloaded."""
    if "cpuid_fault" not in Path("/proc/cpuinfo").read_text():
        raise SystemExit("this CPU has no CPUID faulting (flag cpuid_fault): use --method env")
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise SystemExit("gcc is needed to build cpuid_cap.c (apt-get install gcc)")
    lib = build / "cpuid_cap.so"
    subprocess.run([gcc, "-O2", "-shared", "-fPIC", "-o", str(lib), str(SHIM), "-ldl"], check=True)
    return {"LD_PRELOAD": str(lib), "CPUID_CAP": cap}


def env_cap(cap: str) -> dict[str, str]:
    return {k: (cap if k != "ATEN_CPU_CAPABILITY" else "avx2") for k in ENV_CAP}


def _profile(data_dir: str, env: dict[str, str]) -> None:
    """Which kernels OpenVINO's matrix products ran under the cap (brgemm_avx2 / jit_avx2 …)."""
    for folder in Path(data_dir).glob("cache/encoders/*/"):
        models = [m.name for m in folder.glob("*.onnx")] + [m.name for m in folder.glob("*.xml")]
        if models:
            out = subprocess.run([sys.executable, "-c", PROFILE, str(folder), *models], env=env,
                                 cwd=ROOT, capture_output=True, text=True)
            print(f"OpenVINO kernels under the cap ({folder.name}):\n{out.stdout or out.stderr[-1500:]}")


def _print(label: str, run: dict[str, Any], method: str) -> None:
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
            ignored = method == "env" and label != "native" and r["name"].startswith(UNCAPPED)
            capped = "  (not capped: ONNX Runtime ignores the switch)" if ignored else ""
            print(f"    {r['name']:<34} {rate or 0:7.1f}/s {ratio} cos {r['mean_cos']}{capped}")
    print(f"  end to end: {run.get('end_to_end_chunks_per_s')}/s")


if __name__ == "__main__":
    raise SystemExit(main())
