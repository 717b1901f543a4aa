"""How the fusion, the strength model and the order by strength were chosen, reproducibly.

    sift eval ../shared/data/ir/NAME --keep $SIFT_STUDY/NAME        # index once, kept
    sift eval resources/calibration/meaning --keep $SIFT_STUDY/meaning
    python -m tests.benchmarks.fusion_study dump NAME ...
    python -m tests.benchmarks.fusion_study fit      # prints COEF for app/core/search/confidence.py
    python -m tests.benchmarks.fusion_study report   # nDCG@10, calibration by band, "No good match"

``dump`` stores each query's exact dense list, HNSW list, keyword list and the cosine of every
candidate passage (plus 60 questions of every other collection: off-topic questions with no
answer here), so that variants are scored in seconds. ``meaning`` is the paraphrase collection
(resources/calibration/meaning: questions that share no content word with their answer); the
shared collections are cranfield, msmarco-sub5k and scifact. ``report`` also fits the model once
per collection with that collection left out, and scores it there: what a library the model has
never seen gets. SIFT_STUDY defaults to /tmp/sift-eval.
"""

from __future__ import annotations

import math
import os
import pickle
import sys
from pathlib import Path

import numpy as np

from app.core.measure.evaluation import load_beir, ndcg_at
from app.core.search import confidence as C
from app.core.search import fusion as F
from app.core.search.searcher import PASSAGES_PER_FILE, STRENGTH_HEAD, _best_chunks
from app.core.storage.catalog.stored_paths import searchable_name

SOURCES = {"cranfield": Path("/work/shared/data/ir/cranfield"),
           "msmarco-sub5k": Path("/work/shared/data/ir/msmarco-sub5k"),
           "scifact": Path("/work/shared/data/ir/scifact"),
           "meaning": Path(__file__).resolve().parents[2] / "resources/calibration/meaning"}
WORK = Path(os.environ.get("SIFT_STUDY", "/tmp/sift-eval"))
COLLECTIONS = tuple(SOURCES)
OLD_COEF = (-4.541, 3.22, 2.944, 2.69)  # the model before the order was the strength
BANDS = ((0, .2), (.2, .4), (.4, .6), (.6, .8), (.8, 1.01))


def dump(coll: str) -> None:
    from app.core.host.paths import resolve_paths
    from app.core.library import Library
    from app.core.search.query import parse_query
    from app.core.search.searcher import Filters

    _, queries, qrels = load_beir(SOURCES[coll])
    lib = Library(resolve_paths(WORK / coll / "data"))
    lib.embedder.load()
    s = lib.searcher()
    todo = [(qid, queries[qid]) for qid in queries if qid in qrels]
    for other in COLLECTIONS:
        if other != coll:
            _, oq, oqr = load_beir(SOURCES[other])
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
        cos: dict[int, float] = {}
        for keys, mat in s.catalog.embeddings(ids):
            norms = np.linalg.norm(mat, axis=1).clip(1e-9)
            cos.update(zip(keys.tolist(), (mat @ vec / norms).tolist(), strict=True))
        out[qid] = dict(text=text, dense=dense, hnsw=hnsw, bm25=kw, codes=codes, df=s._doc_freq(q),
                        cos=cos, rows={c: (r.file_id, Path(r.path).stem, r.text, r.path)
                                       for c, r in rows.items()})
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
        rows = e["rows"]
        scores: dict[int, dict[str, float]] = {}
        for key in ("dense", "bm25"):
            for c, s in e[key]:
                scores.setdefault(c, {})[key] = s
        e["best"] = _best_chunks(scores, {c: r[0] for c, r in rows.items()})
        for key in ("dense", "hnsw", "bm25"):
            e[key] = _files(e[key], rows)
        e["name"] = {r[0]: r[1] for r in rows.values()}
        e["path"] = {r[0]: r[3] for r in rows.values()}
        e["file_cos"] = {}
        for c, v in e["cos"].items():
            if c in rows and v > e["file_cos"].get(rows[c][0], -2.0):
                e["file_cos"][rows[c][0]] = v
        e["code_files"] = {rows[c][0] for c in e["codes"] if c in rows}
    return d


