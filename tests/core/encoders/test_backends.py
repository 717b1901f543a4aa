"""Backend choice: all backends agree with float32, unavailable or unfaithful ones give way, choices kept."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.core.encoders import backends
from app.core.encoders.backends import CHECK_PASSAGES, choice, hardware
from app.core.encoders.embedder import Embedder

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def float32_model(tiny_model: Path) -> Any:
    from app.core.encoders.backends.torch_runner import load_sentence_transformer
    from app.core.encoders.models import resolve_model

    return load_sentence_transformer(resolve_model(str(tiny_model)))


# The CPUs people have: with native bfloat16 (Zen 4, Sapphire Rapids), AVX2 only, and AVX2 only with none
# of the optional runtimes installed. Every test of the automatic choice runs on each, whatever this
# machine is, so a fresh clone passes on all of them.
MACHINES = ("native-bf16", "avx2", "avx2-no-runtimes")


@pytest.fixture(params=MACHINES)
def machine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    bf16 = request.param == "native-bf16"
    monkeypatch.setattr(choice, "cpu_has_native_bf16", lambda: bf16)
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: bf16)
    if request.param == "avx2-no-runtimes":
        real = hardware.installed
        hidden = {"onnxruntime", "onnx", "openvino"}
        monkeypatch.setattr(hardware, "installed", lambda m: m not in hidden and real(m))
        monkeypatch.setattr(choice, "installed", lambda m: m not in hidden and real(m))
    return request.param


def _embedder(model: Path, backend: str, cache: Path) -> Embedder:
    emb = Embedder(str(model), backend=backend, cache_dir=cache)
    emb.load()
    return emb


class _Perturbed:
    """A runner that drifts away from float32, as a too-aggressive quantisation would."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.tokenizer = inner.tokenizer
        self.rng = np.random.default_rng(0)

    def _drift(self, vecs: np.ndarray) -> np.ndarray:
        noisy = vecs + self.rng.normal(0.0, 0.3 / np.sqrt(vecs.shape[1]), vecs.shape)
        return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)

    def encode_documents(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self._drift(self.inner.encode_documents(texts, batch_size))

    def encode_queries(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self._drift(self.inner.encode_queries(texts, batch_size))


@pytest.mark.parametrize("backend", ["torch-bfloat16", "onnx", "openvino"])
def test_each_available_backend_agrees_with_float32(backend: str, float32_model: Any,
                                                    tmp_path: Path) -> None:
    reference = backends.choice.TorchRunner(float32_model)
    try:
        runner, _ = choice.build_runner(backend, float32_model, tmp_path / "export")
    except choice.Unavailable as exc:
        pytest.skip(f"{backend} is not available here: {exc}")
    texts = list(CHECK_PASSAGES)
    for kind in ("encode_documents", "encode_queries"):
        ref = getattr(reference, kind)(texts, 4)
        got = getattr(runner, kind)(texts, 4)
        assert got.shape == ref.shape and got.dtype == np.float32
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-3)
        assert backends.is_faithful(ref, got), backends.agreement(ref, got)


def test_forced_backend_that_is_not_installed_falls_back_with_reason(
        tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "onnxruntime" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    info = _embedder(tiny_model, "onnx", tmp_path).info
    assert info.backend_id != "onnx"
    assert "onnx unavailable (onnxruntime is not installed)" in info.reason


def test_forced_backend_whose_import_fails_falls_back(tiny_model: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "installed", lambda module: True)
    monkeypatch.setitem(sys.modules, "openvino", None)  # "import openvino" now raises
    info = _embedder(tiny_model, "openvino", tmp_path).info
    assert info.backend_id != "openvino"
    assert "openvino failed (ImportError" in info.reason or "openvino unavailable" in info.reason


def test_unfaithful_candidate_is_refused_and_the_reason_says_so(
        tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = choice.bfloat16_runner
    monkeypatch.setattr(choice, "bfloat16_runner",
                        lambda model, **kw: _Perturbed(real(model, **kw)))
    info = _embedder(tiny_model, "torch-bfloat16", tmp_path).info
    assert info.backend_id != "torch-bfloat16"
    assert "torch-bfloat16 unfaithful (mean cosine" in info.reason


def test_auto_never_picks_an_unfaithful_backend(tiny_model: Path, tmp_path: Path, machine: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    real = choice.build_runner

    def perturbed(backend: str, model: Any, export_dir: Path | None) -> Any:
        runner, label = real(backend, model, export_dir)
        return _Perturbed(runner), label

    monkeypatch.setattr(choice, "build_runner", perturbed)
    if machine == "avx2-no-runtimes":
        # Nothing but float32 is tried there; torch bfloat16 runs (emulated) on every CPU, so offering it
        # still gives the check something unfaithful to reject.
        monkeypatch.setattr(choice, "cpu_has_native_bf16", lambda: True)
    info = _embedder(tiny_model, "auto", tmp_path).info
    assert info.backend_id == "torch-float32"
    assert "unfaithful" in info.reason


def test_auto_skips_bfloat16_without_native_support(tiny_model: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(choice, "cpu_has_native_bf16", lambda: False)
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: False)
    info = _embedder(tiny_model, "auto", tmp_path).info
    assert info.backend_id != "torch-bfloat16"
    assert "bfloat16 (cpu)" not in info.reason


def test_decision_is_remembered_and_reused(tiny_model: Path, tmp_path: Path, machine: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    first = _embedder(tiny_model, "auto", tmp_path).info
    saved = json.loads((tmp_path / "encoders" / "decisions.json").read_text(encoding="utf-8"))
    assert [e["backend"] for e in saved.values()] == [first.backend_id]

    def no_check(*args: Any) -> Any:
        raise AssertionError("the decision should have come from the cache")

    monkeypatch.setattr(choice, "decide", no_check)
    second = _embedder(tiny_model, "auto", tmp_path).info
    assert second.backend_id == first.backend_id
    assert "[remembered from" in second.reason


def test_new_library_version_means_a_new_check(tiny_model: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.encoders.backends.cache import DecisionCache
    from app.core.encoders.models import resolve_model

    source = resolve_model(str(tiny_model))
    before = DecisionCache.key(source, "auto")
    monkeypatch.setattr(hardware, "version", lambda module: "99.0")
    assert DecisionCache.key(source, "auto") != before
    assert DecisionCache.key(source, "onnx") != DecisionCache.key(source, "auto")


def test_forced_float32_needs_no_check_and_writes_nothing(tiny_model: Path,
                                                          tmp_path: Path) -> None:
    info = _embedder(tiny_model, "torch-float32", tmp_path).info
    assert info.backend_id == "torch-float32" and info.reason == "chosen in settings"
    assert not (tmp_path / "encoders" / "decisions.json").exists()


def _python(code: str, tmp_path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_importing_the_embedder_does_not_import_torch(tmp_path: Path) -> None:
    out = _python("import sys, app.core.encoders.embedder, app.core.indexing.indexer; "
                  "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)",
                  tmp_path)
    assert out.split() == ["False", "False"]


@pytest.mark.skipif(not hardware.installed("onnxruntime") or not hardware.installed("onnx"),
                    reason="onnxruntime and onnx are optional")
def test_remembered_onnx_backend_starts_without_torch(tiny_model: Path, tmp_path: Path) -> None:
    first = _embedder(tiny_model, "onnx", tmp_path)
    expected = first.embed_query("dog food")
    out = _python(
        "import sys; from pathlib import Path; from app.core.encoders.embedder import Embedder\n"
        f"e = Embedder({str(tiny_model)!r}, backend='onnx', cache_dir=Path({str(tmp_path)!r}))\n"
        "v = e.embed_query('dog food')\n"
        "print(e.info.backend_id, 'torch' in sys.modules, ' '.join(f'{x:.6f}' for x in v))",
        tmp_path)
    backend, torch_loaded, *vec = out.split()
    assert (backend, torch_loaded) == ("onnx", "False")
    assert np.allclose(np.array(vec, dtype=np.float32), expected, atol=1e-5)


def test_an_export_replaces_the_exports_of_earlier_model_versions(tmp_path: Path) -> None:
    from app.core.encoders.backends.exported import _prune_older

    for name in ("model-abcd1234-old0000000", "model-abcd1234-new0000000",
                 "other-ffff0000-1111111111"):
        (tmp_path / name).mkdir()
    _prune_older(tmp_path / "model-abcd1234-new0000000")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model-abcd1234-new0000000",
                                                         "other-ffff0000-1111111111"]


class _Slow:
    """A runner whose document batches take a while, like long passages on a slow CPU."""

    def __init__(self, inner: Any, seconds: float) -> None:
        self.inner, self.seconds, self.tokenizer = inner, seconds, inner.tokenizer

    def encode_documents(self, texts: list[str], batch_size: int) -> np.ndarray:
        import time

        time.sleep(self.seconds)
        return self.inner.encode_documents(texts, batch_size)

    def encode_queries(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self.inner.encode_queries(texts, batch_size)


def test_a_query_waits_for_one_document_batch_at_most(tiny_model: Path, tmp_path: Path) -> None:
    import threading
    import time

    emb = _embedder(tiny_model, "torch-float32", tmp_path)
    emb._runner = _Slow(emb._runner, 0.05)
    emb.batch_size = 2
    indexing = threading.Thread(target=emb.embed_documents, args=(["some text"] * 80,))
    indexing.start()  # 40 batches: 2 seconds
    time.sleep(0.2)
    t0 = time.perf_counter()
    emb.embed_query("dog food")
    waited = time.perf_counter() - t0
    still_indexing = indexing.is_alive()
    indexing.join()
    assert still_indexing and waited < 0.5


def test_a_gpu_is_used_as_it_is_and_cpu_backends_give_way(tiny_model: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(choice, "device_of", lambda model: "cuda:0")
    auto = _embedder(tiny_model, "auto", tmp_path).info
    assert (auto.backend_id, auto.reason) == ("torch-float32", "cuda:0 accelerator found")
    forced = _embedder(tiny_model, "onnx", tmp_path).info
    assert forced.backend_id == "torch-float32"
    assert "onnx unavailable (it runs on the CPU only" in forced.reason
    assert not (tmp_path / "encoders" / "decisions.json").exists()


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
    auto = _embedder(tiny_model, "auto", tmp_path / "auto").info
    assert "onnx-int8" not in auto.reason and auto.backend_id != "onnx-int8"
    if machine == "avx2-no-runtimes":
        assert "openvino-int8 unavailable (openvino is not installed)" in auto.reason
    elif hardware.installed("openvino") and hardware.installed("nncf"):
        assert "openvino int8 (cpu)" in auto.reason  # measured among the candidates
    forced = _embedder(tiny_model, "int8", tmp_path / "forced").info
    if machine == "avx2-no-runtimes":
        assert forced.backend_id != "onnx-int8"
        assert "onnx-int8 unavailable (onnxruntime is not installed)" in forced.reason
    else:
        assert forced.backend_id == "onnx-int8" and forced.backend == "onnxruntime int8 (cpu)"
        assert forced.reason.startswith("chosen in settings; agrees with float32")


@needs_onnx
def test_remembered_int8_starts_without_torch_or_quantizing_again(tiny_model: Path,
                                                                  tmp_path: Path) -> None:
    first = _embedder(tiny_model, "onnx-int8", tmp_path)
    assert first.info.backend_id == "onnx-int8"
    expected = first.embed_documents(["dog food for a puppy"])[0]
    out = _python(
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

    first = _embedder(tiny_model, "onnx-int8", tmp_path)
    folder = first.export_dir
    (folder / quantized.INT8_FILE).unlink()
    again = _embedder(tiny_model, "onnx-int8", tmp_path).info
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
    info = _embedder(tiny_model, "openvino-int8", tmp_path).info
    assert info.backend_id != "openvino-int8"
    assert ("openvino-int8 unavailable (nncf is not installed" in info.reason
            or "openvino-int8 unavailable (openvino is not installed)" in info.reason)


@pytest.mark.skipif(not all(hardware.installed(m) for m in ("openvino", "nncf", "onnx")),
                    reason="openvino and nncf are optional")
def test_openvino_int8_quantizes_once_and_is_checked(tiny_model: Path, tmp_path: Path) -> None:
    from app.core.encoders.backends import openvino_int8

    emb = _embedder(tiny_model, "openvino-int8", tmp_path)
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


def test_a_second_data_folder_finds_the_decision_in_the_user_cache(
        tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check runs once per computer and model, not once per data folder, and says so."""
    from app.core.encoders.backends import cache
    from app.core.host.paths import resolve_paths
    from app.core.library import Library
    from app.core.settings import Settings

    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "user-cache"))
    settings = Settings(model=str(tiny_model), backend="auto", rerank=False)
    heard: list[str] = []

    def loaded(data_dir: str) -> Any:
        lib = Library(resolve_paths(tmp_path / data_dir), settings)
        lib.embedder.on_first_check = heard.append
        try:
            return lib.embedder.info
        finally:
            lib.close()

    first = loaded("data-1")
    assert len(heard) == 1 and "once per computer and model" in heard[0]
    assert (tmp_path / "user-cache" / "encoders" / "decisions.json").exists()
    assert not (tmp_path / "data-1" / "cache" / "encoders").exists()

    def no_check(*args: Any) -> Any:
        raise AssertionError("a second data folder should find the decision in the user cache")

    with monkeypatch.context() as m:
        m.setattr(choice, "decide", no_check)
        second = loaded("data-2")
    assert second.backend_id == first.backend_id and "[remembered from" in second.reason
    assert len(heard) == 1  # nothing to tell: no check ran
    # The same data folder on another computer (other CPU facts) is checked there again.
    monkeypatch.setattr(cache, "machine_key", lambda: {"cpu": "another computer"})
    loaded("data-1")
    assert len(heard) == 2
