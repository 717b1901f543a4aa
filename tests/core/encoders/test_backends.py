"""Backend choice: all backends agree with float32, unavailable or unfaithful ones give way, choices kept."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.core.encoders import backends
from app.core.encoders.backends import CHECK_PASSAGES, choice, hardware
from tests.core.encoders.backend_helpers import loaded_embedder, run_python


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
    info = loaded_embedder(tiny_model, "onnx", tmp_path).info
    assert info.backend_id != "onnx"
    assert "onnx unavailable (onnxruntime is not installed)" in info.reason


def test_forced_backend_whose_import_fails_falls_back(tiny_model: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "installed", lambda module: True)
    monkeypatch.setitem(sys.modules, "openvino", None)  # "import openvino" now raises
    info = loaded_embedder(tiny_model, "openvino", tmp_path).info
    assert info.backend_id != "openvino"
    assert "openvino failed (ImportError" in info.reason or "openvino unavailable" in info.reason


def test_unfaithful_candidate_is_refused_and_the_reason_says_so(
        tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = choice.bfloat16_runner
    monkeypatch.setattr(choice, "bfloat16_runner",
                        lambda model, **kw: _Perturbed(real(model, **kw)))
    info = loaded_embedder(tiny_model, "torch-bfloat16", tmp_path).info
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
    info = loaded_embedder(tiny_model, "auto", tmp_path).info
    assert info.backend_id == "torch-float32"
    assert "unfaithful" in info.reason


def test_auto_skips_bfloat16_without_native_support(tiny_model: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(choice, "cpu_has_native_bf16", lambda: False)
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: False)
    info = loaded_embedder(tiny_model, "auto", tmp_path).info
    assert info.backend_id != "torch-bfloat16"
    assert "bfloat16 (cpu)" not in info.reason


def test_decision_is_remembered_and_reused(tiny_model: Path, tmp_path: Path, machine: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    first = loaded_embedder(tiny_model, "auto", tmp_path).info
    saved = json.loads((tmp_path / "encoders" / "decisions.json").read_text(encoding="utf-8"))
    assert [e["backend"] for e in saved.values()] == [first.backend_id]

    def no_check(*args: Any) -> Any:
        raise AssertionError("the decision should have come from the cache")

    monkeypatch.setattr(choice, "decide", no_check)
    second = loaded_embedder(tiny_model, "auto", tmp_path).info
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
    info = loaded_embedder(tiny_model, "torch-float32", tmp_path).info
    assert info.backend_id == "torch-float32" and info.reason == "chosen in settings"
    assert not (tmp_path / "encoders" / "decisions.json").exists()


def test_importing_the_embedder_does_not_import_torch(tmp_path: Path) -> None:
    out = run_python("import sys, app.core.encoders.embedder, app.core.indexing.indexer; "
                  "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)",
                  tmp_path)
    assert out.split() == ["False", "False"]


@pytest.mark.skipif(not hardware.installed("onnxruntime") or not hardware.installed("onnx"),
                    reason="onnxruntime and onnx are optional")
def test_remembered_onnx_backend_starts_without_torch(tiny_model: Path, tmp_path: Path) -> None:
    first = loaded_embedder(tiny_model, "onnx", tmp_path)
    expected = first.embed_query("dog food")
    out = run_python(
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

    emb = loaded_embedder(tiny_model, "torch-float32", tmp_path)
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
    auto = loaded_embedder(tiny_model, "auto", tmp_path).info
    assert (auto.backend_id, auto.reason) == ("torch-float32", "cuda:0 accelerator found")
    forced = loaded_embedder(tiny_model, "onnx", tmp_path).info
    assert forced.backend_id == "torch-float32"
    assert "onnx unavailable (it runs on the CPU only" in forced.reason
    assert not (tmp_path / "encoders" / "decisions.json").exists()


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
