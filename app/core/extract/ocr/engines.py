"""Which OCR engine reads scans in the chosen languages: the bundled RapidOCR (English and
Chinese, offline from the first start), or Tesseract with the language packs the user installed;
and, when a language cannot be read yet, exactly what to install.

Languages are Tesseract's codes (deu, eng, rus, ell, jpn, chi_sim…); two-letter codes (de, ru)
are accepted too. Every chosen language must be readable for Tesseract to be used: otherwise the
bundled engine reads the scans, and ``EngineChoice.note`` says what is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

# Part of the cache key: a change in how pages are read makes old results stale.
BUNDLED_ENGINE = "rapidocr-onnxruntime/PP-OCRv4/300dpi/respaced/no-cls"
# What the bundled recognition model reads (its alphabet has no ö, ß, Cyrillic or kana).
BUNDLED_LANGUAGES = frozenset({"eng", "chi_sim"})
BUNDLED_WORDS = "English and Chinese"
# The Tesseract program to use; tests point it at a missing file to see Sift without it.
TESSERACT_ENV = "SIFT_TESSERACT"
# Installed languages are looked up again after this long: a pack installed while Sift runs is
# used without a restart.
LOOKUP_SECONDS = 60.0

_TWO_LETTER = {
    "ar": "ara", "bg": "bul", "cs": "ces", "da": "dan", "de": "deu", "el": "ell", "en": "eng",
    "es": "spa", "et": "est", "fa": "fas", "fi": "fin", "fr": "fra", "he": "heb", "hi": "hin",
    "hr": "hrv", "hu": "hun", "id": "ind", "it": "ita", "ja": "jpn", "ko": "kor", "lt": "lit",
    "lv": "lav", "nl": "nld", "no": "nor", "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus",
    "sk": "slk", "sl": "slv", "sr": "srp", "sv": "swe", "th": "tha", "tr": "tur", "uk": "ukr",
    "vi": "vie", "zh": "chi_sim",
}
_NAMES = {
    "ara": "Arabic", "bul": "Bulgarian", "ces": "Czech", "chi_sim": "Chinese",
    "chi_tra": "Chinese (traditional)", "dan": "Danish", "deu": "German", "ell": "Greek",
    "eng": "English", "est": "Estonian", "fas": "Persian", "fin": "Finnish", "fra": "French",
    "heb": "Hebrew", "hin": "Hindi", "hrv": "Croatian", "hun": "Hungarian", "ind": "Indonesian",
    "ita": "Italian", "jpn": "Japanese", "kor": "Korean", "lav": "Latvian", "lit": "Lithuanian",
    "nld": "Dutch", "nor": "Norwegian", "pol": "Polish", "por": "Portuguese", "ron": "Romanian",
    "rus": "Russian", "slk": "Slovak", "slv": "Slovenian", "spa": "Spanish", "srp": "Serbian",
    "swe": "Swedish", "tha": "Thai", "tur": "Turkish", "ukr": "Ukrainian", "vie": "Vietnamese",
}
_CODE = re.compile(r"^[a-z]{3}(_[a-z]+)?$")


@dataclass(frozen=True, slots=True)
class EngineChoice:
    """The engine that reads scans now, and what the user should know about the choice."""

    name: str                       # "rapidocr" or "tesseract"
    key: str                        # identifies the engine and languages in the OCR cache
    languages: tuple[str, ...] = () # Tesseract's codes, joined with "+" for it
    command: str = ""               # the Tesseract program
    note: str = ""                  # why the languages asked for are not used, and what to install

    @property
    def summary(self) -> str:
        """One line for `sift status` and the Settings dialog."""
        if self.name == "tesseract":
            return f"Tesseract ({describe(self.languages)})"
        return f"the bundled engine ({BUNDLED_WORDS})"


def normalize_languages(values: Iterable[str]) -> tuple[str, ...]:
    """Codes from what a user typed ("de, eng", "deu+rus"): lower case, two-letter codes
    mapped to Tesseract's, duplicates dropped, order kept (Tesseract prefers the first)."""
    codes: list[str] = []
    for value in values:
        for part in re.split(r"[\s,;+]+", str(value).strip().lower()):
            code = _TWO_LETTER.get(part, part)
            if code and code not in codes:
                codes.append(code)
    return tuple(codes)


def invalid_languages(languages: Iterable[str]) -> list[str]:
    """Entries that cannot be Tesseract language codes (a typo such as "german")."""
    return [code for code in languages if not _CODE.match(code)]


def describe(languages: Iterable[str]) -> str:
    return ", ".join(f"{_NAMES[c]} ({c})" if c in _NAMES else c for c in languages)


# ----------------------------------------------------------------- Tesseract on this machine


def find_tesseract() -> str | None:
    """The Tesseract program, or None when it is not installed."""
    configured = os.environ.get(TESSERACT_ENV)
    if configured:
        return configured if os.path.isfile(configured) else shutil.which(configured)
    found = shutil.which("tesseract")
    if found is None and sys.platform == "win32":  # the usual installer does not touch PATH
        for base in (os.environ.get("PROGRAMFILES", r"C:\Program Files"),
                     os.environ.get("LOCALAPPDATA", "")):
            candidate = os.path.join(base, "Tesseract-OCR", "tesseract.exe")
            if base and os.path.isfile(candidate):
                return candidate
    return found


