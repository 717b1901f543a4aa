"""Retrieval quality of each encoder backend against float32: nDCG@10 dense and hybrid per collection.

    .venv/bin/python tests/benchmarks/quant_eval.py [--collections cranfield msmarco-sub5k scifact]
        [--variants torch-float32 int8 ...] [--max-docs N] [--work /tmp/sift-quant-eval]
        [--json OUT]

How (app/core/measure/backend_quality.py): each collection is indexed once by the app with torch
float32; every backend re-encodes the same passages (cached per backend under --work) and the
app's own Searcher ranks with them, queries in float32 as the app embeds them. Variants: the
app's backends (torch-float32, torch-bfloat16, onnx, openvino), int8 (the app's recipe:
quantized.py), int8-attn / int8-ffn / int8-ffn-last (other parts kept in float), int8-corpus
(calibrated on documents of the shared collections instead of the built-in passages),
openvino-int8 (the app's recipe: openvino_int8.py, int8 weights and activations quantized per
token as each batch runs), openvino-int8-g<N> (the same with groups of N features),
openvino-int8-v1 (the former recipe: NNCF static quantization, transformer preset, calibrated on
the built-in passages), openvino-int8-static-float (static, no SmoothQuant, attention products
and feed-forward down projections left in float, as quantized.float_nodes finds them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

IR = ROOT.parent / "shared" / "data" / "ir"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
VARIANTS = ("torch-float32", "int8", "int8-attn", "int8-ffn-last", "openvino-int8", "openvino-int8-v1",
            "openvino-int8-static-float", "openvino-int8-g32", "int8-corpus", "onnx", "torch-bfloat16",
            "openvino")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--collections", nargs="+", default=["cranfield", "msmarco-sub5k", "scifact"])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS[:5]))
    p.add_argument("--work", default="/tmp/sift-quant-eval")
    p.add_argument("--max-docs", type=int, default=0,
                   help="keep every judged document and fill up to this many with others "
                        "(a cheaper, harder-to-miss task; deltas stay comparable)")
    p.add_argument("--json", help="also write the table as JSON here")
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, dict[str, float]]] = {}
    backends = Backends(work)
    for name in args.collections:
        key = f"{name}-{args.max_docs}" if args.max_docs else name
        results[key] = evaluate(IR / name, work / key, backends, args.variants, args.max_docs)
        _print(results)
        if args.json:
            Path(args.json).write_text(json.dumps(_with_machine(results), indent=1))
    return 0


class Backends:
    """Runners for each variant, built lazily from one float32 model and one export."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self._model: Any = None
        self._runners: dict[str, Any] = {}

    @property
    def model(self) -> Any:
        if self._model is None:
            from app.core.encoders.backends.torch_runner import load_sentence_transformer
            from app.core.encoders.models import resolve_model

            self._model = load_sentence_transformer(resolve_model(MODEL))
        return self._model

    def runner(self, variant: str) -> Any:
        if variant not in self._runners:
            self._runners[variant] = self._build(variant)
        return self._runners[variant]

    def _build(self, variant: str) -> Any:
        from app.core.encoders.backends import exported, quantized
        from app.core.encoders.backends.choice import build_runner

        folder = self.work / "export"
        spec = exported.export(self.model, folder)
        if variant in ("torch-float32", "torch-bfloat16", "onnx", "openvino"):
            return build_runner(variant, self.model, folder)[0]
        if variant.startswith("int8"):
            # int8: the app's recipe; int8-attn: only the attention products in float;
            # int8-ffn / int8-ffn-last: also feed-forward down / and the whole last layer;
            # -corpus: calibrated on documents of the shared collections.
            parts = {"int8": quantized.FLOAT_PARTS, "int8-attn": (), "int8-ffn": ("ffn-down",),
                     "int8-ffn-last": ("ffn-down", "last-layer"),
                     "int8-corpus": quantized.FLOAT_PARTS}[variant]
            texts = corpus_calibration() if variant == "int8-corpus" else None
            path = quantized.quantize(folder, spec, texts, keep=parts,
                                      out=folder / f"{variant}.onnx")
            return quantized.int8_runner(folder, spec, path)
        if variant == "openvino-int8":
            from app.core.encoders.backends import openvino_int8 as app_recipe

            app_recipe.quantize(folder, spec)
            return app_recipe.runner(folder, spec)
        if variant.startswith("openvino-int8-g"):
            return openvino_dynamic(folder, spec, int(variant.removeprefix("openvino-int8-g")))
        if variant in ("openvino-int8-v1", "openvino-int8-static-float"):
            return openvino_static(folder, spec, variant)
        raise SystemExit(f"unknown variant {variant}")


def corpus_calibration(per_collection: int = 40) -> list[str]:
    """Documents (never queries) from every shared collection, the first of each in file order."""
    out = []
    for folder in sorted(IR.iterdir()):
        path = folder / "corpus.jsonl"
        if not path.is_file():
            continue
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= per_collection:
                    break
                d = json.loads(line)
                out.append(f"{d.get('title') or ''}\n\n{d.get('text') or ''}".strip())
    return out


def openvino_dynamic(folder: Path, spec: Any, group: int) -> Any:
    """The app's recipe with another group size for the activations' run-time scales."""
    import openvino as ov

    from app.core.encoders.backends import exported
    from app.core.encoders.backends import openvino_int8 as app_recipe

    app_recipe.quantize(folder, spec)
    config = {"PERFORMANCE_HINT": "LATENCY", "DYNAMIC_QUANTIZATION_GROUP_SIZE": str(group)}
    request = ov.Core().compile_model(str(folder / app_recipe.MODEL_FILE), "CPU",
                                      config).create_infer_request()
    return exported.ExportedRunner(folder, spec, lambda x: np.asarray(request.infer(x)[0]))


