"""OpenVINO int8: weights compressed to int8 once by NNCF, activations quantized per token as they run.

Why not static quantization (one int8 scale per activation tensor, fixed on calibration
passages; the former recipe, NNCF's transformer preset): its error is spread over every
quantized product rather than held by a few. Keeping any single MatMul, layer or kind of MatMul
(attention products, feed-forward down, ...) in float recovered almost nothing (mean cosine to
float32 0.9945 -> at most 0.996 on the check passages); SmoothQuant only moves the error from
activations to weights; histogram, min/max or mean ranges, full bias correction and no
SmoothQuant with the attention products and feed-forward down in float all stayed at 0.991-0.997,
and odd passages (code, tables) fell to 0.94. On MiniLM that cost msmarco-sub5k 0.006 nDCG@10
(hybrid).

This recipe: every MatMul weight is int8 (asymmetric, one scale per output channel;
NNCF compress_weights, data-free, seconds), embedding tables stay float (looked up, not
multiplied). OpenVINO's CPU plugin quantizes each token's activations as the batch runs, with
one scale per GROUP_SIZE features, so no passage is ever clipped by a range fixed beforehand,
and multiplies in int8. Group size: 32 was a little closer to float32 (mean cosine 0.9994 on
held-out text, against 0.9991) but slower (2.4x torch float32 at 254 word pieces, against
2.65x); 64 sat between them; groups of 384 lost accuracy (0.998).

Measured on MiniLM (tests/benchmarks/quant_eval.py; Intel Xeon with AVX-512 VNNI, 2 cores):
mean cosine to float32 0.9990-0.9992, min 0.9976, top-10 neighbours 97 %, nDCG@10 within
0.005 of float32 dense and hybrid on cranfield, msmarco-sub5k and scifact (largest: scifact
dense +0.0048; msmarco-sub5k hybrid +0.0016, where the static recipe lost 0.0063). Speed, one
process, batch by batch in turn: 2.65x torch float32 at 254 word pieces (2.1x OpenVINO
float32), 3.8x at 128 (the static recipe: 3.9x / 5.0x, but unfaithful). Making the model
takes about 6 s. On CPUs without AVX-512 (emulated through CPUID, tests/benchmarks/
avx2_emulated.py): with AVX-VNNI it ran 1.62x torch float32 (1.95x at 128); with AVX2 alone
OpenVINO does not quantize activations as they run and widens the int8 weights to float for
each batch instead (0.87x torch float32, mean cosine 0.9995). It must still pass the int8 check
against float32 (check.py) before it is used, and "auto" keeps it only where it is measured
faster than the float backends (choice.py), so a CPU without the on-the-fly path falls back to
OpenVINO float32. ``openvino`` and ``nncf`` are in the default install.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.core.encoders.backends.exported import ONNX_FILE, ExportedRunner, ExportSpec

log = logging.getLogger(__name__)

MODEL_FILE = "openvino-int8.xml"
RECIPE = "nncf-int8-asym-weights+dynamic-activations-g128-v2"
# Activations are quantized per token, in groups of this many features, as each batch runs.
GROUP_SIZE = 128


def _marker(folder: Path) -> Path:
    return folder / "openvino-int8.recipe"


def is_ready(folder: Path) -> bool:
    """Whether ``folder`` holds an OpenVINO int8 model made by the current recipe."""
    try:
        return (folder / MODEL_FILE).is_file() and _marker(folder).read_text().strip() == RECIPE
    except OSError:
        return False


def quantize(folder: Path, spec: ExportSpec, texts: Sequence[str] | None = None) -> Path:
    """Compress the float32 export's weights to int8 with NNCF (once; reused while the recipe
    holds). No calibration: activation scales are found per token at run time (``runner``),
    so ``texts`` is not needed; it is accepted for the int8 backends' common signature."""
    if is_ready(folder):
        return folder / MODEL_FILE
    nncf = import_nncf()
    import openvino as ov

    model = ov.Core().read_model(str(folder / ONNX_FILE))
    # NNCF draws progress bars and tables on stdout, where `sift bench --json` and
    # `sift search --json` print their answer, and on the terminal of a first launch: silenced.
    with _off_stdout():
        compressed = nncf.compress_weights(
            model, mode=nncf.CompressWeightsMode.INT8_ASYM,
            # Embedding tables are looked up, not multiplied: int8 there would cost accuracy
            # and save no time.
            ignored_scope=nncf.IgnoredScope(types=["Gather"], validate=False))
    tmp = folder / f".openvino-int8-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        ov.save_model(compressed, str(tmp / MODEL_FILE), compress_to_fp16=False)
        for name in os.listdir(tmp):  # the .xml last: it is what is_ready looks for
            if not name.endswith(".xml"):
                os.replace(tmp / name, folder / name)
        os.replace(tmp / MODEL_FILE, folder / MODEL_FILE)
        _marker(folder).write_text(RECIPE)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder / MODEL_FILE


@contextlib.contextmanager
def _off_stdout() -> Iterator[None]:
    """NNCF's logger (bound to stdout when NNCF was imported) says only warnings, on stderr, and
    its progress bars (rich's shared console) are quiet while it works: a user learns nothing
    from its weight-compression tables.

    Not contextlib.redirect_stdout: that swaps sys.stdout for the whole process, and the model
    is quantized on a background thread while others print (`sift watch`, a test driver).
    """
    import rich

    nncf_log = logging.getLogger("nncf")
    level = nncf_log.level
    handlers = [h for h in nncf_log.handlers
                if isinstance(h, logging.StreamHandler) and h.stream is sys.stdout]
    for h in handlers:
        h.setStream(sys.stderr)
    nncf_log.setLevel(logging.WARNING)
    rich.reconfigure(stderr=True, quiet=True)  # Sift itself never draws with rich
    try:
        yield
    finally:
        nncf_log.setLevel(level)
        rich.reconfigure(stderr=True)
        for h in handlers:
            h.setStream(sys.stdout)


def import_nncf() -> Any:
    """NNCF with its usage reporting cut off.

    NNCF sends anonymous usage events to Google Analytics unless the user has opted out, and
    writes a client id under ~/intel (openvino_telemetry, consent dialog off). The app package
    makes that package unimportable before anything loads (app/core/host/privacy.py), so NNCF falls
    back to its own no-op stub; if NNCF was imported earlier anyway, its references are swapped
    for the stub here.
    """
    import nncf
    import nncf.telemetry
    from nncf.telemetry import decorator, wrapper

    # Imported before this ran (by a user's own code): swap every reference for the stub.
    if not isinstance(wrapper.telemetry, wrapper.NNCFTelemetryStub):
        stub = wrapper.NNCFTelemetryStub()
        wrapper.telemetry = decorator.telemetry = nncf.telemetry.telemetry = stub
    return nncf


def runner(folder: Path, spec: ExportSpec) -> ExportedRunner:
    """An OpenVINO runner of the int8 model (compiled once, cached next to it)."""
    import openvino as ov

    config = {"PERFORMANCE_HINT": "LATENCY", "CACHE_DIR": str(folder / "openvino-cache"),
              "DYNAMIC_QUANTIZATION_GROUP_SIZE": str(GROUP_SIZE)}
    request = ov.Core().compile_model(str(folder / MODEL_FILE), "CPU", config).create_infer_request()

    def forward(inputs: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(request.infer(inputs)[0])

    return ExportedRunner(folder, spec, forward)
