"""The int8 backends: which products stay in float, how close they embed to float32, when they
are chosen, and that a quantized model is made once, checked, and made again when lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.core.encoders import backends
from app.core.encoders.backends import CHECK_PASSAGES, choice, hardware
from tests.core.encoders.backend_helpers import ROOT, loaded_embedder, run_python

# -- int8 (static, calibrated) ------------------------------------------------------------------
needs_onnx = pytest.mark.skipif(
    not hardware.installed("onnxruntime") or not hardware.installed("onnx"),
    reason="onnxruntime and onnx are needed to quantize")


def _fed_by_dequantize(path: Path) -> dict[str, bool]:
    """MatMul name → whether one of its inputs comes out of a DequantizeLinear (runs in int8)."""
    import onnx

    graph = onnx.load(str(path)).graph
    dq = {n.output[0] for n in graph.node if n.op_type == "DequantizeLinear"}
    return {n.name: bool(set(n.input) & dq) for n in graph.node if n.op_type == "MatMul"}


@needs_onnx
def test_int8_keeps_attention_products_and_the_last_layer_in_float(float32_model: Any,
                                                                   tmp_path: Path) -> None:
    from app.core.encoders.backends import exported, quantized

    folder = tmp_path / "export"
    spec = exported.export(float32_model, folder)
    every_layer = _fed_by_dequantize(quantized.quantize(folder, spec, keep=(),
                                                        out=folder / "all.onnx"))
    attention = [n for n in every_layer if "attention/self/MatMul" in n]
    assert len(attention) == 2 and not any(every_layer[n] for n in attention)
    weights = [n for n in every_layer if n not in attention]
    assert len(weights) == 6 and all(every_layer[n] for n in weights)  # q k v out ffn-in ffn-out
    # The default recipe keeps feed-forward down in float too; "last-layer" keeps the whole
    # (here: only) layer.
    default = _fed_by_dequantize(quantized.quantize(folder, spec))
    ffn_down = "/inner/encoder/layer.0/output/dense/MatMul"
    assert [n for n, q in default.items() if not q] == [*attention, ffn_down]
    assert quantized.is_ready(folder)
    last = _fed_by_dequantize(quantized.quantize(folder, spec, keep=("last-layer",),
                                                 out=folder / "last.onnx"))
    assert not any(last.values())


@needs_onnx
def test_int8_runner_embeds_close_to_float32(float32_model: Any, tmp_path: Path) -> None:
    from app.core.encoders.backends import exported, quantized

    folder = tmp_path / "export"
    spec = exported.export(float32_model, folder)
    runner = quantized.int8_runner(folder, spec, quantized.quantize(
        folder, spec, keep=(), out=folder / "all.onnx"))
    texts = list(CHECK_PASSAGES)
    ref = backends.choice.TorchRunner(float32_model).encode_documents(texts, 4)
    got = runner.encode_documents(texts, 4)
    assert got.shape == ref.shape and np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-3)
    mean, low = backends.agreement(ref, got)
    assert mean > 0.98 and low > 0.9, (mean, low)  # quantized, so not equal, but the same model


@needs_onnx
def test_calibration_passages_are_not_the_check_passages() -> None:
    from app.core.encoders.backends.check import CALIBRATION_PASSAGES

    check_sentences = set(CHECK_PASSAGES)
    assert not any(s in p for p in CALIBRATION_PASSAGES for s in check_sentences)


def test_auto_measures_openvino_int8_never_onnxruntime_int8_but_settings_can_choose_it(
        tiny_model: Path, tmp_path: Path, machine: str) -> None:
    # OpenVINO int8 keeps float32's retrieval quality (check.py): "auto" measures it like the
    # float backends. Static onnxruntime int8 does not: only a user who asks for it gets it,
    # where it runs and passes the int8 check.
    auto = loaded_embedder(tiny_model, "auto", tmp_path / "auto").info
    assert "onnx-int8" not in auto.reason and auto.backend_id != "onnx-int8"
    if machine == "avx2-no-runtimes":
        assert "openvino-int8 unavailable (openvino is not installed)" in auto.reason
    elif hardware.installed("openvino") and hardware.installed("nncf"):
        assert "openvino int8 (cpu)" in auto.reason  # measured among the candidates
    forced = loaded_embedder(tiny_model, "int8", tmp_path / "forced").info
    if machine == "avx2-no-runtimes":
        assert forced.backend_id != "onnx-int8"
        assert "onnx-int8 unavailable (onnxruntime is not installed)" in forced.reason
    else:
        assert forced.backend_id == "onnx-int8" and forced.backend == "onnxruntime int8 (cpu)"
        assert forced.reason.startswith("chosen in settings; agrees with float32")


@needs_onnx
def test_remembered_int8_starts_without_torch_or_quantizing_again(tiny_model: Path,
                                                                  tmp_path: Path) -> None:
    first = loaded_embedder(tiny_model, "onnx-int8", tmp_path)
    assert first.info.backend_id == "onnx-int8"
    expected = first.embed_documents(["dog food for a puppy"])[0]
    out = run_python(
        "import sys; from pathlib import Path; from app.core.encoders.embedder import Embedder\n"
        f"e = Embedder({str(tiny_model)!r}, backend='int8', cache_dir=Path({str(tmp_path)!r}))\n"
        "v = e.embed_documents(['dog food for a puppy'])[0]\n"
        "print(e.info.backend_id, 'torch' in sys.modules, 'onnxruntime.quantization' in "
        "sys.modules, ' '.join(f'{x:.6f}' for x in v))",
        tmp_path)
    backend, torch_loaded, quantizer_loaded, *vec = out.split()
    assert (backend, torch_loaded, quantizer_loaded) == ("onnx-int8", "False", "False")
    assert np.allclose(np.array(vec, dtype=np.float32), expected, atol=1e-5)


@needs_onnx
def test_a_lost_int8_model_is_made_again(tiny_model: Path, tmp_path: Path) -> None:
    from app.core.encoders.backends import quantized

    first = loaded_embedder(tiny_model, "onnx-int8", tmp_path)
    folder = first.export_dir
    (folder / quantized.INT8_FILE).unlink()
    again = loaded_embedder(tiny_model, "onnx-int8", tmp_path).info
    assert again.backend_id == "onnx-int8" and "[remembered" not in again.reason
    assert quantized.is_ready(folder)


def _at_cosine(ref: np.ndarray, cos: float, seed: int = 0) -> np.ndarray:
    """Unit vectors at exactly ``cos`` to each row of ``ref``."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=ref.shape)
    noise -= (noise * ref).sum(axis=1, keepdims=True) * ref
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    return (cos * ref + np.sqrt(1 - cos**2) * noise).astype(np.float32)