def fused_order(e: dict, drop: frozenset = frozenset()):  # type: ignore[no-untyped-def]
    """The fusion as the app runs it (files holding a rare code first), ``drop`` removed."""
    dense = [kv for kv in e["hnsw"] if kv[0] not in drop]
    bm25 = [kv for kv in e["bm25"] if kv[0] not in drop]
    order = F.fuse(dense, bm25)
    codes = e["code_files"] - drop
    listed = {f for f, _ in order}
    order += [(f, order[-1][1] if order else 0.5) for f in sorted(codes - listed)]
    return F.promote(order, codes)


def evidence(e: dict, n_docs: int, drop: frozenset = frozenset(), k: int = STRENGTH_HEAD):  # type: ignore[no-untyped-def]
    """(file, cosine, coverage, lead) of the head of the fusion, as the searcher computes them."""
    idf = C.idf_weights(e["df"], n_docs)
    rows = {c: r for c, r in e["rows"].items()}
    out = []
    for fid, fused in fused_order(e, drop)[:k]:
        texts = [rows[c][2] for _, c in e["best"].get(fid, [])[:PASSAGES_PER_FILE] if c in rows]
        texts.append(searchable_name(e["path"][fid]))
        out.append((fid, e["file_cos"].get(fid), C.coverage(texts, idf), C.lead(fused)))
    return out


def strength_order(ev, coef=None):  # type: ignore[no-untyped-def]
    """The head ordered by strength (stable: ties keep the fusion's order)."""
    p = [C.relevance_probability(c, cov, lead, coef=coef) for _, c, cov, lead in ev]
    order = sorted(range(len(ev)), key=lambda i: -p[i])
    return [(ev[i][0], p[i]) for i in order]


def _labelled(colls: list[str]):  # type: ignore[no-untyped-def]
    """Per collection: [(kind, evidence of the head, relevant files)] of its own and foreign questions."""
    out = {}
    for coll in colls:
        d = _load(coll)
        items = []
        for qid, e in d["q"].items():
            foreign = qid.startswith("foreign")
            rel = {} if foreign else {f: d["qrels"][qid].get(nm, 0) for f, nm in e["name"].items()
                                      if d["qrels"][qid].get(nm, 0) > 0}
            items.append(("off-topic" if foreign else "answerable", evidence(e, d["N"]), rel,
                          d["qrels"].get(qid, {}), e))
            if not foreign:
                items.append(("relevant removed", evidence(e, d["N"], frozenset(rel), k=10), {},
                              {}, e))
        out[coll] = items
    return out


def fit(data: dict, leave_out: str | None = None) -> tuple[float, ...]:
    """Logistic model over the top ten of the fusion's head; every collection weighs alike."""
    from sklearn.linear_model import LogisticRegression

    x, y, w = [], [], []
    for coll, items in data.items():
        if coll == leave_out:
            continue
        own = sum(1 for kind, *_ in items if kind == "answerable")
        foreign = sum(1 for kind, *_ in items if kind == "off-topic")
        for kind, ev, rel, _, _ in items:
            if kind == "relevant removed":
                continue
            for fid, c, cov, lead in ev[:10]:
                x.append(C.features(c, cov, lead))
                y.append(int(fid in rel))
                w.append(0.5 / foreign if kind == "off-topic" else 1.0 / own)
    model = LogisticRegression(C=10.0, max_iter=1000).fit(np.array(x), y, sample_weight=w)
    return (round(float(model.intercept_[0]), 3), *(round(float(v), 3) for v in model.coef_[0]))


def _bands(pairs: list[tuple[float, int]]) -> str:
    cells = []
    for lo, hi in BANDS:
        sel = [(p, y) for p, y in pairs if lo <= p < hi]
        if sel:
            cells.append(f"[{lo:.1f},{min(hi, 1):.1f}) {np.mean([p for p, _ in sel]):.2f}/"
                         f"{np.mean([y for _, y in sel]):.2f} n={len(sel)}")
    return "; ".join(cells)


