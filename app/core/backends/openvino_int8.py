"""OpenVINO int8: the export quantized once per machine by NNCF (transformer preset), run by OpenVINO.

NNCF's transformer preset keeps in float what int8 handles badly in transformers (softmax,
layer norms, the attention score products), smooths the activation outliers of the feed-forward
layers into the weights (SmoothQuant) and corrects the biases that rounding shifts. On MiniLM
it encoded about twice as fast as onnxruntime int8 at 254 word pieces, with nDCG@10 within
0.005 of float32 on cranfield and scifact but 0.006 below it (hybrid) on msmarco-sub5k
(tests/benchmarks/quant_eval.py), so it runs only when chosen in settings. Needs the optional
``openvino`` and ``nncf`` packages; the quantized model must pass the int8 check against float32
(check.py) before it is used.
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

from app.core.backends.exported import ONNX_FILE, ExportedRunner, ExportSpec

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
    # `sift search --json` print their answer: they go to the log's stream instead.
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
    """stdout and NNCF's logger (bound to stdout when NNCF was imported) write to stderr."""
    handlers = [h for h in logging.getLogger("nncf").handlers
                if isinstance(h, logging.StreamHandler) and h.stream is sys.stdout]
    for h in handlers:
        h.setStream(sys.stderr)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        for h in handlers:
            h.setStream(sys.stdout)


def import_nncf() -> Any:
    """NNCF with its usage reporting cut off before it can start.

    NNCF sends anonymous usage events to Google Analytics unless the user has opted out, and
    writes a client id under ~/intel (openvino_telemetry, consent dialog off). Sift promises
    that nothing leaves the machine: with the telemetry package made unimportable, NNCF falls
    back to its own no-op stub, so nothing is sent and nothing is written outside Sift's folder.
    """
    if "nncf" not in sys.modules:
        sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]
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