_lookup_lock = threading.Lock()
_lookups: dict[str, tuple[float, str, frozenset[str]]] = {}


def tesseract_info(command: str) -> tuple[str, frozenset[str]]:
    """(version, installed languages) of a Tesseract program; ("", {}) if it does not run."""
    with _lookup_lock:
        cached = _lookups.get(command)
        if cached is not None and time.monotonic() - cached[0] < LOOKUP_SECONDS:
            return cached[1], cached[2]
    version, languages = "", frozenset[str]()
    try:
        out = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=20,
                             check=False)
        first = (out.stdout or out.stderr).strip().splitlines()
        version = first[0].strip() if first else ""
        out = subprocess.run([command, "--list-langs"], capture_output=True, text=True, timeout=20,
                             check=False)
        # The first line names the folder ("List of available languages in …"); codes follow.
        lines = (out.stdout or "").strip().splitlines()[1:]
        languages = frozenset(line.strip() for line in lines if line.strip())
    except (OSError, subprocess.SubprocessError):
        version, languages = "", frozenset()
    with _lookup_lock:
        _lookups[command] = (time.monotonic(), version, languages)
    return version, languages


def forget_lookups() -> None:
    """Look Tesseract up afresh at the next choice (after an install, or in tests)."""
    with _lookup_lock:
        _lookups.clear()


def install_hint(languages: Iterable[str], *, program: bool) -> str:
    """The command (or the steps) that installs Tesseract and/or these language packs here."""
    codes = list(languages)
    if sys.platform == "darwin":
        return "brew install tesseract tesseract-lang" if program else "brew install tesseract-lang"
    if sys.platform == "win32":
        return ("install Tesseract with the UB Mannheim installer and tick the languages "
                + ", ".join(codes))
    packages: list[str]
    if shutil.which("apt-get") or shutil.which("apt"):
        packages = ["tesseract-ocr"] if program else []
        packages += [f"tesseract-ocr-{c.replace('_', '-')}" for c in codes]
        return "sudo apt install " + " ".join(packages)
    if shutil.which("dnf"):
        packages = ["tesseract"] if program else []
        packages += [f"tesseract-langpack-{c}" for c in codes]
        return "sudo dnf install " + " ".join(packages)
    if shutil.which("pacman"):
        packages = ["tesseract"] if program else []
        packages += [f"tesseract-data-{c}" for c in codes]
        return "sudo pacman -S " + " ".join(packages)
    what = "Tesseract and its language data for " if program else "Tesseract's language data for "
    return "install " + what + ", ".join(codes) + " with your package manager"


# ----------------------------------------------------------------- the choice


def choose(languages: Iterable[str]) -> EngineChoice:
    """The engine for these languages on this machine now (see the module docstring)."""
    codes = normalize_languages(languages)
    bundled = EngineChoice("rapidocr", BUNDLED_ENGINE)
    if set(codes) <= BUNDLED_LANGUAGES:
        return bundled
    fallback = f"Until then scans are read by the bundled engine ({BUNDLED_WORDS})."
    wrong = invalid_languages(codes)
    if wrong:
        return EngineChoice("rapidocr", BUNDLED_ENGINE, note=(
            f"OCR language {', '.join(wrong)} is not a Tesseract language code (use codes such "
            f"as deu, fra, rus, ell, jpn). {fallback}"))
    command = find_tesseract()
    version, installed = tesseract_info(command) if command else ("", frozenset())
    if not command or not version:
        return EngineChoice("rapidocr", BUNDLED_ENGINE, note=(
            f"OCR in {describe(codes)} needs Tesseract, which is not installed: "
            f"{install_hint(codes, program=True)}. {fallback}"))
    missing = [c for c in codes if c not in installed]
    if missing:
        return EngineChoice("rapidocr", BUNDLED_ENGINE, note=(
            f"Tesseract has no language pack for {describe(missing)}: "
            f"{install_hint(missing, program=False)}. {fallback}"))
    return EngineChoice("tesseract", f"{version}/{'+'.join(codes)}/300dpi/psm3", codes, command)


# ----------------------------------------------------------------- worker side


def _die_with_parent() -> None:
    """In the Tesseract child (Linux): end when the OCR worker is killed for its time limit."""
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL


def tesseract_page(image: object, command: str, languages: tuple[str, ...], timeout: float) -> str:
    """The text of a page image (a PIL image) read by Tesseract; raises on failure or timeout."""
    import io

    buffer = io.BytesIO()
    # Grey is all Tesseract reads (it binarises); a third of the bytes to encode and pipe.
    image.convert("L").save(buffer, format="PNG")  # type: ignore[attr-defined]
    env = dict(os.environ)
    # Tesseract's own threads fight over a page on small machines; one page is one core's work.
    env.setdefault("OMP_THREAD_LIMIT", "1")
    done = subprocess.run(
        [command, "stdin", "stdout", "-l", "+".join(languages), "--psm", "3"],
        input=buffer.getvalue(), capture_output=True, timeout=timeout, env=env, check=False,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"Tesseract failed: {message[-1] if message else done.returncode}")
    return done.stdout.decode("utf-8", "replace")
