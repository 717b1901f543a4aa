"""The exported model quantized to int8 once per machine (static, calibrated), run by onnxruntime.

Static quantization fixes each activation's int8 scale from calibration passages, so no range is
computed per batch at run time (dynamic quantization's cost and its error: 84-88 % top-10
agreement on MiniLM). What stays in float, and why (measured on MiniLM, mean cosine to float32
on the check passages; tests/benchmarks/quant_eval.py has nDCG@10):
- the two attention products (Q·Kᵀ and attention·V): both operands are activations whose range
  changes with every passage, and the softmax amplifies an error in its input;
- the feed-forward down projection: its input, the GELU output, has outlier features a single
  per-tensor scale cannot hold (quantizing it too: mean cosine 0.94 and nDCG@10 -0.022 on
  cranfield; keeping it: 0.993, and nDCG@10 within 0.005 of float32 on cranfield and scifact,
  -0.008 hybrid on msmarco-sub5k);
- everything that is not a product with a weight matrix (layer norms, GELU, embedding lookups,
  pooling): cheap, and the most sensitive to rounding.
Weights are per output channel (one scale per neuron). Activations are asymmetric unsigned,
weights symmetric signed: the pairing x86 int8 kernels multiply natively. Keeping the last layer
in float too was measured and not needed. The result must still pass the check against float32
at first use (check.py: the int8 bar) before it is used; "auto" does not try it (choice.py).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.core.encoders.backends.exported import ONNX_FILE, ExportedRunner, ExportSpec

log = logging.getLogger(__name__)

INT8_FILE = "model-int8.onnx"
# Bump when the recipe changes: an older int8 file is then made again.
RECIPE = "static-qdq-u8s8-perchannel-v3"

# What stays in float besides the attention products; quant_eval.py measures the alternatives.
FLOAT_PARTS: tuple[str, ...] = ("ffn-down",)


def calibration_texts() -> list[str]:
    """Built-in calibration passages: long and short, prose, code, numbers, two languages.

    They ship with the app (no user data is read to quantize), and they are not the check
    passages' exact texts: the check sees recombinations of its sentences at other lengths.
    """
    from app.core.encoders.backends.check import CALIBRATION_PASSAGES

    return list(CALIBRATION_PASSAGES)


def float_nodes(model: Any, keep: tuple[str, ...] = FLOAT_PARTS) -> list[str]:
    """Names of the MatMul nodes kept in float (see the module docstring).

    Found from the graph, not from names a particular exporter happens to use: a MatMul whose
    inputs are both computed (neither is a weight) is an attention product; after a layer's two
    attention products come its three weight MatMuls: attention output, feed-forward up and
    feed-forward down; the layer's Q, K and V projections are the weight MatMuls just before
    its attention products that read the same input. ``keep`` names the parts kept in float
    besides the attention products: "ffn-down", "last-layer".
    """
    graph = model.graph
    weights = {t.name for t in graph.initializer}
    weights |= {n.output[0] for n in graph.node if n.op_type == "Constant"}
    matmuls = [n for n in graph.node if n.op_type == "MatMul"]
    attention = [i for i, n in enumerate(matmuls) if not (set(n.input) & weights)]
    out = {matmuls[i].name for i in attention}
    if "ffn-down" in keep:
        since = -1  # weight MatMuls since the last attention product
        for i, n in enumerate(matmuls):
            if i in attention:
                since = 0
            elif since >= 0:
                since += 1
                if since == 3:
                    out.add(n.name)
    if "last-layer" in keep and len(attention) >= 2:
        start = attention[-2]
        source = matmuls[start - 1].input[0] if start > 0 else None
        while start > 0 and matmuls[start - 1].input[0] == source:
            start -= 1
        out |= {n.name for n in matmuls[start:]}
    return sorted(out)


class _Feeds:
    """onnxruntime's CalibrationDataReader protocol over tokenized passages, one at a time."""

    def __init__(self, runner: ExportedRunner, texts: Iterable[str]) -> None:
        self._it: Iterator[dict[str, np.ndarray]] = (runner.feed([t]) for t in texts)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def quantize(folder: Path, spec: ExportSpec, texts: Sequence[str] | None = None, *,
             keep: tuple[str, ...] = FLOAT_PARTS, out: Path | None = None) -> Path:
    """Write the int8 model next to the float32 export (once; reused while the recipe holds)."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    target = out or folder / INT8_FILE
    recipe = _recipe(keep)
    marker = target.with_suffix(".recipe")
    if target.is_file() and marker.is_file() and marker.read_text().strip() == recipe:
        return target
    tmp = folder / f".int8-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    quiet = _QuietQuantizer()
    logging.getLogger().addFilter(quiet)
    try:
        pre = tmp / "pre.onnx"
        # Shape inference and constant folding first: the quantizer needs each tensor's type.
        # (Fusing layer norms and GELU first, as onnxruntime.transformers does, hides the
        # types of their outputs: the quantizer then leaves most activations in float.)
        quant_pre_process(str(folder / ONNX_FILE), str(pre), skip_symbolic_shape=True)
        floats = float_nodes(onnx.load(str(pre)), keep)
        reader = _Feeds(ExportedRunner(folder, spec, _no_forward), texts or calibration_texts())
        CalibrationDataReader.register(_Feeds)
        quantize_static(
            str(pre), str(tmp / "q.onnx"), reader, quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["MatMul"], nodes_to_exclude=floats, per_channel=True,
            # Unsigned activations and signed weights: the pairing every x86 int8 kernel
            # (VNNI's vpdpbusd, AVX2's vpmaddubsw) multiplies natively.
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT,
                           "WeightSymmetric": True, "ActivationSymmetric": False,
                           # Averaging each passage's range rather than taking the extreme
                           # one keeps a single odd passage from coarsening every scale.
                           "CalibMovingAverage": True},
        )
        os.replace(tmp / "q.onnx", target)
        marker.write_text(recipe)
    finally:
        logging.getLogger().removeFilter(quiet)
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class _QuietQuantizer(logging.Filter):
    """Drops the quantizer's warnings about fused operators' output types (expected: the
    DefaultTensorType option supplies them), which it logs on the root logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("failed to infer the type of tensor",
                                               "Please consider to run pre-processing"))


def _recipe(keep: tuple[str, ...]) -> str:
    return "+".join((RECIPE, *sorted(keep)))


def is_ready(folder: Path) -> bool:
    """Whether ``folder`` holds an int8 model made by the current recipe."""
    marker = (folder / INT8_FILE).with_suffix(".recipe")
    try:
        return (folder / INT8_FILE).is_file() and marker.read_text().strip() == _recipe(FLOAT_PARTS)
    except OSError:
        return False


def _no_forward(inputs: dict[str, np.ndarray]) -> np.ndarray:
    raise RuntimeError("used for tokenizing only")


def int8_runner(folder: Path, spec: ExportSpec, model_file: Path | None = None) -> ExportedRunner:
    """An onnxruntime runner of the int8 model (see exported.onnx_runner for the options)."""
    from app.core.encoders.backends.exported import onnx_session

    session = onnx_session(model_file or folder / INT8_FILE)

    def forward(inputs: dict[str, np.ndarray]) -> np.ndarray:
        return session.run(None, inputs)[0]

    return ExportedRunner(folder, spec, forward)
