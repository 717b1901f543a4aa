"""How the fusion weight and the confidence model were chosen, reproducibly, on the shared collections.

    sift eval ../shared/data/ir/NAME --keep /tmp/sift-eval/NAME   # index once, kept
    python -m tests.benchmarks.fusion_study dump NAME
    python -m tests.benchmarks.fusion_study fusion cranfield msmarco-sub5k scifact
    python -m tests.benchmarks.fusion_study confidence cranfield msmarco-sub5k scifact

``dump`` stores each query's exact dense list, HNSW list and keyword list (plus 60 questions of
every other collection: off-topic questions with no answer here) so that fusion variants are
scored in seconds. ``fusion`` prints nDCG@10 per variant; ``confidence`` fits the relevance
model and prints weak-match precision/recall, where "no answer" means the collection's own
questions with their relevant files removed, or another collection's questions.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np

from app.core.measure.evaluation import load_beir, ndcg_at
from app.core.search import confidence as C
from app.core.search import fusion as F

DATA = Path("/work/shared/data/ir")
WORK = Path("/tmp/sift-eval")
COLLECTIONS = ("cranfield", "msmarco-sub5k", "scifact")


def dump(coll: str) -> None:
    from app.core.host.paths import resolve_paths
    from app.core.library import Library
    from app.core.search.query import parse_query
    from app.core.search.searcher import Filters

    _, queries, qrels = load_beir(DATA / coll)
    lib = Library(resolve_paths(WORK / coll / "data"))
    lib.embedder.load()
    s = lib.searcher()
    todo = [(qid, queries[qid]) for qid in queries if qid in qrels]
    for other in COLLECTIONS:
        if other != coll:
            _, oq, oqr = load_beir(DATA / other)
            todo += [(f"foreign:{other}:{k}", oq[k]) for k in [k for k in oq if k in oqr][:60]]
    out = {}
    for qid, text in todo:
        q = parse_query(text)
        vec = lib.embedder.embed_query(q.semantic_text)
        dense = list(zip(*(a.tolist() for a in s.vectors.search_exact(vec, 300)), strict=True))
        hnsw = list(zip(*(a.tolist() for a in s.vectors.search_approximate(vec, 300)), strict=True))
        kw = s._keyword(q, Filters())
        codes = s._code_chunks(q, Filters())
        ids = list({c for c, _ in dense} | {c for c, _ in kw} | {c for c, _ in hnsw} | set(codes))
        rows = s.catalog.chunk_rows(ids)
        out[qid] = dict(text=text, dense=dense, hnsw=hnsw, bm25=kw, codes=codes, df=s._doc_freq(q),
                        rows={c: (r.file_id, Path(r.path).stem, r.text) for c, r in rows.items()})
    with open(WORK / coll / "dump.pkl", "wb") as f:
        pickle.dump(dict(q=out, qrels=qrels, N=s._passage_count()), f)
    lib.close()


def _files(chunks, rows):  # type: ignore[no-untyped-def]
    best: dict[int, float] = {}
    for c, s in chunks:
        r = rows.get(c)
        if r is not None and s > best.get(r[0], -1e9):
            best[r[0]] = s
    return sorted(best.items(), key=lambda kv: -kv[1])


def _load(coll: str) -> dict:
    with open(WORK / coll / "dump.pkl", "rb") as f:
        d = pickle.load(f)
    for e in d["q"].values():
        for key in ("dense", "hnsw", "bm25"):
            e[key] = _files(e[key], e["rows"])
        e["name"] = {r[0]: r[1] for r in e["rows"].values()}
        e["code_files"] = {e["rows"][c][0] for c in e["codes"] if c in e["rows"]}
    return d


def default_order(e: dict, drop: frozenset = frozenset(), prior: float = F.DENSE_PRIOR):  # type: ignore[no-untyped-def]
    """What the app ranks (fusion, then files holding a rare code first), files in ``drop`` removed."""
    dense = [kv for kv in e["dense"] if kv[0] not in drop]
    bm25 = [kv for kv in e["bm25"] if kv[0] not in drop]
    order = F.fuse(dense, bm25, dense_prior=prior)
    codes = e["code_files"] - drop
    listed = {f for f, _ in order}
    order += [(f, 0.0) for f in sorted(codes - listed)]
    return F.promote(order, codes)


def fusion(colls: list[str]) -> None:
    from app.core.search.query import parse_query

    data = {c: _load(c) for c in colls}
    variants = {"bm25": lambda e: e["bm25"], "dense (HNSW)": lambda e: e["hnsw"],
                "dense (exact)": lambda e: e["dense"],
                "before: z 1:1, 1:2 with identifiers": lambda e: F.fuse_scores(
                    [e["hnsw"], e["bm25"]], [1.0, 2.0 if parse_query(e["text"]).identifiers else 1.0]),
                "rrf": lambda e: F.rrf([e["dense"], e["bm25"]])}
    for p in (0.5, 0.6, 0.7, 0.8):
        variants[f"fused, dense weight {p}"] = lambda e, p=p: default_order(e, prior=p)
    print(f"{'variant':<40}" + "".join(f"{c[:13]:>15}" for c in data))
    for name, fn in variants.items():
        row = []
        for d in data.values():
            qs = {k: e for k, e in d["q"].items() if not k.startswith("foreign")}
            row.append(sum(ndcg_at([e["name"][f] for f, _ in fn(e)[:10]], d["qrels"][k])
                           for k, e in qs.items()) / len(qs))
        print(f"{name:<40}" + "".join(f"{v:>15.4f}" for v in row))


def _top_evidence(e: dict, n_docs: int, drop: frozenset = frozenset(), k: int = 10):  # type: ignore[no-untyped-def]
    order = default_order(e, drop)
    cos = dict(kv for kv in e["dense"] if kv[0] not in drop)
    idf = C.idf_weights(e["df"], n_docs)
    texts: dict[int, list[str]] = {}
    for fid, stem, text in e["rows"].values():
        texts.setdefault(fid, [stem]).append(text)
    best_cos = max(cos.values()) if cos else None
    return [(fid, cos.get(fid), C.coverage(texts.get(fid, []), idf), best_cos) for fid, _ in order[:k]]


def confidence(colls: list[str]) -> None:
    from sklearn.linear_model import LogisticRegression

    x, y, w, tops = [], [], [], []
    for coll in colls:
        d = _load(coll)
        own = [k for k in d["q"] if not k.startswith("foreign")]
        for qid, e in d["q"].items():
            foreign = qid.startswith("foreign")
            rel = set() if foreign else {f for f, nm in e["name"].items() if d["qrels"][qid].get(nm, 0) > 0}
            ev = _top_evidence(e, d["N"])
            for fid, c, cov, _ in ev:
                x.append((C.UNKNOWN_COSINE if c is None else c, cov))
                y.append(int(fid in rel))
                w.append((0.5 / (len(d["q"]) - len(own))) if foreign else 1.0 / len(own))
            if ev:
                tops.append((coll, "off-topic" if foreign else "answerable", ev[0]))
            if not foreign:
                ev = _top_evidence(e, d["N"], drop=frozenset(rel), k=1)
                if ev:
                    tops.append((coll, "relevant removed", ev[0]))
    xa = np.array(x)
    design = np.column_stack([xa[:, 0], xa[:, 1], xa[:, 0] * xa[:, 1]])
    model = LogisticRegression(C=10.0).fit(design, y, sample_weight=w)
    print("relevance model COEF =", (round(float(model.intercept_[0]), 3),
                                     *(round(float(v), 3) for v in model.coef_[0])))
    p = model.predict_proba(design)[:, 1]
    for lo, hi in ((0, .2), (.2, .4), (.4, .6), (.6, .8), (.8, 1.01)):
        sel = (p >= lo) & (p < hi)
        if sel.sum():
            wy, ww = np.array(y)[sel], np.array(w)[sel]
            print(f"  predicted [{lo:.1f}, {hi:.1f}): mean {np.average(p[sel], weights=ww):.2f}, "
                  f"observed {np.average(wy, weights=ww):.2f} (n={sel.sum()}, weighted as fitted)")
    print("weak-match decision (flagged = 'No good match'):")
    for coll in colls:
        t = [(kind, ev) for c, kind, ev in tops if c == coll]
        flagged = [(kind, ev) for kind, ev in t if C.is_weak(ev[3], ev[2])]
        tp = sum(1 for kind, _ in flagged if kind != "answerable")
        neg = sum(1 for kind, _ in t if kind != "answerable")
        rates = {kind: sum(1 for k2, ev in t if k2 == kind and C.is_weak(ev[3], ev[2]))
                 / max(1, sum(1 for k2, _ in t if k2 == kind))
                 for kind in ("answerable", "off-topic", "relevant removed")}
        print(f"  {coll:<14} precision {tp / max(1, len(flagged)):.2f} recall {tp / max(1, neg):.2f}; "
              + ", ".join(f"{k} flagged {v:.2f}" for k, v in rates.items()))


if __name__ == "__main__":
    command, names = sys.argv[1], sys.argv[2:] or list(COLLECTIONS)
    {"dump": lambda: [dump(c) for c in names], "fusion": lambda: fusion(names),
     "confidence": lambda: confidence(names)}[command]()
