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


@pytest.mark.skipif("avx512f" not in _cpuinfo() or "cpuid_fault" not in _cpuinfo()
                    or shutil.which("gcc") is None,
                    reason="needs an AVX-512 CPU with CPUID faulting, and gcc")
def test_a_cpu_emulated_without_avx512_is_not_offered_bfloat16(tmp_path: Path) -> None:
    """/proc/cpuinfo still lists AVX-512 under the emulation; believing it would send "auto"
    to bfloat16 on a CPU whose libraries all run AVX2 kernels."""
    lib = tmp_path / "cpuid_cap.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(lib), str(SHIM), "-ldl"],
                   check=True)
    native_flags, _, native, native_key = _probe({})
    assert "avx512f" in native_flags and native["isa_cap"] is None
    flags, bf16, machine, key = _probe({"LD_PRELOAD": str(lib), "CPUID_CAP": "AVX2"})
    assert not {f for f in flags if f.startswith(("avx512", "amx"))}
    assert "avx2" in flags and "avx_vnni" not in flags and not bf16
    assert machine["isa_cap"] == "AVX2" and not machine["native_bf16"]
    assert "avx512f" not in machine["flags"] and "avx_vnni" not in machine["flags"]
    # The backend decision is the CPU's: one made on another CPU of the same name is not reused.
    _, _, _, vnni_key = _probe({"LD_PRELOAD": str(lib), "CPUID_CAP": "AVX2_VNNI"})
    assert key["cpu"] == native_key["cpu"] == vnni_key["cpu"]
    assert len({key["isa"], vnni_key["isa"], native_key["isa"]}) == 3
