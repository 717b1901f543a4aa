"""How the bi-encoder runs: backend and precision chosen per machine, checked against float32, remembered."""

from app.core.encoders.backends.check import (
    CHECK_PASSAGES,
    MEAN_COSINE,
    MIN_COSINE,
    agreement,
    is_faithful,
    neighbour_overlap,
)
from app.core.encoders.backends.choice import BACKENDS, Choice, Runner, auto_order, decide, load, normalise
from app.core.encoders.backends.hardware import cpu_has_native_bf16, installed

__all__ = [
    "BACKENDS",
    "CHECK_PASSAGES",
    "MEAN_COSINE",
    "MIN_COSINE",
    "Choice",
    "Runner",
    "agreement",
    "auto_order",
    "cpu_has_native_bf16",
    "decide",
    "installed",
    "is_faithful",
    "load",
    "neighbour_overlap",
    "normalise",
]
