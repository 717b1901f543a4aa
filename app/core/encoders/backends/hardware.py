"""What this machine offers: CPU features, installed inference libraries and versions (no heavy imports)."""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import platform
from pathlib import Path

# Distribution names (for versions) of the libraries a backend needs, by import name.
LIBRARIES: dict[str, str] = {
    "torch": "torch",
    "transformers": "transformers",
    "sentence_transformers": "sentence-transformers",
    "tokenizers": "tokenizers",
    "onnxruntime": "onnxruntime",
    "onnx": "onnx",
    "openvino": "openvino",
    "nncf": "nncf",
}


# CPU features that change which backend is fastest (bfloat16, int8 with or without VNNI, AVX-512).
DECIDING_FLAGS = frozenset({"avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16",
                            "amx_bf16", "amx_int8", "amx_tile"})


@functools.cache
def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (Linux), as the CPU answers this process.

    /proc/cpuinfo lists what the kernel saw at boot. A process can be shown less: a CPU
    capped by its hypervisor per process, or tests/benchmarks' emulation of an older CPU,
    whose CPUID answers without AVX-512. Every library picks its kernels from those answers,
    so AVX-512 and AMX flags count only if CPUID (read by numpy) confirms AVX-512.
    """
    flags: frozenset[str] = frozenset()
    for line in _cpuinfo().splitlines():
        if line.startswith("flags"):
            flags = frozenset(line.split(":", 1)[1].split())
            break
    if "avx512f" in flags and not _cpuid_has("AVX512F"):
        flags = frozenset(f for f in flags if not f.startswith(("avx512", "amx")))
    if emulated_cap() == "AVX2":  # AVX-VNNI masked too; numpy cannot confirm it either way
        flags = flags - {"avx_vnni"}
    return flags


def emulated_cap() -> str | None:
    """The older CPU this process runs as, under tests/benchmarks/cpuid_cap.c; else None."""
    if "cpuid_cap" not in os.environ.get("LD_PRELOAD", ""):
        return None
    return os.environ.get("CPUID_CAP") or "AVX2"


def _cpuid_has(feature: str) -> bool:
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy 1.x
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return True  # cannot ask: believe /proc/cpuinfo
    return bool(features.get(feature, True))


def cpu_has_native_bf16() -> bool:
    """True on CPUs with AMX or AVX512-BF16, where bfloat16 matrix work is fast.

    Elsewhere bfloat16 is emulated and slower than float32, so it is never tried there.
    """
    if platform.system() != "Linux":
        # macOS on Apple silicon goes through MPS; Windows exposes no flags without extra
        # packages, so it gets the float32 backends, which are always correct.
        return False
    flags = cpu_flags()
    return "amx_bf16" in flags or "avx512_bf16" in flags


def cpu_name() -> str:
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken parent package or a half-installed module
        return False


def version(module: str) -> str:
    try:
        return importlib.metadata.version(LIBRARIES.get(module, module))
    except importlib.metadata.PackageNotFoundError:
        return "-"


def machine_key() -> dict[str, str]:
    """What a backend decision depends on besides the model: hardware and library versions."""
    key = {
        "system": platform.system(),
        "machine": platform.machine(),
        "cpu": cpu_name(),
        "bf16": str(cpu_has_native_bf16()),
        # Which kernels the runtimes can pick: a virtual machine's CPU name ("Intel Xeon
        # Processor") says nothing of it, and int8 is fast only with VNNI.
        "isa": ",".join(sorted(f for f in cpu_flags() if f in DECIDING_FLAGS)),
        # A GPU added later must lead to a new decision; this is cheap to see without torch.
        "nvidia": str(Path("/dev/nvidia0").exists()),
        "python": platform.python_version(),
    }
    key.update({m: version(m) for m in LIBRARIES})
    return key