def openvino_static(folder: Path, spec: Any, variant: str) -> Any:
    """NNCF static (calibrated) quantization on the built-in passages, run by OpenVINO.

    v1: the transformer preset (SmoothQuant, every MatMul in int8). static-float: no
    SmoothQuant, and the MatMuls quantized.float_nodes keeps in float (attention products,
    feed-forward down) left in float.
    """
    import onnx
    import openvino as ov

    from app.core.encoders.backends import exported, quantized
    from app.core.encoders.backends.openvino_int8 import import_nncf

    nncf = import_nncf()
    from nncf.quantization.advanced_parameters import (
        AdvancedQuantizationParameters,
        AdvancedSmoothQuantParameters,
    )

    path = folder / f"{variant}.xml"
    core = ov.Core()
    if not path.is_file():
        tok = exported.ExportedRunner(folder, spec, lambda x: x)  # type: ignore[arg-type, return-value]
        data = [tok.feed([t]) for t in quantized.calibration_texts()]
        extra: dict[str, Any] = {}
        if variant == "openvino-int8-static-float":
            floats = quantized.float_nodes(onnx.load(str(folder / exported.ONNX_FILE)))
            extra = {"ignored_scope": nncf.IgnoredScope(names=floats, validate=False),
                     "advanced_parameters": AdvancedQuantizationParameters(
                         smooth_quant_alphas=AdvancedSmoothQuantParameters(matmul=-1))}
        with contextlib.redirect_stdout(sys.stderr):
            q = nncf.quantize(core.read_model(str(folder / exported.ONNX_FILE)), nncf.Dataset(data),
                              model_type=nncf.ModelType.TRANSFORMER, subset_size=len(data), **extra)
        ov.save_model(q, str(path), compress_to_fp16=False)
    request = core.compile_model(str(path), "CPU", {"PERFORMANCE_HINT": "LATENCY"}).create_infer_request()
    return exported.ExportedRunner(folder, spec, lambda x: np.asarray(request.infer(x)[0]))


def evaluate(folder: Path, work: Path, backends: Backends, variants: list[str],
             max_docs: int = 0) -> dict[str, dict[str, float]]:
    from app.core.encoders.backends import agreement, neighbour_overlap
    from app.core.measure.backend_quality import encode_passages, index_reference, ndcg

    t0 = time.perf_counter()
    ref = index_reference(folder, work, model=MODEL, cache_dir=work / "encoders",
                          max_docs=max_docs)
    print(f"{folder.name}: {len(ref.ids)} passages indexed in {time.perf_counter() - t0:.0f}s",
          file=sys.stderr, flush=True)
    sample = np.random.default_rng(0).choice(len(ref.ids), size=min(3000, len(ref.ids)),
                                             replace=False)
    out: dict[str, dict[str, float]] = {}
    for variant in variants:
        cpu_ms = float("nan")
        cache = work / f"docs-{variant}.npy"
        if variant == "torch-float32":
            vecs = ref.vectors
        elif cache.is_file() and len(np.load(cache)) == len(ref.ids):
            vecs = np.load(cache)
        else:
            runner = backends.runner(variant)
            cpu = time.process_time()
            vecs = encode_passages(lambda t, r=runner: r.encode_documents(t, 16), ref.texts)
            cpu_ms = (time.process_time() - cpu) * 1000 / max(1, len(ref.texts))
            np.save(cache, vecs)
        mean, low = agreement(ref.vectors, vecs)
        dense, hybrid = ndcg(ref, vecs)
        out[variant] = {"mean_cos": mean, "min_cos": low, "cpu_ms_per_passage": cpu_ms,
                        "top10_overlap": neighbour_overlap(ref.vectors[sample], vecs[sample], 10),
                        "ndcg_dense": dense, "ndcg_hybrid": hybrid}
        print(f"  {folder.name} {variant}: {out[variant]}", file=sys.stderr, flush=True)
    ref.close()
    return out


def _with_machine(results: dict[str, Any]) -> dict[str, Any]:
    from app.core.measure.bench import machine_info

    return {"machine": machine_info(), "results": results}


def _print(results: dict[str, dict[str, dict[str, float]]]) -> None:
    print(f"\n{'collection':<15}{'backend':<16}{'mean cos':>9}{'min cos':>9}{'top-10':>7}"
          f"{'dense':>8}{'Δ':>8}{'hybrid':>8}{'Δ':>8}{'cpu ms':>8}")
    for name, rows in results.items():
        ref = rows.get("torch-float32")
        for variant, r in rows.items():
            dd = r["ndcg_dense"] - ref["ndcg_dense"] if ref else float("nan")
            dh = r["ndcg_hybrid"] - ref["ndcg_hybrid"] if ref else float("nan")
            print(f"{name:<15}{variant:<16}{r['mean_cos']:>9.5f}{r['min_cos']:>9.5f}"
                  f"{r['top10_overlap']:>7.3f}{r['ndcg_dense']:>8.4f}{dd:>+8.4f}"
                  f"{r['ndcg_hybrid']:>8.4f}{dh:>+8.4f}{r['cpu_ms_per_passage']:>8.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
