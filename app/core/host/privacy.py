"""Usage reporting of the libraries Sift runs on, switched off before any of them loads."""

from __future__ import annotations

import os
import sys

# Each is read once, when its library initialises, so they are set at the first import of the
# app package, before anything can import the library (subprocesses inherit them):
# - ONNX Runtime 1.29 and later report usage to Microsoft (1DS) on Linux and macOS and write a
#   device id under ~/.cache/Microsoft; this variable makes it create and send nothing.
# - huggingface_hub reports each download's library versions when a model is fetched.
# - DO_NOT_TRACK is the convention other libraries honour (huggingface_hub among them).
# - OpenVINO and NNCF ignore all of these: importing openvino loads its model converter, which
#   sends a Google Analytics event and writes ~/intel/openvino_ga_cid whenever the
#   openvino_telemetry package can be imported. It is made unimportable (both run without it).
SWITCHES: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}


def keep_everything_local() -> None:
    """Turn the switches on for this process and every process it starts."""
    for name, value in SWITCHES.items():
        os.environ[name] = value
    sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]
