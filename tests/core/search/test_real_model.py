"""The real default model, shipped offline: meaning beyond shared words."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.encoders.models import offline_default_model, resolve_model
from app.core.settings import DEFAULT_MODEL, Settings

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def real_library(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from app.core.host.paths import resolve_paths
    from app.core.library import Library

    root = tmp_path_factory.mktemp("real")
    docs = root / "notes"
    docs.mkdir()
    (docs / "pets.md").write_text(
        "# Feeding Rex\n\nHe gets a bowl of kibble in the morning and some chicken and rice in "
        "the evening. The vet said to cut down on treats.", encoding="utf-8")
    (docs / "car.txt").write_text(
        "The mechanic replaced the brake pads and rotated the tyres before winter.",
        encoding="utf-8")
    (docs / "taxes.txt").write_text(
        "Remember to file the quarterly VAT return and keep the receipts for the accountant.",
        encoding="utf-8")
    (docs / "garden.txt").write_text(
        "Tomatoes need full sun, deep watering twice a week and stakes once they flower.",
        encoding="utf-8")
    lib = Library(resolve_paths(root / "data"), Settings(rerank=False))
    lib.index([str(docs)])
    yield lib, docs
    lib.close()


def test_offline_copy_is_found_and_verified() -> None:
    folder = offline_default_model()
    assert folder is not None and (folder / "model.safetensors").is_file()
    source = resolve_model(DEFAULT_MODEL)
    assert source.local and Path(source.location) == folder


def test_canine_nutrition_finds_the_note_about_dog_food(real_library) -> None:  # type: ignore[no-untyped-def]
    lib, docs = real_library
    resp = lib.search("canine nutrition")
    assert resp.hits[0].path == str(docs / "pets.md")
    assert not resp.weak


def test_meaning_without_shared_words(real_library) -> None:  # type: ignore[no-untyped-def]
    lib, docs = real_library
    assert lib.search("automobile maintenance").hits[0].path == str(docs / "car.txt")
    assert lib.search("tax paperwork").hits[0].path == str(docs / "taxes.txt")


def test_nonsense_query_is_reported_as_no_good_match(real_library) -> None:  # type: ignore[no-untyped-def]
    lib, _ = real_library
    assert lib.search("quantum chromodynamics lattice gauge").weak


@pytest.mark.parametrize("query", ["xqzvw blorptang fnordlex",
                                   "who won the football world cup in 1998",
                                   "quantum chromodynamics lattice simulation"])
def test_gibberish_and_off_topic_questions_get_no_good_match(real_library, query: str) -> None:  # type: ignore[no-untyped-def]
    lib, _ = real_library
    resp = lib.search(query)
    assert resp.weak
    assert all(h.score < 0.5 for h in resp.hits)


def test_a_match_by_meaning_alone_is_not_called_weak(real_library) -> None:  # type: ignore[no-untyped-def]
    lib, docs = real_library
    resp = lib.search("automobile maintenance")
    assert resp.hits[0].path == str(docs / "car.txt") and not resp.weak


def test_a_rare_name_finds_the_one_file_that_holds_it(tmp_path: Path) -> None:
    """A name in one file among many on the same subject: its words, not the meaning of a
    surname (which the model barely has), must put that file first."""
    from app.core.host.paths import resolve_paths
    from app.core.library import Library

    docs = tmp_path / "invoices"
    docs.mkdir()
    trades = ("electrician", "roofer", "painter", "gardener", "locksmith", "glazier")
    for i in range(30):
        (docs / f"invoice-{i:02d}.txt").write_text(
            f"Invoice {i} from the {trades[i % len(trades)]} for work in the flat, due in 30 days. "
            "Payment by bank transfer.", encoding="utf-8")
    (docs / "2024-03 scan.txt").write_text(
        "Rechnung Müller Sanitär: replaced the valve under the kitchen sink, two hours.",
        encoding="utf-8")
    lib = Library(resolve_paths(tmp_path / "data"), Settings(rerank=False))
    try:
        lib.index([str(docs)])
        for query in ("Müller", "the invoice from Müller"):
            assert lib.search(query).hits[0].path == str(docs / "2024-03 scan.txt"), query
    finally:
        lib.close()
