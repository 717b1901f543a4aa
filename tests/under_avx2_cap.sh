#!/usr/bin/env bash
# The machine-dependent tests (CPU features, encoder backends, native libraries) as an AVX2-only
# CPU runs them: every CPUID instruction answered without AVX-512 and AVX-VNNI. Skips, saying
# why, where the host has no CPUID faulting or no C compiler. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! grep -qw cpuid_fault /proc/cpuinfo 2>/dev/null; then
    echo "AVX2-only run skipped: this CPU offers no CPUID faulting (cpuid_fault)."
    exit 0
fi
if ! command -v gcc >/dev/null 2>&1; then
    echo "AVX2-only run skipped: no gcc to build tests/benchmarks/cpuid_cap.c."
    exit 0
fi
shim_dir=$(mktemp -d)
trap 'rm -rf "$shim_dir"' EXIT
gcc -O2 -shared -fPIC -o "$shim_dir/cpuid_cap.so" tests/benchmarks/cpuid_cap.c -ldl
echo "Hardware and backend tests as an AVX2-only CPU (CPUID capped):"
LD_PRELOAD="$shim_dir/cpuid_cap.so" CPUID_CAP=AVX2 QT_QPA_PLATFORM=offscreen \
    .venv/bin/python -m pytest -q "$@" tests/core/encoders tests/core/measure/test_bench_backends.py \
    tests/core/host/test_native.py
