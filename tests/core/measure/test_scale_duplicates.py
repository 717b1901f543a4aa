"""sift bench --scale --duplicates: a library full of boilerplate, its copies sharing graph entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import run_cli


def test_scale_bench_with_repeated_boilerplate(capsys, monkeypatch, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("app.core.measure.scale_bench.QUERIES", 20)
    code = run_cli(["--data-dir", str(data_dir), "bench", "--scale", "3000", "--duplicates",
                    "30%", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    r = json.loads(out)
    assert r["chunks"] == 3000 and r["duplicates"] == 0.3
    assert 700 < r["repeats"] < 1100
    # Exact copies share an entry; near-repeats (a word changed) are vectors of their own.
    assert r["chunks"] - r["repeats"] < r["graph_entries"] < r["chunks"] - r["repeats"] // 2
    assert r["dense_recall_at_10"] == {"none": 1.0, "filtered": 1.0, "type_filtered": 1.0}


@pytest.mark.parametrize("share", ["1.5", "-0.1", "lots"])
def test_a_share_out_of_range_is_refused_in_words(capsys, data_dir: Path, share: str) -> None:
    with pytest.raises(SystemExit) as exc:
        run_cli(["--data-dir", str(data_dir), "bench", "--scale", "100", "--duplicates", share])
    assert exc.value.code == 2 and "--duplicates" in capsys.readouterr().err
