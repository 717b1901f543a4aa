"""The Settings dialog's Scans tab: OCR on or off, the languages, and what reads them."""

from __future__ import annotations

from typing import Any

import pytest


def test_scans_tab_names_the_engine_and_what_to_install(
        qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.extract.ocr.engines import TESSERACT_ENV, forget_lookups
    from app.core.settings import Settings
    from app.gui.settings_dialog import SettingsDialog, describe_changes

    monkeypatch.setenv(TESSERACT_ENV, "/no/such/tesseract")
    forget_lookups()
    old = Settings(ocr_languages=("deu",))
    dialog = SettingsDialog(old)
    qtbot.addWidget(dialog)
    assert dialog.ocr_languages.text() == "deu"
    shown = dialog.ocr_engine.text()
    assert "German (deu) needs Tesseract, which is not installed" in shown
    assert "read by the bundled engine" in shown

    dialog.ocr_languages.setText("en, zh")
    assert dialog.ocr_engine.text() == "Scans are read by the bundled engine (English and Chinese)."
    assert dialog.chosen().ocr_languages == ("eng", "chi_sim")

    dialog.ocr_languages.setText("de, ru")
    dialog.ocr.setChecked(False)
    assert not dialog.ocr_languages.isEnabled()
    assert dialog.ocr_engine.text() == "Scans are found by their names only."
    new = dialog.chosen()
    assert (new.ocr, new.ocr_languages) == (False, ("deu", "rus"))
    assert describe_changes(old, new)["reindex"]  # scans are read again (or no longer) at once
    assert not describe_changes(old, old)["reindex"]
