"""Build the double-clickable Sift for this computer's OS, then check that it works.

Usage, from a fresh clone (Python 3.11+ on the PATH):

    python3 packaging/build.py              # or: packaging/build.sh
    python3 packaging/build.py --help       # options: --no-install, --no-smoke, --no-backends,
                                            #   --no-window, --clean

It
  1. creates .venv if missing and installs Sift with the `packaging` extra into it, always with
     `-c constraints.txt` so torch stays the CPU build 2.13.0. On Linux, PyPI's torch is the
     CUDA build: where pip's configuration does not already point at CPU wheels, set
     SIFT_TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu (the build refuses CUDA torch);
  2. makes sift.ico and sift.icns from resources/icons (packaging/make_icons.py);
  3. runs PyInstaller on packaging/sift.spec → dist/Sift/ (and dist/Sift.app on macOS);
  4. runs the bundle's own check, `Sift --self-test` (index the shipped sample folder offline,
     search it); runs every encoder backend the bundle carries (`Sift bench --json`: the
     OpenVINO and ONNX Runtime ones must all run, float32 and int8) and prints their speed and
     the one Sift chose; and, on Linux with Xvfb and xdotool, starts the window on a private X
     display, waits for it to appear, and closes it; elsewhere it checks that the app is still
     running after a few seconds. Each starts with an empty home folder and fails if a library's
     usage reporting left its traces there (~/intel, ~/.cache/Microsoft);
  5. prints the bundle's size and its largest parts.

Exit status 0 when the bundle was built and every check passed.
Linux desktop integration afterwards: packaging/linux/install.sh.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
BUILD = ROOT / "build"
WINDOWS = sys.platform == "win32"
MACOS = sys.platform == "darwin"
LINUX = sys.platform.startswith("linux")
TORCH = "torch==2.13.0"
WINDOW_DEADLINE_S = 90.0
# Passages `Sift bench` encodes with each backend: enough to see every backend run, few enough
# for a build (the choice of a backend on first use is measured as well).
BENCH_CHUNKS = 32
# The backends whose runtimes the bundle carries besides torch (app/core/encoders/backends/choice.py):
# each must run from the bundle. torch bfloat16 depends on the CPU, so it is not required.
BUNDLED_BACKENDS = ("onnx", "onnx-int8", "openvino", "openvino-int8")
# What libraries' usage reporting leaves in a home folder (app/core/host/privacy.py): ONNX Runtime's
# device id and OpenVINO's client id and counters (openvino_telemetry, used by OpenVINO's
# converter and by NNCF). Sift promises that nothing leaves the machine.
USAGE_TRACES = ("intel", ".cache/Microsoft", ".config/Microsoft", ".local/share/Microsoft",
                "AppData/Local/Microsoft/ONNXRuntime", "AppData/Roaming/Intel Corporation")


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def fail(text: str) -> None:
    print(f"\nbuild: {text}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    print("   $", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if WINDOWS else "bin/python")


# -- 1. environment ---------------------------------------------------------------------------
def ensure_venv(venv: Path, install: bool) -> Path:
    py = venv_python(venv)
    if not py.exists():
        if sys.version_info < (3, 11):  # noqa: UP036  (build.py may run on an older python3)
            fail(f"Python 3.11 or newer is needed to create {venv} (this is {sys.version.split()[0]}).")
        step(f"creating {venv}")
        run([sys.executable, "-m", "venv", venv])
        install = True
    if install:
        step("installing Sift and PyInstaller into the virtual environment")
        pip = [py, "-m", "pip", "install", "-q", "-c", ROOT / "constraints.txt"]
        index = os.environ.get("SIFT_TORCH_INDEX_URL")
        # The CPU build of torch first, so that nothing installed afterwards swaps it.
        run(pip + ([TORCH, "--extra-index-url", index] if index else [TORCH]))
        run([*pip, "-e", f"{ROOT}[packaging]"])
    check = subprocess.run(
        [py, "-c", "import torch, PyInstaller, PIL; print(torch.__version__, torch.version.cuda)"],
        capture_output=True, text=True)
    if check.returncode != 0:
        fail(f"the build environment is incomplete (run without --no-install):\n{check.stderr}")
    version, cuda = check.stdout.split()
    print(f"   torch {version} (CUDA: {cuda})")
    if cuda != "None":
        fail(f"torch {version} is a CUDA build; the app would carry gigabytes of CUDA libraries. "
             "Install the CPU build: SIFT_TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu "
             f"python3 packaging/build.py (after `{py} -m pip uninstall -y torch`).")
    return py


# -- 2 and 3. icons and bundle ----------------------------------------------------------------
def build_bundle(py: Path, clean: bool) -> None:
    step("making the Windows and macOS icons")
    icon_dir = BUILD / "icons"
    run([py, ROOT / "packaging" / "make_icons.py", icon_dir])
    step("running PyInstaller (several minutes)")
    cmd = [py, "-m", "PyInstaller", ROOT / "packaging" / "sift.spec", "--noconfirm",
           "--log-level", "WARN", "--distpath", DIST, "--workpath", BUILD / "pyinstaller"]
    if clean:
        cmd.append("--clean")
    started = time.perf_counter()
    run(cmd, cwd=ROOT, env={**os.environ, "SIFT_ICON_DIR": str(icon_dir)})
    print(f"   built in {time.perf_counter() - started:.0f} s")


def bundle_dir() -> Path:
    return DIST / "Sift"


def executable(cli: bool = False) -> Path:
    if WINDOWS:
        return bundle_dir() / ("sift-cli.exe" if cli else "Sift.exe")
    if MACOS and (DIST / "Sift.app").is_dir():
        return DIST / "Sift.app" / "Contents" / "MacOS" / "Sift"
    return bundle_dir() / "Sift"


# -- 4. checks --------------------------------------------------------------------------------
def fresh_home(tmp: Path) -> dict[str, str]:
    """An environment where the app sees an empty home: a true first launch."""
    home = tmp / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "USERPROFILE": str(home),
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
           "XDG_CACHE_HOME": str(home / ".cache"), "HF_HUB_OFFLINE": "1"}
    env.pop("SIFT_DATA_DIR", None)
    if WINDOWS:
        env["APPDATA"] = str(home / "AppData" / "Roaming")
        env["LOCALAPPDATA"] = str(home / "AppData" / "Local")
    return env


def check_nothing_reported(env: dict[str, str], what: str) -> None:
    """Fail if a library's usage reporting wrote to the empty home ``env`` gave ``what``."""
    home = Path(env["HOME"])
    traces = [name for name in USAGE_TRACES if (home / name).exists()]
    if traces:
        fail(f"{what} left usage-reporting traces in its empty home folder: "
             + ", ".join(f"~/{name}" for name in traces)
             + " (a library's telemetry is in the bundle; see packaging/sift.spec).")


