"""Before the window starts on X11: missing system libraries are named, with the command to install."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.gui import system_libs


def test_missing_xcb_libraries_are_named_with_the_apt_command(monkeypatch: Any) -> None:
    monkeypatch.setattr(system_libs.sys, "platform", "linux")
    monkeypatch.setattr(system_libs, "xcb_plugin", lambda: Path("/qt/plugins/platforms/libqxcb.so"))
    found = lambda _plugin: ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]  # noqa: E731
    text = system_libs.check_window_libraries([], found, env={"DISPLAY": ":0"})
    assert text is not None
    assert "libxcb-cursor.so.0" in text
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4" in text
    # Another platform (offscreen, Wayland) does not need them; nothing missing, nothing said.
    assert system_libs.check_window_libraries([], found, env={"QT_QPA_PLATFORM": "offscreen"}) is None
    assert system_libs.check_window_libraries(
        [], found, env={"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}) is None
    assert system_libs.check_window_libraries(["-platform", "xcb"], lambda _p: [], env={}) is None


def test_ldd_output_is_read_for_libraries_not_found(monkeypatch: Any, tmp_path: Path) -> None:
    ldd = tmp_path / "ldd"
    ldd.write_text("#!/bin/sh\necho '\tlibxcb-cursor.so.0 => not found'\n"
                   "echo '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x0001)'\n", encoding="utf-8")
    ldd.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert system_libs.missing_with_ldd(tmp_path / "libqxcb.so") == ["libxcb-cursor.so.0"]


def test_sift_says_what_to_install_instead_of_starting(monkeypatch: Any, capsys: Any) -> None:
    import app.main

    monkeypatch.setattr(system_libs, "check_window_libraries", lambda _argv: "Install: sudo apt install x")
    assert app.main.gui_main([]) == 1
    assert "sudo apt install x" in capsys.readouterr().err


@pytest.mark.skipif(not system_libs.sys.platform.startswith("linux"), reason="Linux only")
def test_the_real_plugin_is_found_and_checked() -> None:
    plugin = system_libs.xcb_plugin()
    assert plugin is not None and plugin.name == "libqxcb.so"
    missing = system_libs.missing_with_ldd(plugin)
    assert missing is None or isinstance(missing, list)  # None: no ldd on this system
