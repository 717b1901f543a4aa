"""Packaging: desktop metadata, icons, the install scripts and the self-test (no bundle is built)."""

from __future__ import annotations

import ast
import os
import shutil
import socket
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from configparser import ConfigParser
from pathlib import Path

import pytest

from app import APP_ID, APP_NAME

ROOT = Path(__file__).resolve().parent.parent
LINUX = ROOT / "resources" / "linux"
ICONS = ROOT / "resources" / "icons"
SIZES = (16, 32, 48, 64, 128, 256, 512)
posix_only = pytest.mark.skipif(sys.platform == "win32" or shutil.which("sh") is None,
                                reason="POSIX shell scripts")


def desktop_entry(path: Path) -> dict[str, str]:
    parser = ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def test_desktop_file_has_the_required_keys() -> None:
    entry = desktop_entry(LINUX / f"{APP_ID}.desktop")
    assert entry["Type"] == "Application"
    assert entry["Name"] == APP_NAME
    assert entry["Exec"]
    assert entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"
    categories = entry["Categories"]
    assert categories.endswith(";") and "Utility" in categories.split(";")
    assert entry.get("StartupWMClass") == APP_NAME


def test_metainfo_describes_the_app() -> None:
    root = ET.parse(LINUX / f"{APP_ID}.metainfo.xml").getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("name") == APP_NAME
    assert root.findtext("summary")
    description = root.find("description")
    assert description is not None and description.find("p") is not None
    launchable = root.find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert launchable.text == f"{APP_ID}.desktop"
    rating = root.find("content_rating")
    assert rating is not None and rating.get("type", "").startswith("oars-")
    assert root.findtext("metadata_license") and root.findtext("project_license")
    releases = root.find("releases")
    from app import __version__

    assert releases is not None and releases[0].get("version") == __version__


