#!/bin/sh
# Quick packaging checks for CI (a few seconds; the bundle itself is not built here):
#   - the .desktop file (desktop-file-validate) and the AppStream metainfo
#     (appstreamcli validate --no-net), each where the tool is installed;
#   - the PyInstaller spec and the build scripts parse (Python ast, sh -n);
#   - the icons exist with the right pixel sizes, ids agree with app.APP_ID, and the
#     self-test's sample folder is complete.
#
#   packaging/check.sh          exit status 0 when everything checked passed
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
APP_ID=io.github.sift.Sift
status=0

if command -v desktop-file-validate >/dev/null 2>&1; then
    if desktop-file-validate "resources/linux/$APP_ID.desktop"; then
        echo "ok: desktop file"
    else
        echo "FAIL: desktop file"; status=1
    fi
else
    echo "skip: desktop-file-validate is not installed (apt-get install desktop-file-utils)"
fi

if command -v appstreamcli >/dev/null 2>&1; then
    if out=$(appstreamcli validate --no-net --explain "resources/linux/$APP_ID.metainfo.xml" 2>&1); then
        echo "ok: metainfo"
    else
        echo "$out"; echo "FAIL: metainfo"; status=1
    fi
else
    echo "skip: appstreamcli is not installed (apt-get install appstream)"
fi

for script in packaging/build.sh packaging/check.sh packaging/linux/install.sh packaging/linux/uninstall.sh; do
    if sh -n "$script"; then :; else echo "FAIL: $script has a syntax error"; status=1; fi
done
echo "ok: shell scripts parse"

"$PY" - <<'EOF' || status=1
import ast
import struct
import sys
import xml.etree.ElementTree as ET
from configparser import ConfigParser
from pathlib import Path

failures = []
for source in ("packaging/sift.spec", "packaging/build.py", "packaging/make_icons.py",
               "packaging/entry.py", "app/selftest.py"):
    try:
        ast.parse(Path(source).read_text(encoding="utf-8"), filename=source)
    except SyntaxError as exc:
        failures.append(f"{source} does not parse: {exc}")

init = ast.parse(Path("app/__init__.py").read_text(encoding="utf-8"))
consts = {t.id: ast.literal_eval(n.value) for n in init.body if isinstance(n, ast.Assign)
          for t in n.targets if isinstance(t, ast.Name)}
app_id = consts.get("APP_ID")

icons = Path("resources/icons")
if not (icons / "sift.svg").is_file():
    failures.append("resources/icons/sift.svg is missing")
else:
    ET.parse(icons / "sift.svg")
for size in (16, 32, 48, 64, 128, 256, 512):
    png = icons / f"sift-{size}.png"
    if not png.is_file():
        failures.append(f"{png} is missing (python packaging/make_icons.py --png)")
        continue
    head = png.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or struct.unpack(">II", head[16:24]) != (size, size):
        failures.append(f"{png} is not a {size}x{size} PNG")

desktop = Path(f"resources/linux/{app_id}.desktop")
meta = Path(f"resources/linux/{app_id}.metainfo.xml")
if not desktop.is_file() or not meta.is_file():
    failures.append(f"resources/linux/ lacks {desktop.name} or {meta.name} (APP_ID {app_id})")
else:
    entry = ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(desktop, encoding="utf-8")
    if entry.get("Desktop Entry", "Icon", fallback=None) != app_id:
        failures.append(f"{desktop}: Icon must be {app_id}")
    root = ET.parse(meta).getroot()
    if root.findtext("id") != app_id:
        failures.append(f"{meta}: <id> must be {app_id}")
    if root.findtext("launchable") != desktop.name:
        failures.append(f"{meta}: <launchable> must be {desktop.name}")

sys.path.insert(0, ".")
from app.selftest import CHECKS, EXPECTED_FILES  # light: no engine imports at module level

sample = Path("resources/sample")
files = [p for p in sample.iterdir() if p.is_file()] if sample.is_dir() else []
if len(files) != EXPECTED_FILES:
    failures.append(f"{sample} holds {len(files)} files; app/selftest.py expects {EXPECTED_FILES}")
for _query, expected in CHECKS:
    if not (sample / expected).is_file():
        failures.append(f"{sample}/{expected} is missing (the self-test expects it)")

for failure in failures:
    print(f"FAIL: {failure}")
if failures:
    sys.exit(1)
print("ok: spec and scripts parse, icons, ids, sample folder")
EOF

exit $status
