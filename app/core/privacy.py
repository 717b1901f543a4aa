"""Usage reporting of the libraries Sift runs on, switched off before any of them loads."""

from __future__ import annotations

import os

# Each is read once, when its library initialises, so they are set at the first import of the
# app package, before anything can import the library (subprocesses inherit them):
# - ONNX Runtime 1.29 and later report usage to Microsoft (1DS) on Linux and macOS and write a
#   device id under ~/.cache/Microsoft; this variable makes it create and send nothing.
# - huggingface_hub reports each download's library versions when a model is fetched.
# - DO_NOT_TRACK is the convention other libraries honour (huggingface_hub among them).
# NNCF, which ignores all of these, is cut off where it is imported (backends/openvino_int8.py).
SWITCHES: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}


def keep_everything_local() -> None:
    """Turn the switches on for this process and every process it starts."""
    for name, value in SWITCHES.items():
        os.environ[name] = value
