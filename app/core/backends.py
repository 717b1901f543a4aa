"""Choosing how the bi-encoder runs: the fastest backend and precision that stays faithful to float32."""

from __future__ import annotations

import copy
import logging
import platform
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

# Mean cosine to float32 on the check passages must reach this, and no passage may fall below
# MIN_COSINE. bfloat16 reaches about 0.9999 on MiniLM (its top-10 neighbours agree 99 % of the
# time); int8 dynamic quantisation reaches about 0.98 and reorders neighbours (88 % agreement):
# the threshold sits between what keeps rankings and what visibly changes them.
MEAN_COSINE = 0.999
MIN_COSINE = 0.995

CHECK_PASSAGES: tuple[str, ...] = (
    "The tenant paid a deposit of two months' rent, refundable at the end of the lease.",
    "Dogs need a balanced diet with protein, fat and a little fibre; puppies need more calories.",
    "Invoice 2024-03: replacement of the boiler valve by Müller Sanitär, 2 hours of labour.",
    "def parse(path):\n    with open(path) as f:\n        return json.load(f)",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The committee approved the budget for the next fiscal year after a long debate.",
    "Boundary layer separation occurs when the adverse pressure gradient is strong enough.",
    "Meeting notes: ship the beta on Friday, fix the login bug, call the printer vendor.",
    "La réunion est reportée à jeudi prochain à cause de la grève des transports.",
    "Error 0x80070005: access is denied when the service tries to write the log file.",
    "Randomised controlled trials showed no effect of vitamin D on fracture risk.",
    "The quick brown fox jumps over the lazy dog.",
    "Q3 revenue grew 12 % year over year, driven by subscriptions in Europe.",
    "To reset the router, hold the button on the back for ten seconds until the light blinks.",
    "Chapter 7. The storm reached the coast at dawn, and the village woke to silence.",
    "SELECT name, count(*) FROM files GROUP BY name HAVING count(*) > 1;",
)


class Runner(Protocol):
    """Something that turns texts into normalised embeddings."""

    def encode_documents(self, texts: list[str], batch_size: int) -> np.ndarray: ...

    def encode_queries(self, texts: list[str], batch_size: int) -> np.ndarray: ...


class TorchRunner:
    """Runs a SentenceTransformer as it is (whatever dtype and device it has)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def encode_documents(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self._encode(getattr(self.model, "encode_document", self.model.encode), texts,
                            batch_size)

    def encode_queries(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self._encode(getattr(self.model, "encode_query", self.model.encode), texts,
                            batch_size)

    @staticmethod
    def _encode(fn: Any, texts: list[str], batch_size: int) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = fn(texts, batch_size=batch_size, normalize_embeddings=True,
                     show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(out, dtype=np.float32)


def agreement(reference: np.ndarray, candidate: np.ndarray) -> tuple[float, float]:
    """Mean and minimum cosine between matching rows of two embedding matrices."""
    ref = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    cand = candidate / np.linalg.norm(candidate, axis=1, keepdims=True)
    cos = np.sum(ref * cand, axis=1)
    return float(cos.mean()), float(cos.min())


def is_faithful(reference: np.ndarray, candidate: np.ndarray) -> bool:
    mean, low = agreement(reference, candidate)
    return mean >= MEAN_COSINE and low >= MIN_COSINE


def cpu_has_native_bf16() -> bool:
    """True on CPUs with AMX or AVX512-BF16, where bfloat16 matrix work is fast."""
    if platform.system() == "Linux":
        try:
            flags = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return False
        return "amx_bf16" in flags or "avx512_bf16" in flags
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return False  # Apple silicon goes through MPS
    return False


def choose_runner(model: Any, choice: str = "auto") -> tuple[Runner, str, str]:
    """Pick the runner for ``model``; returns (runner, backend label, reason)."""
    device = str(getattr(model, "device", "cpu"))
    if choice in ("torch-float32", "float32"):
        return TorchRunner(model), f"torch float32 ({device})", "chosen in settings"
    if not device.startswith("cpu"):
        return TorchRunner(model), f"torch float32 ({device})", f"{device} accelerator found"
    if choice in ("auto", "torch-bfloat16", "bfloat16"):
        forced = choice != "auto"
        if forced or cpu_has_native_bf16():
            runner, reason = _try_bfloat16(model)
            if runner is not None:
                return runner, "torch bfloat16 (cpu)", reason
            return TorchRunner(model), "torch float32 (cpu)", reason
        return TorchRunner(model), "torch float32 (cpu)", "this CPU has no native bfloat16"
    log.warning("unknown backend %r in settings; using float32", choice)
    return TorchRunner(model), "torch float32 (cpu)", f"unknown backend '{choice}'"


def _try_bfloat16(model: Any) -> tuple[Runner | None, str]:
    import torch

    reference_runner = TorchRunner(model)
    t0 = time.perf_counter()
    reference = reference_runner.encode_documents(list(CHECK_PASSAGES), 16)
    t_ref = time.perf_counter() - t0
    half = copy.deepcopy(model).to(torch.bfloat16)
    candidate_runner = TorchRunner(half)
    try:
        t0 = time.perf_counter()
        candidate = candidate_runner.encode_documents(list(CHECK_PASSAGES), 16)
        t_half = time.perf_counter() - t0
    except Exception as exc:  # some ops have no bfloat16 kernel on some builds
        return None, f"bfloat16 failed ({exc}); float32"
    mean, low = agreement(reference, candidate)
    if not is_faithful(reference, candidate):
        return None, f"bfloat16 unfaithful (mean cosine {mean:.5f}); float32"
    return candidate_runner, (
        f"native bfloat16 CPU; faithful (mean cosine {mean:.5f}, min {low:.5f}); "
        f"check {t_ref:.2f}s float32 vs {t_half:.2f}s bfloat16"
    )
