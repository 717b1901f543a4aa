"""Compressing the model's weights on first use prints nothing: no NNCF tables, no progress bar."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.encoders.backends import hardware

pytestmark = pytest.mark.skipif(
    not all(hardware.installed(m) for m in ("openvino", "nncf")),
    reason="openvino and nncf are optional")


def test_first_use_leaves_the_terminal_alone(tiny_model: Path, tmp_path: Path,
                                             capfd: pytest.CaptureFixture[str]) -> None:
    from app.core.encoders.backends import exported, openvino_int8
    from app.core.encoders.backends.torch_runner import load_sentence_transformer
    from app.core.encoders.models import resolve_model

    model = load_sentence_transformer(resolve_model(str(tiny_model)))
    spec = exported.export(model, tmp_path)
    capfd.readouterr()
    openvino_int8.quantize(tmp_path, spec)
    assert openvino_int8.is_ready(tmp_path)
    out, err = capfd.readouterr()
    assert out == ""
    assert "bitwidth" not in err and "Applying" not in err and "━" not in err, err
