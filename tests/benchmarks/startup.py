"""Start-up cost per backend: import, model load and first query, each in a fresh process."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
from app.core.encoders.embedder import Embedder
t1 = time.perf_counter()
light = sys.argv[2] == "light"  # the torch-free query encoder alone, as `sift search` starts
e = Embedder(sys.argv[1], backend="auto" if light else sys.argv[2], cache_dir=Path(sys.argv[3]))
if light:
    name = "onnxruntime query encoder" if e.light() is not None else "none (not exported yet)"
else:
    name = e.load().backend
t2 = time.perf_counter()
e.embed_query("how do vaccines work")
t3 = time.perf_counter()
print(json.dumps({"backend": name, "import": t1 - t0, "load": t2 - t1, "query": t3 - t2,
                  "torch": "torch" in sys.modules,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    p.add_argument("--cache", type=Path, required=True)
    p.add_argument("--backends", nargs="+", default=["torch-float32", "torch-bfloat16", "onnx",
                                                     "openvino", "auto", "light"])
    args = p.parse_args()
    for backend in args.backends:
        runs = []
        for _ in range(2):  # the first run may pay the check and export; the second is a normal start
            out = subprocess.run([sys.executable, "-c", CHILD, args.model, backend, str(args.cache)],
                                 capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
        for tag, r in zip(("first", "later"), runs, strict=True):
            print(f"{backend:<15}{tag:<6} {r['backend']:<28} import {r['import']:.2f}s  "
                  f"load {r['load']:.2f}s  first query {r['query'] * 1000:.0f} ms  "
                  f"torch {r['torch']!s:<5} RSS {r['rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
