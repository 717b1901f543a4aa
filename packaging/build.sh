#!/bin/sh
# Build the double-clickable Sift for this OS into dist/Sift/ and check it (self-test, window).
#
#   packaging/build.sh                 from a fresh clone: makes .venv, installs, builds, checks
#   packaging/build.sh --no-install    reuse .venv as it is
#   packaging/build.sh --help          all options
#
# On Linux, if pip would fetch the CUDA build of torch from PyPI, point it at the CPU wheels:
#   SIFT_TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu packaging/build.sh
# Everything happens in packaging/build.py (also usable directly, e.g. on Windows).
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
exec "$PYTHON" packaging/build.py "$@"