def test_icons_exist_in_every_size() -> None:
    ET.parse(ICONS / "sift.svg")
    for size in SIZES:
        data = (ICONS / f"sift-{size}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (size, size)


def test_windows_and_macos_icons_are_made_from_the_pngs(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        import make_icons
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    ico, icns = make_icons.make_containers(tmp_path)
    with image.open(ico) as im:
        assert {(16, 16), (32, 32), (256, 256)} <= set(im.info["sizes"])
    with image.open(icns) as im:
        assert im.format == "ICNS"


def test_spec_and_build_scripts_parse() -> None:
    for name in ("sift.spec", "build.py", "make_icons.py", "entry.py"):
        ast.parse((ROOT / "packaging" / name).read_text(encoding="utf-8"), filename=name)


def spec_parts(*names: str) -> dict[str, object]:
    """The named top-level definitions of packaging/sift.spec, run on their own (the spec as a
    whole needs PyInstaller's build environment)."""
    tree = ast.parse((ROOT / "packaging" / "sift.spec").read_text(encoding="utf-8"))

    def wanted(node: ast.stmt) -> bool:
        if isinstance(node, ast.FunctionDef):
            return node.name in names
        return isinstance(node, ast.Assign) and any(getattr(t, "id", None) in names
                                                    for t in node.targets)

    namespace: dict[str, object] = {"Path": Path}
    module = ast.Module(body=[node for node in tree.body if wanted(node)], type_ignores=[])
    exec(compile(module, "sift.spec", "exec"), namespace)
    return namespace


def spec_excludes() -> list[str]:
    """The module names the spec's ``excludes`` list spells out (not the computed ones)."""
    tree = ast.parse((ROOT / "packaging" / "sift.spec").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "excludes":
            assert isinstance(node.value, ast.List)
            return [e.value for e in node.value.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    raise AssertionError("sift.spec has no excludes list")


def test_bundle_carries_what_openvino_loads_by_itself_and_no_other_device() -> None:
    """OpenVINO opens its CPU plugin and model readers with dlopen: the spec must name them,
    or the bundle's OpenVINO knows no CPU and the fast int8 backend never runs."""
    pytest.importorskip("openvino")
    import importlib.util

    def package_dir(name: str) -> Path:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.submodule_search_locations
        return Path(next(iter(spec.submodule_search_locations)))

    parts = spec_parts("OPENVINO_RUNTIME_LIBS", "openvino_runtime_binaries")
    parts["package_dir"] = package_dir
    collected = parts["openvino_runtime_binaries"]()  # type: ignore[operator]
    names = [Path(src).name for src, dest in collected]
    assert {dest for _src, dest in collected} == {"openvino/libs"}  # beside libopenvino
    for needed in ("intel_cpu_plugin", "onnx_frontend", "ir_frontend", "tbbbind", "tbbmalloc"):
        assert any(needed in name for name in names), (needed, names)
    for unused in ("gpu", "npu", "auto", "hetero", "tensorflow", "paddle", "pytorch", "jax",
                   "gguf", "proxy", "cache.json"):
        assert not any(unused in name for name in names), (unused, names)


def test_bundle_leaves_out_openvinos_usage_reporting(tmp_path: Path) -> None:
    """With the modules the spec leaves out unimportable, as in the bundle, OpenVINO and NNCF
    still load and run on the CPU, and write nothing to the home folder (a client id under
    ~/intel and an event sent to Google Analytics at every `import openvino` otherwise)."""
    pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    left_out = [name for name in spec_excludes() if name.startswith(("openvino", "nncf"))]
    assert "openvino_telemetry" in left_out
    home = tmp_path / "home"
    home.mkdir()
    script = f"""
import importlib.abc, sys
LEFT_OUT = {left_out!r}
class Bundle(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == m or name.startswith(m + ".") for m in LEFT_OUT):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Bundle())
import openvino as ov
import nncf
print("CPU" in ov.Core().available_devices)
"""
    env = {**os.environ, "HOME": str(home), "USERPROFILE": str(home)}
    for name in ("ORT_DISABLE_TELEMETRY", "HF_HUB_DISABLE_TELEMETRY", "DO_NOT_TRACK"):
        env.pop(name, None)  # the spec alone must keep reporting out, not the app's switches
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-1] == "True"
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == []


def test_build_fails_when_the_bundle_left_usage_reporting_traces(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        import build
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    env = {"HOME": str(tmp_path)}
    build.check_nothing_reported(env, "the self-test")  # an empty home: fine
    (tmp_path / "intel").mkdir()
    (tmp_path / "intel" / "openvino_ga_cid").write_text("x")
    with pytest.raises(SystemExit):
        build.check_nothing_reported(env, "the self-test")


def test_sample_folder_matches_the_self_test() -> None:
    from app.selftest import CHECKS, EXPECTED_FILES, sample_folder

    sample = sample_folder()
    assert sample == ROOT / "resources" / "sample"
    assert len([p for p in sample.iterdir() if p.is_file()]) == EXPECTED_FILES
    for _query, expected in CHECKS:
        assert (sample / expected).is_file()
    assert "canine" in (sample / "dog-food.md").read_text(encoding="utf-8").lower()


def test_network_guard_blocks_internet_but_not_local_pipes() -> None:
    from app.selftest import SelfTestFailure, no_network

    with no_network():
        with pytest.raises(SelfTestFailure, match="network"):
            socket.create_connection(("127.0.0.1", 9), timeout=1)
        a, b = socket.socketpair()  # what multiprocessing pipes use
        a.sendall(b"x")
        assert b.recv(1) == b"x"
        a.close()
        b.close()
    with pytest.raises(OSError):  # restored: a refused connection, not the guard
        socket.create_connection(("127.0.0.1", 9), timeout=1).close()


def test_self_test_reports_a_missing_sample_folder(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    from app import selftest

    monkeypatch.setattr(selftest, "sample_folder", lambda: tmp_path / "nowhere")
    lines: list[str] = []
    assert selftest.run_self_test(lines.append) == 1
    assert "FAILED" in lines[-1] and "sample folder is missing" in lines[-1]


@pytest.mark.real_model
@pytest.mark.slow
def test_python_m_app_self_test_passes_offline() -> None:
    """The real default model, offline: the dog-food file must come first for 'canine nutrition'."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "app", "--self-test"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    canine = next(line for line in lines if '"canine nutrition"' in line)
    assert "-> dog-food.md," in canine and canine.rstrip().endswith("ok")
    pdf = next(line for line in lines if "lighthouses" in line)
    assert "-> lighthouses.pdf" in pdf
    assert lines[-1].startswith("Self-test passed")


# -- the Linux install scripts, on a stand-in bundle ------------------------------------------
def fake_bundle(tmp_path: Path) -> Path:
    bundle = tmp_path / "dist" / "Sift"
    (bundle / "_internal").mkdir(parents=True)
    exe = bundle / "Sift"
    exe.write_text("#!/bin/sh\necho sift-bundle\n", encoding="utf-8")
    exe.chmod(0o755)
    return bundle


def run_script(name: str, home: Path, *args: str, data: Path | None = None
               ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "XDG_DATA_HOME"}
    env["HOME"] = str(home)
    if data is not None:
        env["XDG_DATA_HOME"] = str(data)
    return subprocess.run(["sh", str(ROOT / "packaging" / "linux" / name), *args], env=env,
                          capture_output=True, text=True, timeout=120)


@posix_only
def test_install_and_uninstall_for_the_user(tmp_path: Path) -> None:
    bundle = fake_bundle(tmp_path)
    home = tmp_path / "home"
    (home / ".local" / "bin").mkdir(parents=True)
    share = home / ".local" / "share"
    proc = run_script("install.sh", home, str(bundle))
    assert proc.returncode == 0, proc.stderr
    dest = share / "sift"
    assert subprocess.run([str(dest / "Sift")], capture_output=True, text=True).stdout.strip() == \
        "sift-bundle"
    entry = desktop_entry(share / "applications" / f"{APP_ID}.desktop")
    assert entry["Exec"] == f'"{dest / "Sift"}"'
    assert entry["Icon"] == APP_ID
    for size in SIZES:
        assert (share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").is_file()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert os.readlink(home / ".local" / "bin" / "sift") == str(dest / "Sift")

    assert run_script("install.sh", home, str(bundle)).returncode == 0  # reinstall replaces
    proc = run_script("uninstall.sh", home)
    assert proc.returncode == 0, proc.stderr
    assert not dest.exists()
    assert not (home / ".local" / "bin" / "sift").exists()
    leftovers = [p for p in share.rglob("*") if p.is_file() and APP_ID in p.name]
    assert leftovers == []


@posix_only
def test_install_quotes_an_unusual_data_folder(tmp_path: Path) -> None:
    bundle = fake_bundle(tmp_path)
    data = tmp_path / "my data"
    assert run_script("install.sh", tmp_path / "home", str(bundle), data=data).returncode == 0
    entry = desktop_entry(data / "applications" / f"{APP_ID}.desktop")
    assert entry["Exec"] == f'"{data / "sift" / "Sift"}"'
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", str(data / "applications" / f"{APP_ID}.desktop")],
                       check=True)
    assert run_script("uninstall.sh", tmp_path / "home", data=data).returncode == 0
    assert not (data / "sift").exists()


@posix_only
def test_install_never_replaces_a_folder_it_did_not_make(tmp_path: Path) -> None:
    bundle = fake_bundle(tmp_path)
    home = tmp_path / "home"
    mine = home / ".local" / "share" / "sift"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("keep me", encoding="utf-8")
    proc = run_script("install.sh", home, str(bundle))
    assert proc.returncode != 0 and "was not made by this script" in proc.stderr
    run_script("uninstall.sh", home)
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "keep me"
