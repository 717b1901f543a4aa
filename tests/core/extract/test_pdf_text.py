"""PDF text as a reader sees it: ligatures, spacing and hyphens right, garbage text layers caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import SkipFile
from app.core.extract import extract, extract_file
from app.core.extract.garbage import garbage_reason
from tests.pdf_samples import make_broken_font_pdf, make_pdf, make_tex_like_pdf

PAPER = ("Let us explain the interactions for a simple read\n"
         "The eﬃcient oﬃce ﬁles data ﬁles ﬂow to the staﬀ. The varia-\n"
         "bles are stored")
PAPER_WORDS = ("Let us explain the interactions for a simple read The efficient office files data "
               "files flow to the staff. The variables are stored").split()
MINUTES = [f"Minutes of meeting {n}: the {topic} was discussed and approved by the committee"
           for n, topic in enumerate(["quarterly budget", "garden fence", "allotment lease",
                                      "water supply", "tool shed", "compost heap",
                                      "annual party", "membership fee"], start=1)]


@pytest.fixture(autouse=True)
def _in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.extract import pdf

    monkeypatch.setenv(pdf.INPROCESS_ENV, "1")


def test_a_tex_paper_reads_with_its_spaces_ligatures_and_words_whole(tmp_path: Path) -> None:
    # pypdf read this page as "Letusexplaintheinteractions…", "e/g14cient", "varia-\nbles".
    path = make_tex_like_pdf(tmp_path / "paper.pdf", [PAPER])
    [section] = extract(path)
    assert section.text.split() == PAPER_WORDS
    assert not any(c < " " and c not in "\n\t" for c in section.text)


@pytest.mark.parametrize("kind", ["controls", "cipher"])
def test_a_page_with_a_broken_font_goes_to_ocr_not_to_the_index(tmp_path: Path, kind: str) -> None:
    path = make_broken_font_pdf(tmp_path / "minutes.pdf",
                                ["Cover letter about the garden club", MINUTES, "Signed by the chair"],
                                kind)
    found = extract_file(path)
    assert [s.page for s in found.sections] == [1, 3]
    assert found.ocr_pages == (2,)
    assert found.notes == ["page 2: " + found.notes[0].split(": ", 1)[1]]
    assert "broken font encoding" in found.notes[0]


def test_with_ocr_off_a_broken_text_layer_is_skipped_with_the_reason(tmp_path: Path) -> None:
    path = make_broken_font_pdf(tmp_path / "minutes.pdf", [MINUTES, MINUTES[::-1]])
    with pytest.raises(SkipFile) as caught:
        extract(path, ocr=False, ocr_cache=tmp_path / "cache")
    assert caught.value.message.startswith("pages 1–2: its text layer is")
    assert caught.value.message.endswith("(a broken font encoding); OCR is turned off")
    # The good pages of a mixed file are still indexed; the broken one is left out.
    mixed = make_broken_font_pdf(tmp_path / "mixed.pdf", ["Cover letter about the garden club",
                                                          MINUTES])
    assert [s.page for s in extract(mixed, ocr=False, ocr_cache=tmp_path / "cache")] == [1]


def test_ocr_reads_the_page_that_the_broken_font_hides(tmp_path: Path) -> None:
    from app.core.extract.ocr import pages as ocr_module
    from app.core.extract.ocr.pages import missing_engine

    if missing_engine() is not None:
        pytest.skip("OCR engine not installed")
    path = make_broken_font_pdf(tmp_path / "minutes.pdf", [MINUTES[:4]])
    try:
        [section] = extract(path, ocr_wait=True, ocr_cache=tmp_path / "cache")
    finally:
        ocr_module.shutdown()
    assert section.page == 1
    letters = "".join(section.text.lower().split())
    assert "quarterlybudget" in letters and "gardenfence" in letters


@pytest.mark.parametrize("text", [
    "\n".join(MINUTES),
    # German and French prose, code, TeX macro lists, formulas, a table of numbers.
    "Die Kündigung des Mietvertrags muss schriftlich erfolgen. Größere Schäden an der Küche "
    "meldet der Mieter sofort. Le propriétaire répond dans les quinze jours ouvrés suivant la "
    "réception de la lettre recommandée, après vérification des éléments fournis.",
    "def getElementById(self, nodeId):\n    return self.nodesById[nodeId]  # O(1) lookup\n"
    "for (int i = 0; i < n; ++i) { total += xs[i] * weights[i]; }\n" * 3,
    "\\PgSpm ⇒ Σ± \\PgSmp ⇒ Σ∓ \\PgSm ⇒ Σ− \\PgSp ⇒ Σ+ \\PgSz ⇒ Σ0 \\PcgS ⇒ Σc \\PagSm "
    "\\CFL CFL basic \\HeurBPP HeurBPP basic \\coAM coAM basic \\NPcomplete NP-complete full",
    "x² + y² = r², ∫₀¹ f(x) dx ≤ ‖f‖∞, σ = √(Σ(xᵢ − μ)² / n)\n" * 4,
    "2021 4.512 3.998 7.105 12.440\n2022 4.730 4.104 7.266 13.020\n" * 6,
])
def test_real_text_is_not_taken_for_garbage(text: str) -> None:
    assert garbage_reason(text) is None


def test_a_pdf_with_a_good_text_layer_keeps_every_page(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "plain.pdf", ["\n".join(MINUTES), "Short page"])
    found = extract_file(path)
    assert [s.page for s in found.sections] == [1, 2]
    assert found.ocr_pages == () and found.notes == []
