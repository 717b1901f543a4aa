"""The command line as a user or a script drives it: index, search --json, status, eval."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from app.cli import run_cli


def _run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = run_cli(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_index_then_search_json(capsys, data_dir: Path, docs: Path) -> None:
    code, out, _ = _run(capsys, "--data-dir", str(data_dir), "index", str(docs))
    assert code == 0 and "4 added" in out
    code, out, _ = _run(capsys, "--data-dir", str(data_dir), "search", "--json", "landlord",
                        "deposit")
    assert code == 0
    data = json.loads(out)
    assert data["query"] == "landlord deposit" and data["reranked"] is False
    top = data["results"][0]
    assert top["path"] == str(docs / "lease.txt")
    passage = top["passages"][0]
    assert set(passage) == {"text", "page", "line", "location", "highlights"}
    assert passage["location"] is None  # a text file: its line says where
    assert passage["line"] == 1 and passage["page"] is None
    a, b, kind = passage["highlights"][0]
    assert passage["text"][a:b].lower() in {"landlord", "deposit"} and kind == "word"


def test_search_narrowing_options(capsys, data_dir: Path, docs: Path) -> None:
    _run(capsys, "--data-dir", str(data_dir), "index", str(docs))
    _, out, _ = _run(capsys, "--data-dir", str(data_dir), "search", "--json", "--type", "py",
                     "alpha")
    assert [r["path"] for r in json.loads(out)["results"]] == [str(docs / "code.py")]
    _, out, _ = _run(capsys, "--data-dir", str(data_dir), "search", "--json", "--folder",
                     str(docs / "sub"), "river")
    assert [r["path"] for r in json.loads(out)["results"]] == [str(docs / "sub" / "river.txt")]
    _, out, _ = _run(capsys, "--data-dir", str(data_dir), "search", "--json", "--limit", "1",
                     "the")
    assert len(json.loads(out)["results"]) == 1


def test_status_lists_folders_counts_and_skipped(capsys, data_dir: Path, docs: Path) -> None:
    (docs / "empty.txt").write_bytes(b"")
    _run(capsys, "--data-dir", str(data_dir), "index", str(docs))
    code, out, _ = _run(capsys, "--data-dir", str(data_dir), "status")
    assert code == 0
    assert "4 files" in out and str(docs) in out
    assert "empty.txt: empty file" in out
    assert f"Log:         {data_dir / 'cache' / 'logs'}" in out  # where a bug report's details are
    _, out, _ = _run(capsys, "--data-dir", str(data_dir), "status", "--json")
    status = json.loads(out)
    assert status["files"] == 4 and status["skipped"] == 1
    assert status["folders"][str(docs)]["files"] == 4


def test_index_of_a_missing_folder_is_a_clear_error(capsys, data_dir: Path) -> None:
    code, _, err = _run(capsys, "--data-dir", str(data_dir), "index", "/no/such/folder")
    assert code == 2 and "not a folder" in err


def test_data_dir_from_environment(capsys, monkeypatch, data_dir: Path, docs: Path) -> None:
    monkeypatch.setenv("SIFT_DATA_DIR", str(data_dir))
    _run(capsys, "index", str(docs))
    assert any((data_dir / "indexes").iterdir())
    files = [p for p in (data_dir / "indexes").rglob("*") if p.is_file()]
    assert files and all(p.stat().st_mode & 0o077 == 0 for p in files)


def test_config_changes_a_setting(capsys, data_dir: Path) -> None:
    code, _, _ = _run(capsys, "--data-dir", str(data_dir), "config", "results", "7")
    assert code == 0
    saved = json.loads((data_dir / "settings.json").read_text(encoding="utf-8"))
    assert saved["results"] == 7 and saved["version"] == 1


def test_eval_prints_metrics_and_writes_a_trec_run(capsys, data_dir: Path, tmp_path: Path) -> None:
    beir = tmp_path / "beir"
    beir.mkdir()
    docs = {"d1": "dog food and canine nutrition", "d2": "the landlord kept the deposit",
            "d3": "the river runs to the ocean"}
    (beir / "corpus.jsonl").write_text("\n".join(
        json.dumps({"_id": k, "title": "", "text": v}) for k, v in docs.items()), encoding="utf-8")
    (beir / "queries.jsonl").write_text("\n".join([
        json.dumps({"_id": "q1", "text": "landlord deposit"}),
        json.dumps({"_id": "q2", "text": "river ocean"})]), encoding="utf-8")
    (beir / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td3\t1\n",
                                    encoding="utf-8")
    run_file = tmp_path / "run.trec"
    code, out, _ = _run(capsys, "--data-dir", str(data_dir), "eval", str(beir), "--run-out",
                        str(run_file))
    assert code == 0
    for stage in ("bm25", "dense", "hybrid"):
        assert any(line.startswith(stage) for line in out.splitlines())
    bm25 = next(line for line in out.splitlines() if line.startswith("bm25")).split()
    assert float(bm25[1]) == pytest.approx(1.0)  # nDCG@10: each query's one document first
    lines = run_file.read_text().splitlines()
    first = lines[0].split()
    assert len(first) == 6 and first[1] == "Q0" and first[3] == "1"
    assert {"q1 Q0 d2 1", "q2 Q0 d3 1"} <= {" ".join(x.split()[:4]) for x in lines
                                            if x.endswith("bm25")}


def test_a_missing_model_says_what_to_do(capsys, tmp_path: Path, docs: Path) -> None:
    d = tmp_path / "data2"
    d.mkdir()
    (d / "settings.json").write_text(json.dumps({"version": 1, "model": str(tmp_path / "gone")}),
                                     encoding="utf-8")
    code, _, err = _run(capsys, "--data-dir", str(d), "index", str(docs))
    assert code == 2
    assert "Could not load the embedding model" in err and "local model folder" in err


# -- what the CLI prints is safe, and bad arguments get words, not tracebacks ----------------------
HOSTILE = "\033]0;owned\007\033[2J\033]52;c;ZXZpbA==\007"


def test_control_characters_in_text_and_names_are_printed_as_escapes(capsys, data_dir: Path,
                                                                   tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    folder.mkdir()
    name = "invoice\033]0;title\007\u202etxt.md"
    prose = "The boiler was serviced in March and the valve replaced. " * 4
    (folder / name).write_text(f"{prose}\nThe plumber invoice {HOSTILE} for the boiler.\n{prose}\n",
                               encoding="utf-8")
    _run(capsys, "--data-dir", str(data_dir), "index", str(folder))
    for args in (("search", "plumber", "invoice"), ("status",), ("skipped",), ("folders",)):
        code, out, err = _run(capsys, "--data-dir", str(data_dir), *args)
        assert code == 0
        for raw in ("\033", "\007", "\u202e"):
            assert raw not in out and raw not in err, (args, raw)
    _, out, _ = _run(capsys, "--data-dir", str(data_dir), "search", "plumber", "invoice")
    assert "\\x1b]0;owned\\x07" in out and "invoice\\x1b]0;title\\x07\\u202etxt.md" in out
    _, out, _ = _run(capsys, "--data-dir", str(data_dir), "search", "--json", "plumber")
    assert "\033" not in out and "\u202e" not in out
    data = json.loads(out)  # still valid JSON, with the true text inside
    assert data["results"][0]["path"] == str(folder / name)
    assert HOSTILE in "".join(p["text"] for p in data["results"][0]["passages"])


@pytest.mark.parametrize(("args", "words"), [
    (["--since", "garbage"], "--since wants a date"),
    (["--since", "2999-01-01"], "in the future"),
    (["--since", "2024-02-30"], "--since wants a date"),
])
def test_bad_since_gets_a_clear_message(capsys, data_dir: Path, docs: Path, args, words) -> None:  # type: ignore[no-untyped-def]
    _run(capsys, "--data-dir", str(data_dir), "index", str(docs))
    code, out, err = _run(capsys, "--data-dir", str(data_dir), "search", *args, "river")
    assert code == 2 and words in err and "Traceback" not in err + out


@pytest.mark.parametrize("limit", ["0", "-1", "ten"])
def test_bad_limit_gets_a_clear_message(capsys, data_dir: Path, limit: str) -> None:
    with pytest.raises(SystemExit) as exc:
        run_cli(["--data-dir", str(data_dir), "search", "--limit", limit, "river"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--limit" in err
    assert "1 or more" in err or "whole number" in err


def test_limit_is_obeyed_exactly(capsys, data_dir: Path, docs: Path) -> None:
    _run(capsys, "--data-dir", str(data_dir), "index", str(docs))
    for n in (1, 2, 3):
        _, out, _ = _run(capsys, "--data-dir", str(data_dir), "search", "--json", "--limit",
                         str(n), "the river dog landlord alpha")
        assert len(json.loads(out)["results"]) == n


def test_a_query_that_is_not_utf8_gets_a_clear_message(capsys, data_dir: Path) -> None:
    code, _, err = _run(capsys, "--data-dir", str(data_dir), "search", "caf\udce9")
    assert code == 2 and "not valid text" in err and "Traceback" not in err


def test_status_shows_both_indexing_stages(capsys, data_dir: Path, docs: Path) -> None:
    _run(capsys, "--data-dir", str(data_dir), "index", str(docs))
    _, out, _ = _run(capsys, "--data-dir", str(data_dir), "status")
    assert "words: 4/4 files · meaning: 4/4" in out
    _, out, _ = _run(capsys, "--data-dir", str(data_dir), "status", "--json")
    assert json.loads(out)["stages"] == {"words": 4, "meaning": 4, "passages_to_embed": 0}


def test_every_kind_of_control_character_is_escaped() -> None:
    from app.terminal import safe, safe_block, safe_json

    raw = "a\x1bb\x07c\x9bd\x7fe\u202ef\udcffg\th"
    assert safe(raw) == "a\\x1bb\\x07c\\x9bd\\x7fe\\u202ef\\xffg\\x09h"
    assert safe_block("line one\nline two\tend") == "line one line two\tend"
    dumped = safe_json(json.dumps({"t": raw}, ensure_ascii=False))
    assert json.loads(dumped) == {"t": raw}
    assert not any(ch in dumped for ch in "\x1b\x07\x9b\x7f\u202e\udcff")


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux allows names that are not UTF-8")
def test_a_folder_whose_name_is_not_utf8_is_indexed_listed_and_searched(capsys, data_dir: Path,
                                                                       tmp_path: Path) -> None:
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9")
    os.mkdir(raw)
    with open(os.path.join(raw, b"q\xff.txt"), "wb") as f:
        f.write(b"The quokka eats leaves at night.\n")
    folder = os.fsdecode(raw)
    code, out, err = _run(capsys, "--data-dir", str(data_dir), "index", folder)
    assert code == 0 and "1 added" in out, err
    code, out, _ = _run(capsys, "--data-dir", str(data_dir), "status")
    assert code == 0 and "caf\\xe9: 1 files" in out
    code, out, _ = _run(capsys, "--data-dir", str(data_dir), "search", "--folder", folder, "quokka")
    assert code == 0 and "caf\\xe9/q\\xff.txt" in out
    # Again: settings and catalog hold the exact name, so nothing changed.
    code, out, _ = _run(capsys, "--data-dir", str(data_dir), "index")
    assert code == 0 and "1 unchanged" in out


def test_get_reranker_is_the_explicit_download_and_says_why_it_failed(
        capsys, data_dir: Path, tiny_reranker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.encoders import reranker

    code, out, _ = _run(capsys, "--data-dir", str(data_dir), "config", "reranker", str(tiny_reranker))
    code, out, _ = _run(capsys, "--data-dir", str(data_dir), "get-reranker")
    assert code == 0 and "local folder already" in out

    def offline(self, progress=None):  # type: ignore[no-untyped-def]
        raise OSError("Network is unreachable")

    monkeypatch.setattr(reranker.Reranker, "download", offline)
    _run(capsys, "--data-dir", str(data_dir), "config", "reranker", "cross-encoder/ms-marco-MiniLM-L6-v2")
    code, out, err = _run(capsys, "--data-dir", str(data_dir), "get-reranker")
    assert code != 0
    assert "Could not download the reranker" in err + out and "Network is unreachable" in err + out
    assert "Traceback" not in err


def test_results_say_where_in_words_slide_and_sheet(capsys, data_dir: Path, tmp_path: Path) -> None:
    import openpyxl
    from pptx import Presentation

    docs = tmp_path / "office"
    docs.mkdir()
    deck = Presentation()
    deck.slides.add_slide(deck.slide_layouts[5]).shapes.title.text = "Quarterly plan"
    numbers = deck.slides.add_slide(deck.slide_layouts[1])
    numbers.shapes.title.text = "Numbers"
    numbers.placeholders[1].text_frame.text = "Boiler valve revenue grew"
    deck.save(str(docs / "plan.pptx"))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Budget"
    sheet.append(["item", "cost"])
    sheet.append(["plumber invoice", 120.5])
    book.save(str(docs / "costs.xlsx"))

    assert _run(capsys, "--data-dir", str(data_dir), "index", str(docs))[0] == 0
    _, out, _ = _run(capsys, "--data-dir", str(data_dir), "search", "--json", "--here", "boiler valve")
    top = json.loads(out)["results"][0]
    assert top["path"].endswith("plan.pptx")
    assert top["passages"][0]["location"] == "slide 2 “Numbers”"
    _, out, _ = _run(capsys, "--data-dir", str(data_dir), "search", "--here", "plumber invoice")
    assert "costs.xlsx" in out and "[Budget, rows 1–2]" in out