def self_test() -> float:
    step("self-test of the bundle: Sift --self-test")
    with tempfile.TemporaryDirectory(prefix="sift-build-") as tmp:
        env = fresh_home(Path(tmp))
        started = time.perf_counter()
        proc = subprocess.run([executable(cli=True), "--self-test"], env=env, timeout=600)
        seconds = time.perf_counter() - started
        if proc.returncode == 0:
            check_nothing_reported(env, "the self-test")
    if proc.returncode != 0:
        fail(f"the bundle's self-test failed (exit status {proc.returncode}).")
    print(f"   self-test passed: {seconds:.1f} s including start-up")
    return seconds


def backends_check() -> float:
    """Every encoder backend the bundle carries runs from it; the seconds the bench took."""
    step(f"the bundle's encoder backends: Sift bench --json --chunks {BENCH_CHUNKS}")
    with tempfile.TemporaryDirectory(prefix="sift-build-") as tmp:
        env = fresh_home(Path(tmp))
        started = time.perf_counter()
        proc = subprocess.run([executable(cli=True), "--data-dir", Path(tmp) / "data", "bench",
                               "--json", "--chunks", str(BENCH_CHUNKS)],
                              env=env, capture_output=True, text=True, timeout=1200)
        seconds = time.perf_counter() - started
        if proc.returncode == 0:
            check_nothing_reported(env, "`Sift bench`")
    if proc.returncode != 0:
        fail(f"`Sift bench` failed (exit status {proc.returncode}):\n{proc.stderr[-3000:]}")
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        fail(f"`Sift bench --json` printed no JSON:\n{proc.stdout[-2000:]}")
    failed = []
    for row in result.get("backends") or []:
        if row["available"]:
            mark = "  <- chosen" if row["chosen"] else ""
            print(f"   {row['name']:<28} {row['chunks_per_s']:8.1f} passages/s  "
                  f"mean cosine {row['mean_cos']:.4f}{mark}")
        else:
            print(f"   {row['name']:<28} {row['note']}")
            if row["name"] in BUNDLED_BACKENDS:
                failed.append(f"{row['name']}: {row['note']}")
    print(f"   chosen: {result.get('chosen')} ({result.get('chosen_reason')}); "
          f"{seconds:.0f} s in all")
    if failed:
        fail("the bundle cannot run backends it carries (a library or plugin is missing from "
             "packaging/sift.spec):\n  " + "\n  ".join(failed))
    return seconds


def _find_window(env: dict[str, str]) -> str | None:
    if shutil.which("xdotool"):
        out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "Sift"], env=env,
                             capture_output=True, text=True).stdout.split()
        return out[0] if out else None
    tree = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True,
                          text=True).stdout
    for line in tree.splitlines():
        if '"Sift' in line and "Selection Owner" not in line:
            return line.split()[0]
    return None


def _stop(proc: subprocess.Popen, env: dict[str, str], window: str | None) -> str:  # type: ignore[type-arg]
    """Close the app as a user would (Ctrl+Q), else terminate it; says which worked."""
    if window and shutil.which("xdotool"):
        subprocess.run(["xdotool", "windowfocus", window], env=env, capture_output=True)
        subprocess.run(["xdotool", "key", "ctrl+q"], env=env, capture_output=True)
        try:
            return f"closed with Ctrl+Q (exit status {proc.wait(timeout=15)})"
        except subprocess.TimeoutExpired:
            pass
    proc.terminate()
    try:
        return f"did not quit on Ctrl+Q; terminated (exit status {proc.wait(timeout=15)})"
    except subprocess.TimeoutExpired:
        proc.kill()
        return f"did not stop on SIGTERM; killed (exit status {proc.wait()})"


