"""CPU features as this process's CPU answers them: an older CPU, emulated, is taken at its word."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SHIM = ROOT / "tests" / "benchmarks" / "cpuid_cap.c"
PROBE = ("import json; from app.core.encoders.backends.hardware import cpu_flags, cpu_has_native_bf16, "
         "machine_key; from app.core.measure.bench import machine_info; "
         "print(json.dumps([sorted(cpu_flags()), cpu_has_native_bf16(), machine_info(), "
         "machine_key()]))")


def _probe(env: dict[str, str]) -> tuple[set[str], bool, dict, dict]:  # type: ignore[type-arg]
    out = subprocess.run([sys.executable, "-c", PROBE], env={**os.environ, **env,
                         "PYTHONPATH": str(ROOT)}, cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    flags, bf16, machine, key = json.loads(out.stdout)
    return set(flags), bf16, machine, key


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def _shim_premise() -> str | None:
    """Why the emulation cannot be tried on this machine, or None when it can."""
    info = _cpuinfo()
    if "cpuid_fault" not in info:
        return "needs CPUID faulting (the cpuid_fault flag: Intel CPUs, KVM guests)"
    if shutil.which("gcc") is None:
        return "needs gcc to build the CPUID shim"
    if "cpuid_cap" in os.environ.get("LD_PRELOAD", ""):
        return "this process already runs under the CPUID cap"
    return None


@pytest.mark.skipif(_shim_premise() is not None, reason=str(_shim_premise()))
def test_a_cpu_emulated_without_avx512_is_not_offered_bfloat16(tmp_path: Path) -> None:
    """/proc/cpuinfo still lists AVX-512 under the emulation; believing it would send "auto"
    to bfloat16 on a CPU whose libraries all run AVX2 kernels."""
    native_flags, _, native, native_key = _probe({})
    if "avx512f" not in native_flags:
        pytest.skip("needs a CPU that answers CPUID with AVX-512 (the cap has nothing to hide)")
    lib = tmp_path / "cpuid_cap.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(lib), str(SHIM), "-ldl"],
                   check=True)
    assert native["isa_cap"] is None
    flags, bf16, machine, key = _probe({"LD_PRELOAD": str(lib), "CPUID_CAP": "AVX2"})
    assert not {f for f in flags if f.startswith(("avx512", "amx"))}
    assert "avx2" in flags and "avx_vnni" not in flags and not bf16
    assert machine["isa_cap"] == "AVX2" and not machine["native_bf16"]
    assert "avx512f" not in machine["flags"] and "avx_vnni" not in machine["flags"]
    # The backend decision is the CPU's: one made on another CPU of the same name is not reused.
    assert key["cpu"] == native_key["cpu"] and key["isa"] != native_key["isa"]
    vnni_flags, _, _, vnni_key = _probe({"LD_PRELOAD": str(lib), "CPUID_CAP": "AVX2_VNNI"})
    assert vnni_key["cpu"] == native_key["cpu"] and vnni_key["isa"] != native_key["isa"]
    # The AVX2+VNNI cap keeps AVX-VNNI only where the CPU has it (Intel since Alder Lake, not
    # Zen 4): without it, the capped CPU is exactly a plain AVX2 one and must share its key.
    if "avx_vnni" in native_flags:
        assert "avx_vnni" in vnni_flags and vnni_key["isa"] != key["isa"]
    else:
        assert "avx_vnni" not in vnni_flags and vnni_key["isa"] == key["isa"]