def test_int8_is_held_to_its_own_bar_and_float_backends_to_theirs() -> None:
    ref = np.linalg.qr(np.random.default_rng(1).normal(size=(64, 16)))[0].T.astype(np.float32)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    close = _at_cosine(ref, 0.9985)  # OpenVINO int8, per-token scales: nDCG@10 within 0.005
    static = _at_cosine(ref, 0.994)  # static int8: 0.006-0.008 lost on msmarco-sub5k
    loose = _at_cosine(ref, 0.975)   # dynamic onnxruntime int8: neighbours visibly reordered
    assert backends.is_faithful(ref, close, quantized=True)
    assert not backends.is_faithful(ref, close)
    assert not backends.is_faithful(ref, static, quantized=True)
    assert not backends.is_faithful(ref, loose, quantized=True)
    assert backends.is_faithful(ref, _at_cosine(ref, 0.9995))


def test_openvino_int8_without_nncf_gives_way_and_says_why(tiny_model: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    real = choice.installed
    monkeypatch.setattr(choice, "installed", lambda m: m != "nncf" and real(m))
    info = loaded_embedder(tiny_model, "openvino-int8", tmp_path).info
    assert info.backend_id != "openvino-int8"
    assert ("openvino-int8 unavailable (nncf is not installed" in info.reason
            or "openvino-int8 unavailable (openvino is not installed)" in info.reason)


@pytest.mark.skipif(not all(hardware.installed(m) for m in ("openvino", "nncf", "onnx")),
                    reason="openvino and nncf are optional")
def test_openvino_int8_quantizes_once_and_is_checked(tiny_model: Path, tmp_path: Path) -> None:
    from app.core.encoders.backends import openvino_int8

    emb = loaded_embedder(tiny_model, "openvino-int8", tmp_path)
    info = emb.info
    assert "openvino-int8 failed" not in info.reason
    # Used when it agrees with float32 on the int8 bar, refused with the figures otherwise.
    assert info.backend_id == "openvino-int8" or "openvino-int8 unfaithful (mean cosine" in info.reason
    assert openvino_int8.is_ready(emb.export_dir)


@pytest.mark.skipif(not all(hardware.installed(m) for m in ("openvino", "nncf")),
                    reason="openvino and nncf are optional")
def test_quantizing_with_nncf_sends_and_writes_nothing_outside_sift(tmp_path: Path) -> None:
    # NNCF reports usage to Google Analytics unless opted out, and writes a client id under
    # ~/intel when it is imported. A fresh process (NNCF silences itself under pytest) with an
    # empty home shows what a user's machine would get.
    home = tmp_path / "home"
    home.mkdir()
    code = ("from app.core.encoders.backends.openvino_int8 import import_nncf\n"
            "import_nncf()\n"
            "from nncf.telemetry import decorator\n"
            "print(type(decorator.telemetry).__name__)\n")
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(ROOT)}
    for var in ("CI", "NNCF_CI", "NNCF_DEV", "TF_BUILD", "JENKINS_URL"):
        env.pop(var, None)  # the telemetry package stays quiet in CI on its own
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "MagicMock"  # NNCF's own no-op stand-in
    assert list(home.iterdir()) == []