def _start_xvfb() -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    for number in range(90, 140):
        if Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
            continue
        xvfb = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x800x24",
                                 "-nolisten", "tcp"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        for _ in range(50):
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                return xvfb, f":{number}"
            if xvfb.poll() is not None:
                break
            time.sleep(0.1)
        xvfb.kill()
        xvfb.wait()
    fail("could not start Xvfb")
    raise AssertionError  # unreachable


def window_check() -> float | None:
    """Start the window with an empty home; the seconds until it showed, or None if not checked."""
    can_watch = LINUX and (shutil.which("xdotool") or shutil.which("xwininfo"))
    if can_watch and not shutil.which("Xvfb"):
        print("   (no Xvfb: install xvfb to check the window; skipped)")
        return None
    step("starting the window from the bundle" + (" under Xvfb" if can_watch else ""))
    with tempfile.TemporaryDirectory(prefix="sift-build-") as tmp:
        env = fresh_home(Path(tmp))
        log = Path(tmp) / "app.log"
        xvfb = None
        if can_watch:
            xvfb, display = _start_xvfb()
            env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
            env.pop("WAYLAND_DISPLAY", None)
        try:
            with open(log, "wb") as out:
                started = time.perf_counter()
                proc = subprocess.Popen([executable()], env=env, stdout=out,
                                        stderr=subprocess.STDOUT)
                shown = None
                window = None
                deadline = started + (WINDOW_DEADLINE_S if can_watch else 15.0)
                while time.perf_counter() < deadline and proc.poll() is None:
                    if can_watch:
                        window = _find_window(env)
                        if window:
                            shown = time.perf_counter() - started
                            break
                    time.sleep(0.2)
                alive = proc.poll() is None
                how = _stop(proc, env, window) if alive else f"exit status {proc.returncode}"
        finally:
            if xvfb is not None:
                xvfb.terminate()
                xvfb.wait()
        output = log.read_text(errors="replace").strip()
        check_nothing_reported(env, "the window")
    if can_watch and shown is None:
        fail(f"the window did not appear within {WINDOW_DEADLINE_S:.0f} s ({how}). "
             f"The app said:\n{output[-3000:]}")
    if not can_watch and not alive:
        fail(f"the app stopped by itself ({how}). It said:\n{output[-3000:]}")
    if shown is not None:
        print(f"   the window appeared {shown:.1f} s after launch; {how}")
    else:
        print(f"   the app was still running after 15 s; {how}")
    if output:
        print("   the app printed:\n     " + "\n     ".join(output.splitlines()[-15:]))
    return shown


# -- 5. size ----------------------------------------------------------------------------------
def tree_size(path: Path) -> int:
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(tree_size(p) for p in path.iterdir())


def report_size() -> None:
    step("bundle size")
    root = bundle_dir()
    total = tree_size(root)
    print(f"   {root}: {total / 2**20:.0f} MiB")
    internal = root / "_internal"
    parts = sorted(((tree_size(p), p.name) for p in internal.iterdir()), reverse=True)
    for size, name in parts[:12]:
        print(f"   {size / 2**20:8.1f} MiB  _internal/{name}")
    cuda = [p for p in root.rglob("*")
            if p.is_file() and p.name.lower().startswith(("libcu", "libnv", "cudnn", "cublas",
                                                          "nvrtc", "libtorch_cuda"))
            and (".so" in p.name or p.suffix.lower() in (".dll", ".dylib"))]
    if cuda:
        fail("CUDA libraries in the bundle: " + ", ".join(str(p) for p in cuda[:10]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Sift app bundle for this OS.")
    parser.add_argument("--venv", default=str(ROOT / ".venv"), help="virtual environment to use")
    parser.add_argument("--no-install", action="store_true",
                        help="use the virtual environment as it is")
    parser.add_argument("--no-build", action="store_true", help="only check an existing bundle")
    parser.add_argument("--no-smoke", action="store_true", help="skip every check of the bundle")
    parser.add_argument("--no-backends", action="store_true",
                        help="skip running each encoder backend from the bundle (`Sift bench`)")
    parser.add_argument("--no-window", action="store_true", help="skip starting the window")
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    if not args.no_build:
        py = ensure_venv(Path(args.venv).resolve(), install=not args.no_install)
        build_bundle(py, args.clean)
    if not executable().exists():
        fail(f"no bundle at {executable()}")
    timings = {}
    if not args.no_smoke:
        timings["self-test"] = self_test()
        if not args.no_backends:
            timings["backends (bench)"] = backends_check()
        if not args.no_window:
            timings["window"] = window_check()
    report_size()
    step(f"done in {time.perf_counter() - started:.0f} s: {executable()}")
    for name, value in timings.items():
        if value is not None:
            print(f"   {name}: {value:.1f} s")
    if LINUX:
        print("   install for this user: packaging/linux/install.sh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
