"""Fixtures of the backend tests: the float32 reference model and the CPUs people have."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.core.encoders.backends import choice, hardware


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
