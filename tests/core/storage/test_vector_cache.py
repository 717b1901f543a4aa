"""The vector file is a cache of the catalog: exact below a size, verified before loading, rebuilt
when damaged, and the HNSW graph's recall is measured on real queries."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from app.core.storage.vectors import UsearchStore, dense_recall

CORRUPTIONS = 40

_CORRUPT_AND_OPEN = textwrap.dedent("""
    import json, random, shutil, sys
    from pathlib import Path
    import numpy as np
    from app.core.storage.store import IndexStore

    folder, model, dim, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    vec = folder / "vectors.usearch"
    side = folder / "vectors.usearch.json"
    pristine, pristine_side = vec.read_bytes(), side.read_bytes()
    results = []
    for seed in range(count):
        rng = random.Random(seed)
        data = bytearray(pristine)
        middle = len(data) // 2 + rng.randint(-len(data) // 4, len(data) // 4)
        start = max(0, min(len(data) - 4096, middle - 2048))
        data[start:start + 4096] = rng.randbytes(min(4096, len(data)))
        vec.write_bytes(bytes(data))
        side.write_bytes(pristine_side)
        store = IndexStore(folder, model, dim)
        report = store.open_vectors()
        keys, sims = store.vectors.search(np.ones(dim, dtype=np.float32), 5)
        results.append({
            "action": report.action,
            "consistent": store.consistent(),
            "keys_known": set(keys.tolist()) <= set(store.catalog.chunk_ids().tolist()),
            "sims_valid": bool(np.all(np.abs(sims) <= 1.001)),
            "found": len(keys),
        })
        store.catalog.close()
        vec.write_bytes(pristine)
        side.write_bytes(pristine_side)
    print(json.dumps(results))
""")


def test_damaged_vector_files_are_detected_and_rebuilt(library, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    words = "alpha beta gamma delta river mountain ocean apple banana cherry landlord".split()
    for i in range(300):
        text = " ".join(words[(i * 7 + k) % len(words)] for k in range(30 + i % 17))
        (notes / f"n{i:03d}.txt").write_text(f"{text} item{i}", encoding="utf-8")
    library.index([str(notes)])
    folder = library.index_folder
    model, dim = library.embedder.name, library.embedder.info.dim
    library.close()
    assert (folder / "vectors.usearch.json").exists()
    # A child process: a segfault, an abort or a hang fails this test instead of the runner.
    proc = subprocess.run(
        [sys.executable, "-c", _CORRUPT_AND_OPEN, str(folder), model, str(dim), str(CORRUPTIONS)],
        capture_output=True, text=True, timeout=600, cwd=Path(__file__).resolve().parents[3])
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(results) == CORRUPTIONS
    for r in results:
        assert r == {"action": "rebuilt", "consistent": True, "keys_known": True,
                     "sims_valid": True, "found": 5}


def test_a_vector_file_without_its_checksum_is_not_trusted(library, docs: Path) -> None:
    library.index([str(docs)])
    folder = library.index_folder
    library.close()
    (folder / "vectors.usearch.json").unlink()
    from app.core.storage.store import IndexStore

    store = IndexStore(folder, library.embedder.name, library.embedder.info.dim)
    try:
        assert store.open_vectors().action == "rebuilt"
        assert store.consistent()
        assert json.loads((folder / "vectors.usearch.json").read_text())["count"] == len(store.vectors)
    finally:
        store.close()


def _clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 200), dim)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_small_indexes_are_searched_exactly(tmp_path: Path) -> None:
    vecs = _clustered(3000, 48, seed=1)
    store = UsearchStore(tmp_path / "v.usearch", 48)
    store.add(np.arange(1, 3001, dtype=np.uint64), vecs)
    queries = _clustered(20, 48, seed=2)
    for q in queries:
        keys, sims = store.search(q, 10)
        truth = np.argsort(-(vecs @ q))[:10] + 1
        assert keys.tolist() == truth.tolist()
        assert np.all(np.diff(sims) <= 1e-6)
    allowed = np.arange(1, 3001, 2, dtype=np.uint64)
    keys, _ = store.search(queries[0], 10, allowed=allowed)
    assert len(keys) == 10 and set(keys.tolist()) <= set(allowed.tolist())
    store.remove([int(keys[0])])
    assert int(keys[0]) not in store.search(queries[0], 10, allowed=allowed)[0].tolist()


def test_dense_recall_against_exact_is_measured(tmp_path: Path) -> None:
    vecs = _clustered(4000, 32, seed=3)
    store = UsearchStore(tmp_path / "v.usearch", 32, exact_limit=0)
    store.add(np.arange(4000, dtype=np.uint64), vecs)
    recall = dense_recall(store, _clustered(30, 32, seed=4), k=10)
    assert 0.9 <= recall <= 1.0


def test_a_vector_file_of_an_earlier_version_is_rebuilt(tmp_path: Path) -> None:
    """Files before version 3 hold one graph entry per passage, copies included: not trusted."""
    store = UsearchStore(tmp_path / "v.usearch", 16)
    store.add(np.arange(1, 51, dtype=np.uint64), _clustered(50, 16, seed=2))
    store.save()
    side = json.loads(store.sidecar.read_text())
    assert side["version"] == 3 and side["count"] == 50
    store.sidecar.write_text(json.dumps({**side, "version": 2}))
    again = UsearchStore(tmp_path / "v.usearch", 16)
    assert not again.load() and "version" in (again.load_error or "")