def _old_probability(c: float | None, cov: float) -> float:
    a, b, d, g = OLD_COEF
    c = C.UNKNOWN_COSINE if c is None else c
    return 1.0 / (1.0 + math.exp(-(a + b * c + d * cov + g * c * cov)))


def report(colls: list[str]) -> None:
    data = _labelled(colls)
    coef = fit(data)
    print("COEF (all collections) =", coef)
    held = {coll: fit(data, leave_out=coll) for coll in colls}
    print(f"{'nDCG@10':<28}" + "".join(f"{c[:13]:>15}" for c in colls))
    rows = {"bm25": lambda e, ev, cf: e["bm25"], "dense (exact)": lambda e, ev, cf: e["dense"],
            "dense (HNSW, as the app)": lambda e, ev, cf: e["hnsw"],
            "before: fusion": lambda e, ev, cf: fused_order(e),
            "after: by strength": lambda e, ev, cf: strength_order(ev, coef),
            "after, collection unseen": lambda e, ev, cf: strength_order(ev, cf)}
    for name, fn in rows.items():
        vals = []
        for coll in colls:
            d = [(e, ev, qr) for kind, ev, _, qr, e in data[coll] if kind == "answerable"]
            vals.append(np.mean([ndcg_at([e["name"][f] for f, _ in fn(e, ev, held[coll])[:10]], qr)
                                 for e, ev, qr in d]))
        print(f"{name:<28}" + "".join(f"{v:>15.4f}" for v in vals))
    print("calibration, top ten of each question, predicted/observed by band "
          "(own questions and off-topic ones):")
    for coll in colls:
        before, after, unseen, disorder, n = [], [], [], [0, 0], 0
        for kind, ev, rel, _, e in data[coll]:
            if kind == "relevant removed":
                continue
            n += 1
            shown = strength_order(ev, coef)[:10]
            old = [(_old_probability(c if fid in dict(e["dense"]) else None, cov), int(fid in rel))
                   for fid, c, cov, _ in ev[:10]]
            for k, ps in enumerate(([p for p, _ in old], [p for _, p in shown])):
                disorder[k] += any(ps[i] < max(ps[i + 1:]) - 0.005 for i in range(len(ps) - 1))
            before += old
            after += [(p, int(f in rel)) for f, p in shown]
            unseen += [(p, int(f in rel)) for f, p in strength_order(ev, held[coll])[:10]]
        print(f"  {coll}: questions whose top ten shows a lower strength above a higher one: "
              f"before {disorder[0]}/{n}, after {disorder[1]}/{n}\n"
              f"    before: {_bands(before)}\n    after:  {_bands(after)}\n"
              f"    unseen: {_bands(unseen)}")
    print('"No good match" (flagged when the best file is weak), after:')
    for coll in colls:
        t = []
        for kind, ev, _, _, e in data[coll]:
            top = strength_order(ev, coef)[:1]
            if top:
                ev_top = next(x for x in ev if x[0] == top[0][0])
                best_cos = max(e["file_cos"].values()) if e["file_cos"] else None
                t.append((kind, C.is_weak(best_cos, ev_top[2])))
        flagged = [k for k, w in t if w]
        tp = sum(1 for k in flagged if k != "answerable")
        neg = sum(1 for k, _ in t if k != "answerable")
        rates = ", ".join(f"{kind} flagged {np.mean([w for k, w in t if k == kind] or [0]):.2f}"
                          for kind in ("answerable", "off-topic", "relevant removed"))
        print(f"  {coll:<14} precision {tp / max(1, len(flagged)):.2f} "
              f"recall {tp / max(1, neg):.2f}; {rates}")


if __name__ == "__main__":
    command, names = sys.argv[1], sys.argv[2:] or list(COLLECTIONS)
    {"dump": lambda: [dump(c) for c in names], "fit": lambda: print(fit(_labelled(names))),
     "report": lambda: report(names)}[command]()
