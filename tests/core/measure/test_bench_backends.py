"""sift bench --json: one entry per backend with its speed, agreement and retrieval-quality delta."""

from __future__ import annotations

import json
from pathlib import Path

from app.cli import run_cli
from app.core.measure import backend_quality as quality

DOCS = {
    "d1": ("Dogs", "Dog food and canine nutrition: protein for a puppy."),
    "d2": ("Lease", "The landlord kept the deposit after the lease ended."),
    "d3": ("Invoice", "The plumber sent an invoice for the boiler valve."),
    "d4": ("Budget", "The meeting notes report the revenue and the budget."),
    "d5": ("Rivers", "A river runs from the mountain to the ocean."),
    "d6": ("Science", "Physics, chemistry and biology are sciences."),
}
QUERIES = {"q1": "puppy diet", "q2": "rent deposit", "q3": "boiler plumber"}
QRELS = {"q1": "d1", "q2": "d2", "q3": "d3"}


def _collection(folder: Path) -> Path:
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": k, "title": t, "text": x}) + "\n" for k, (t, x) in DOCS.items()))
    (folder / "queries.jsonl").write_text("".join(
        json.dumps({"_id": k, "text": v}) + "\n" for k, v in QUERIES.items()))
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t1\n" for q, d in QRELS.items()))
    return folder


def test_bench_json_names_machine_and_backends_with_quality(capsys, data_dir: Path,  # type: ignore[no-untyped-def]
                                                            tmp_path: Path) -> None:
    beir = _collection(tmp_path / "beir")
    code = run_cli(["--data-dir", str(data_dir), "bench", "--json", "--chunks", "16",
                    "--quality", str(beir)])
    out, err = capsys.readouterr()
    assert code == 0, err
    r = json.loads(out)
    machine = r["machine"]
    assert machine["cpu"] and set(machine["flags"]) <= {
        "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16",
        "amx_int8", "amx_tile"}
    names = [row["name"] for row in r["backends"]]
    assert names[0].startswith("torch float32") and len(names) == len(set(names)) == 6
    assert [row["name"] for row in r["backends"] if row["chosen"]] == [r["chosen"]]
    q = r["quality"]
    assert (q["collection"], q["documents"], q["queries"]) == ("beir", 6, 3)
    assert 0.0 <= q["float32_ndcg_dense"] <= 1.0 and 0.0 <= q["float32_ndcg_hybrid"] <= 1.0
    for row in r["backends"]:
        if row["available"]:
            # Measured for every backend that runs; float32 against itself changes nothing.
            assert row["ndcg_delta"] is not None and row["ndcg_delta_dense"] is not None
            assert -1.0 <= row["ndcg_delta"] <= 1.0
        else:
            assert row["ndcg_delta"] is None and row["note"]
    assert r["backends"][0]["ndcg_delta"] == 0.0 == r["backends"][0]["ndcg_delta_dense"]
    assert r["float32_chunks_per_s"] > 0 and r["end_to_end_chunks_per_s"] > 0


def test_quality_subset_keeps_every_judged_document() -> None:
    corpus = {f"d{i}": {"text": str(i)} for i in range(100)}
    qrels = {"q1": {"d7": 1, "d70": 2}, "q2": {"d99": 1}}
    kept = quality.subset(corpus, qrels, ["q1", "q2"], 10)
    assert len(kept) == 10 and {"d7", "d70", "d99"} <= set(kept)
    assert kept == quality.subset(corpus, qrels, ["q1", "q2"], 10)  # the same draw every time
    assert quality.subset(corpus, qrels, ["q1"], 0) is corpus
