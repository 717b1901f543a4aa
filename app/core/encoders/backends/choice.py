"""Choosing how the bi-encoder runs: the fastest installed backend that stays faithful to float32."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.core.encoders.backends.cache import DecisionCache
from app.core.encoders.backends.check import (
    CHECK_PASSAGES,
    PROBE_PASSAGES,
    PROBE_SHORT,
    agreement,
    is_faithful,
)
from app.core.encoders.backends.hardware import cpu_has_native_bf16, installed
from app.core.encoders.backends.torch_runner import (
    TorchRunner,
    bfloat16_runner,
    device_of,
    load_sentence_transformer,
)
from app.core.encoders.models import ModelSource

log = logging.getLogger(__name__)

BACKENDS = ("torch-float32", "torch-bfloat16", "onnx-int8", "onnx", "openvino", "openvino-int8")
_ALIASES = {"float32": "torch-float32", "bfloat16": "torch-bfloat16", "onnxruntime": "onnx",
            "torch": "torch-float32", "int8": "onnx-int8"}
# Backends that compute in int8: checked against the bar their retrieval quality allows.
QUANTIZED = frozenset({"onnx-int8", "openvino-int8"})
# Which libraries each exported backend needs at run time (onnx only to export and quantize,
# once).
_NEEDS = {"onnx": ("onnxruntime",), "onnx-int8": ("onnxruntime",), "openvino": ("openvino",),
          "openvino-int8": ("openvino",)}


class Runner(Protocol):
    """Something that turns texts into normalised embeddings."""

    tokenizer: Any

    def encode_documents(self, texts: list[str], batch_size: int) -> np.ndarray: ...

    def encode_queries(self, texts: list[str], batch_size: int) -> np.ndarray: ...


class Unavailable(Exception):
    """A backend that cannot run here; the message says why."""


@dataclass
class Choice:
    """The runner to use, what it is, and why it was picked."""

    runner: Runner
    backend: str
    label: str
    reason: str
    dim: int
    max_length: int


def normalise(choice: str) -> str:
    choice = (choice or "auto").strip().lower()
    return _ALIASES.get(choice, choice)


def auto_order(native_bf16: bool) -> list[str]:
    """The candidates "auto" measures, in order of preference; torch float32 is the fallback.

    Every candidate must pass the same check against float32, and a later one must be
    MARGIN faster than an earlier one to win, so the order says whom near-ties go to:
    - torch bfloat16 first, and only where the CPU computes bfloat16 natively (AMX,
      AVX512-BF16; elsewhere it is emulated and slower than float32): on an Intel CPU with AMX
      it was the fastest (88 vs 71 chunks/s for OpenVINO, LIBRARIES.md) and it needs no export.
    - OpenVINO float next: it was 1.2-2x faster than torch on AMD and Intel AVX2 CPUs, and
      picks bfloat16 by itself where that is native.
    - onnxruntime float32, in the default install on every CPU, starts without torch.
    - OpenVINO int8 after the float backends, so that it must be 10 % faster than the best of
      them to win (it was 2.1x torch float32 on an AVX-512 VNNI Xeon): weights in int8,
      activations quantized per token as each batch runs (openvino_int8.py); on MiniLM its
      nDCG@10 stays within 0.005 of float32 on cranfield, msmarco-sub5k and scifact (the largest
      change a gain), and it must pass the int8 check (check.py) here, on this CPU, first.
    - torch float32 last but measured too: on an Intel Xeon with AVX-512 and no AMX it
      encoded documents 1.4x faster than onnxruntime float32 (25.5 vs 17.7 passages/s at 254
      word pieces, quiet machine), the opposite of the AMD machine.
    onnxruntime int8 (static) is not tried automatically: it lost 0.006-0.008 nDCG@10 on
    msmarco-sub5k and no longer passes the int8 check on MiniLM; it can be chosen in settings.
    Queries do not depend on this choice: they use the float32 ONNX export made during the
    check, which starts without torch.
    """
    order = ["torch-bfloat16"] if native_bf16 else []
    return [*order, "openvino", "onnx", "openvino-int8", "torch-float32"]


# A later (less preferred) candidate must be this much faster to win: probe timings vary by
# about 10 % between runs, and a coin flip between near-equal backends helps nobody.
MARGIN = 1.10


def first_check_notice(name: str) -> str:
    """What a user is told while the one-time check runs (the window's status bar, the CLI)."""
    return (f"Choosing the fastest way to run {name} on this computer: a check of about a minute, "
            "done once per computer and model. Search by words works meanwhile.")


def load(source: ModelSource, wanted: str, cache_dir: Path | None,
         announce: Callable[[str], None] | None = None) -> Choice:
    """Load the model the way the settings and this machine call for (decision cached).

    ``announce`` hears ``first_check_notice`` when there is no decision yet and a check runs.
    """
    wanted = normalise(wanted)
    cache = DecisionCache(cache_dir) if cache_dir is not None else None
    key = DecisionCache.key(source, wanted) if cache is not None else ""
    entry = cache.get(key) if cache is not None else None
    if entry is not None:
        assert cache is not None
        try:
            return _load_decided(source, entry, cache)
        except Exception as exc:  # missing export, broken library: decide again
            log.warning("remembered backend %s failed to load (%s); checking again",
                        entry["backend"], exc)
    if announce is not None and wanted != "torch-float32":
        announce(first_check_notice(source.name))
    model = load_sentence_transformer(source)
    choice, checked = decide(model, wanted, cache.export_dir(source) if cache else None)
    if cache is not None and checked:
        cache.put(key, source.name, choice.backend, choice.reason)
    return choice


def _load_decided(source: ModelSource, entry: dict[str, str], cache: DecisionCache) -> Choice:
    backend = entry["backend"]
    reason = f"{entry['reason']} [remembered from {entry.get('decided', 'earlier')}]"
    if backend in _NEEDS:
        # The point of remembering: exported backends start without importing torch.
        runner, label = _exported(backend, None, cache.export_dir(source))
        return Choice(runner, backend, label, reason, runner.spec.dim, runner.spec.max_length)
    model = load_sentence_transformer(source)
    if backend == "torch-bfloat16":
        return _torch_choice(bfloat16_runner(model, keep_original=False), backend, reason)
    return _torch_choice(TorchRunner(model), "torch-float32", reason)


def decide(model: Any, wanted: str, export_dir: Path | None) -> tuple[Choice, bool]:
    """(choice, whether it rests on a check worth remembering) for a loaded float32 model."""
    device = device_of(model)
    reference = TorchRunner(model)
    if wanted == "torch-float32":
        return _torch_choice(reference, wanted, "chosen in settings"), False
    notes: list[str] = []
    checker = _Checker(reference)
    if wanted in BACKENDS:
        forced = _try(wanted, model, export_dir, checker, notes)
        if forced is not None:
            runner, backend, label, detail = forced
            return _make_choice(runner, backend, label, reason=f"chosen in settings; {detail}"), True
        # A forced backend that cannot run, or runs unfaithfully, gives way to the automatic
        # choice; the notes say why.
    elif wanted != "auto":
        notes.append(f"unknown backend '{wanted}' in settings")
    if not device.startswith("cpu"):  # a GPU beats every CPU backend
        reason = "; ".join([*notes, f"{device} accelerator found"])
        return _torch_choice(reference, "torch-float32", reason), False
    return _fastest(model, export_dir, checker, notes), True


_Candidate = tuple[Any, str, str, str]  # runner, backend, label, agreement in words


def _fastest(model: Any, export_dir: Path | None, checker: _Checker, notes: list[str]) -> Choice:
    """Measure every faithful candidate on long passages; keep the fastest."""
    candidates = [c for b in auto_order(cpu_has_native_bf16())
                  if (c := _try(b, model, export_dir, checker, notes)) is not None]
    if not candidates:
        return _torch_choice(checker.reference, "torch-float32", "; ".join([*notes, "float32"]))
    rates = probe_rates([c[0] for c in candidates])
    best = 0
    for i in range(1, len(candidates)):
        if rates[i] > rates[best] * MARGIN:
            best = i
    runner, backend, label, detail = candidates[best]
    measured = ", ".join(f"{c[2]} {r:.0f}/s" for c, r in zip(candidates, rates, strict=True))
    speed = f"fastest faithful backend here ({measured})"
    return _make_choice(runner, backend, label, reason="; ".join([*notes, speed, detail]))


def _try(backend: str, model: Any, export_dir: Path | None, checker: _Checker,
         notes: list[str]) -> _Candidate | None:
    """The candidate if it runs here and is faithful; otherwise a note saying why not."""
    try:
        runner, label = build_runner(backend, model, export_dir)
        faithful, detail = checker.check(runner, quantized=backend in QUANTIZED)
    except Unavailable as exc:
        notes.append(f"{backend} unavailable ({exc})")
        return None
    except Exception as exc:  # a kernel missing on this build, an export that failed
        notes.append(f"{backend} failed ({type(exc).__name__}: {exc})")
        return None
    if not faithful:
        notes.append(f"{backend} unfaithful ({detail})")
        return None
    return runner, backend, label, f"agrees with float32 ({detail})"


def probe_rates(runners: list[Runner], rounds: int = 3) -> list[float]:
    """Passages per second of each runner on a long and a short batch: its best of a few turns.

    Candidates take turns, and each keeps its fastest turn, so that a burst of load from
    other processes slows one turn rather than one candidate. Kept short (a warm-up and three
    turns of 16 passages each) because the first start pays it.
    """
    batches = [list(PROBE_PASSAGES[:8]), list(PROBE_SHORT)]

    def turn(runner: Runner) -> float:
        t0 = time.perf_counter()
        for texts in batches:
            runner.encode_documents(texts, len(texts))
        return time.perf_counter() - t0

    for runner in runners:
        turn(runner)  # first calls build kernels for each shape
    best = [float("inf")] * len(runners)
    for _ in range(rounds):
        for i, runner in enumerate(runners):
            best[i] = min(best[i], turn(runner))
    return [sum(map(len, batches)) / s for s in best]


def build_runner(backend: str, model: Any, export_dir: Path | None) -> tuple[Runner, str]:
    """A runner for ``backend`` over the loaded float32 ``model``; raises Unavailable."""
    device = device_of(model)
    if backend == "torch-float32":
        return TorchRunner(model), f"torch float32 ({device})"
    if backend == "torch-bfloat16":
        return bfloat16_runner(model, keep_original=True), f"torch bfloat16 ({device})"
    if backend in _NEEDS:
        if not device.startswith("cpu"):
            raise Unavailable(f"it runs on the CPU only and the model is on {device}")
        if export_dir is None:
            raise Unavailable("no cache folder to keep the exported model in")
        return _exported(backend, model, export_dir)
    raise Unavailable(f"unknown backend '{backend}'")


def _exported(backend: str, model: Any, export_dir: Path) -> tuple[Any, str]:
    """An onnxruntime or OpenVINO runner; exports the model first if ``model`` is given."""
    from app.core.encoders.backends import exported

    missing = [m for m in _NEEDS[backend] if not installed(m)]
    if missing:
        raise Unavailable(f"{', '.join(missing)} is not installed")
    spec = exported.load_spec(export_dir)
    if spec is None:
        if model is None:
            raise Unavailable("the exported model is missing")
        if not installed("onnx"):
            raise Unavailable("onnx is not installed (needed once, to export the model)")
        try:
            spec = exported.export(model, export_dir)
        except exported.Unsupported as exc:
            raise Unavailable(str(exc)) from exc
    if backend == "onnx":
        return exported.onnx_runner(export_dir, spec), "onnxruntime float32 (cpu)"
    if backend == "onnx-int8":
        return _quantized(backend, model, export_dir, spec), "onnxruntime int8 (cpu)"
    if backend == "openvino-int8":
        return _quantized(backend, model, export_dir, spec), "openvino int8 (cpu)"
    runner, precision = exported.openvino_runner(export_dir, spec)
    return runner, f"openvino {precision.lower()} (cpu)"


def _quantized(backend: str, model: Any, export_dir: Path, spec: Any) -> Runner:
    """An int8 runner; quantizes the export first (once) while deciding, never when reloading."""
    from app.core.encoders.backends import openvino_int8, quantized

    tool, is_ready, quantize, runner = (
        ("onnx", quantized.is_ready, quantized.quantize, quantized.int8_runner)
        if backend == "onnx-int8" else
        ("nncf", openvino_int8.is_ready, openvino_int8.quantize, openvino_int8.runner))
    if not is_ready(export_dir):
        if model is None:
            raise Unavailable("the int8 model is missing")
        if not installed(tool):
            raise Unavailable(f"{tool} is not installed (needed once, to quantize the model)")
        quantize(export_dir, spec)
    return runner(export_dir, spec)


class _Checker:
    """Compares candidates with float32 on the check passages, as documents and as queries."""

    def __init__(self, reference: TorchRunner) -> None:
        self.reference = reference
        self._ref: np.ndarray | None = None

    def check(self, runner: Runner, *, quantized: bool = False) -> tuple[bool, str]:
        """(faithful?, the agreement in words); int8 has its own bar (check.py)."""
        if self._ref is None:
            self._ref = _both(self.reference)
        candidate = _both(runner)
        mean, low = agreement(self._ref, candidate)
        return (is_faithful(self._ref, candidate, quantized=quantized),
                f"mean cosine {mean:.5f}, min {low:.5f}")


def _both(runner: Runner) -> np.ndarray:
    passages = list(CHECK_PASSAGES)
    return np.concatenate([runner.encode_documents(passages, 16),
                           runner.encode_queries(passages, 16)])


def _torch_choice(runner: TorchRunner, backend: str, reason: str) -> Choice:
    label = f"torch {backend.split('-')[1]} ({device_of(runner.model)})"
    return _make_choice(runner, backend, label, reason=reason)


def _make_choice(runner: Any, backend: str, label: str, *, reason: str) -> Choice:
    if isinstance(runner, TorchRunner):
        model = runner.model
        getter = getattr(model, "get_embedding_dimension", None) or \
            model.get_sentence_embedding_dimension
        return Choice(runner, backend, label, reason, int(getter()), int(model.max_seq_length))
    return Choice(runner, backend, label, reason, runner.spec.dim, runner.spec.max_length)
