"""sift bench --json and --scale: what scripts and the README read from them is there and sane."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import run_cli

SCALE_KEYS = ("chunks", "files", "folders", "build_s", "query_ms_p50", "query_ms_p95",
              "filtered_query_ms_p50", "type_filtered_query_ms_p50", "peak_rss_mb", "open_s", "status_ms",
              "rebuild_s", "disk_mb", "catalog_mb", "vectors_mb", "dense_recall_at_10")


def _json(capsys, *args: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    code = run_cli(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_scale_bench_measures_a_synthetic_library(capsys, monkeypatch, data_dir: Path) -> None:
    monkeypatch.setattr("app.core.measure.scale_bench.QUERIES", 30)  # enough for a median, and quick
    r = _json(capsys, "--data-dir", str(data_dir), "bench", "--scale", "2000", "--json")
    for key in SCALE_KEYS:
        assert r[key] is not None, key
    assert r["chunks"] == 2000 and r["dim"] == 32  # the configured (tiny) model's dimension
    assert 100 < r["files"] < 2000 and r["folders"] >= 12
    assert 0 < r["query_ms_p50"] <= r["query_ms_p95"]
    assert r["filtered_query_ms_p50"] > 0 and r["type_filtered_query_ms_p50"] > 0
    assert 0 < r["filter_share"]["filtered"] < 0.5 and 0 < r["filter_share"]["type_filtered"] < 0.5
    # Below the exact-search limit, filtered or not, the dense step finds the true neighbours.
    assert r["dense_recall_at_10"] == {"none": 1.0, "filtered": 1.0, "type_filtered": 1.0}
    assert r["peak_rss_mb"] > 20 and r["disk_mb"] > 0.5 and r["open_sync"] == "loaded"
    assert r["build_s"] > 0 and r["rebuild_s"] > 0 and r["open_s"] > 0


def test_scale_bench_never_replaces_a_real_index(capsys, data_dir: Path, docs: Path) -> None:
    assert run_cli(["--data-dir", str(data_dir), "index", str(docs)]) == 0
    capsys.readouterr()
    code = run_cli(["--data-dir", str(data_dir), "bench", "--scale", "100", "--json"])
    _, err = capsys.readouterr()
    assert code == 2 and "real index" in err
    assert _json(capsys, "--data-dir", str(data_dir), "search", "--json",
                 "landlord")["results"], "the real index must still answer"


def test_bench_json_reports_backends_and_end_to_end(capsys, data_dir: Path) -> None:
    r = _json(capsys, "--data-dir", str(data_dir), "bench", "--json", "--chunks", "24")
    assert r["machine"]["cpu"] and r["machine"]["cores"] >= 1
    assert isinstance(r["machine"]["flags"], list)
    rows = r["backends"]
    assert rows[0]["name"].startswith("torch float32")
    assert rows[0]["mean_cos"] == pytest.approx(1.0) and rows[0]["top10_overlap"] == 1.0
    assert r["float32_chunks_per_s"] == rows[0]["chunks_per_s"] > 0
    assert r["backends_short"] is None  # the tiny model's passages are short already
    for row in rows:
        assert set(row) >= {"name", "chunks_per_s", "mean_cos", "min_cos", "top10_overlap",
                            "ndcg_delta"}
        if row["available"]:
            assert row["chunks_per_s"] > 0 and -1.0 <= row["min_cos"] <= row["mean_cos"] <= 1.0
        else:
            assert row["chunks_per_s"] is None and row["note"]
    assert r["chosen"].startswith("torch float32")  # as the settings ask
    assert r["end_to_end_chunks_per_s"] > 0 and r["end_to_end_chunks"] >= 24
    # Every passage was embedded: none was a repeat taken from another (which would flatter it).
    assert r["end_to_end_already_embedded"] == 0
    assert 0.0 <= r["hnsw_recall_at_10"] <= 1.0 and r["exact_search_below"] > 0


def test_a_runtime_that_breaks_on_start_is_a_row_not_a_crash(capsys, monkeypatch,
                                                             data_dir: Path) -> None:
    """The packaged app once lacked OpenVINO's CPU plugin: its runner raised at start."""
    from app.core.encoders.backends import choice

    real = choice.build_runner

    def broken_openvino(backend, *args, **kwargs):  # type: ignore[no-untyped-def]
        if backend == "openvino":
            raise RuntimeError('Device with "CPU" name is not registered')
        return real(backend, *args, **kwargs)

    monkeypatch.setattr(choice, "build_runner", broken_openvino)
    r = _json(capsys, "--data-dir", str(data_dir), "bench", "--json", "--chunks", "8")
    row = next(x for x in r["backends"] if x["name"] == "openvino")
    assert not row["available"] and "not registered" in row["note"]
    assert r["backends"][0]["available"] and r["end_to_end_chunks_per_s"] > 0


def test_the_built_in_bench_documents_are_all_distinct() -> None:
    """Repeated documents would be embedded once each and flatter the end-to-end rate."""
    from app.core.measure.bench import _documents

    docs = _documents(None)
    assert len(docs) >= 1000 and len(set(docs)) == len(docs)
