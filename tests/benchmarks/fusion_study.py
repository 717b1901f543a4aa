"""How the fusion and the strength model were chosen, reproducibly.

    sift eval ../shared/data/ir/NAME --keep $SIFT_STUDY/NAME        # index once, kept
    sift eval resources/calibration/meaning --keep $SIFT_STUDY/meaning
    python -m tests.benchmarks.fusion_study mix      # the paraphrase questions among remote texts
    sift eval $SIFT_STUDY/meaning-remote-src --keep $SIFT_STUDY/meaning-remote
    python -m tests.benchmarks.entities    # entity search, from WordNet (apt-get install wordnet-base)
    sift eval $SIFT_STUDY/entities-src --keep $SIFT_STUDY/entities
    python -m tests.benchmarks.fusion_study dump NAME ...
    python -m tests.benchmarks.fusion_study fit      # prints COEF for app/core/search/confidence.py
    python -m tests.benchmarks.fusion_study report [NAME ...]  # nDCG@10, calibration, "No good match"

``dump`` stores each query's exact dense list, HNSW list, keyword list and the cosine of every
candidate passage (plus 60 questions of every other collection: off-topic questions with no
answer here), so that variants are scored in seconds. The model is fitted on the shared
collections (cranfield, msmarco-sub5k, scifact) and ``meaning-remote``: the paraphrase questions
of resources/calibration/meaning (questions that share no content word with their answer) asked
of their 60 answers among SciFact's and Cranfield's 6,583 texts, as a library of thousands of
files would hold them. ``meaning`` (the same questions among their answers alone) and
``entities`` (short questions about people, places and things) are reported, never fitted.
``report`` also fits the model once per collection with that collection left out, and scores it
there: what a library the model has never seen gets. SIFT_STUDY defaults to
/tmp/sift-eval; the shared collections are read from ../shared (SIFT_SHARED).
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

SHARED = Path(os.environ.get("SIFT_SHARED", Path(__file__).resolve().parents[3] / "shared"))
MEANING = Path(__file__).resolve().parents[2] / "resources/calibration/meaning"
WORK = Path(os.environ.get("SIFT_STUDY", "/tmp/sift-eval"))
SOURCES = {"cranfield": SHARED / "data/ir/cranfield",
           "msmarco-sub5k": SHARED / "data/ir/msmarco-sub5k",
           "scifact": SHARED / "data/ir/scifact",
           "meaning": MEANING,
           "meaning-remote": WORK / "meaning-remote-src",
           "entities": WORK / "entities-src"}
COLLECTIONS = ("cranfield", "msmarco-sub5k", "scifact", "meaning-remote")  # fitted on
# Reported, never fitted: the paraphrase questions among their 60 answers alone, and entity
# search (tests/benchmarks/entities.py).
EXTRA = ("meaning", "entities")
# Whose questions are asked elsewhere as off-topic ones (meaning-remote asks meaning's).
OFF_TOPIC = ("cranfield", "msmarco-sub5k", "scifact", "meaning")
OLD_COEF = (-4.863, 3.417, 2.231, 2.45, 0.337)  # the previous model, which ordered the list
BANDS = ((0, .2), (.2, .4), (.4, .6), (.6, .8), (.8, 1.01))


def mix() -> None:
    """The paraphrase questions with their 60 answers among 6,583 remote texts (SciFact's
    biomedical abstracts, Cranfield's aerodynamics): what a library of thousands of files looks
    like to a question whose answer shares no word with it, where the keyword list is full of
    incidental matches. Only the 60 answers are judged: a remote text on the question's subject
    (a few questions touch medicine or climate) counts as wrong, so the collection understates
    every method alike."""
    import json

    out = SOURCES["meaning-remote"]
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as f:
        for coll, prefix in (("scifact", ""), ("cranfield", "cran-"), ("meaning", "")):
            for line in (SOURCES[coll] / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
                doc = json.loads(line)
                doc["_id"] = prefix + doc["_id"]
                f.write(json.dumps(doc) + "\n")
    for name in ("queries.jsonl", "qrels.tsv"):
        (out / name).write_bytes((MEANING / name).read_bytes())


def dump(coll: str) -> None:
    from app.core.host.paths import resolve_paths
    from app.core.library import Library
    from app.core.search.exact import first_chunks
    from app.core.search.query import parse_query
    from app.core.search.searcher import Filters

    _, queries, qrels = load_beir(SOURCES[coll])
    lib = Library(resolve_paths(WORK / coll / "data"))
    lib.embedder.load()
    s = lib.searcher()
    todo = [(qid, queries[qid]) for qid in queries if qid in qrels]
    for other in OFF_TOPIC:
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
        df = s._doc_freq(q)
        codes = first_chunks(s.catalog.conn, q, Filters(), df,
                             C.idf_weights(df, s._passage_count()))
        ids = list({c for c, _ in dense} | {c for c, _ in kw} | {c for c, _ in hnsw} | set(codes))
        rows = s.catalog.chunk_rows(ids)
        cos: dict[int, float] = {}
        for keys, mat in s.catalog.embeddings(ids):
            norms = np.linalg.norm(mat, axis=1).clip(1e-9)
            cos.update(zip(keys.tolist(), (mat @ vec / norms).tolist(), strict=True))
        out[qid] = dict(text=text, dense=dense, hnsw=hnsw, bm25=kw, codes=codes, df=df,
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
        idf = C.idf_weights(e["df"], d["N"])
        e["keyword_cover"] = {fid: _cover(e, fid, idf) for fid, _ in e["bm25"][:F.COVERED_FILES]}
    return d


def _cover(e: dict, fid: int, idf: dict[str, float]) -> float:
    """The share of the question's rare-word mass a file's shown passages and name hold."""
    rows = e["rows"]
    texts = [rows[c][2] for _, c in e["best"].get(fid, [])[:PASSAGES_PER_FILE] if c in rows]
    texts.append(searchable_name(e["path"][fid]))
    return C.coverage(texts, idf)


def fused_order(e: dict, drop: frozenset = frozenset(), before: bool = False):  # type: ignore[no-untyped-def]
    """The fusion as the app runs it (files holding a rare code first), ``drop`` removed."""
    dense = [kv for kv in e["hnsw"] if kv[0] not in drop]
    bm25 = [kv for kv in e["bm25"] if kv[0] not in drop]
    order = (F.fuse(dense, bm25) if before else
             F.fuse(dense, bm25, cosine=e["file_cos"], coverage=e["keyword_cover"]))
    codes = e["code_files"] - drop
    listed = {f for f, _ in order}
    order += [(f, order[-1][1] if order else 0.5) for f in sorted(codes - listed)]
    return F.promote(order, codes)


def evidence(e: dict, n_docs: int, drop: frozenset = frozenset(), k: int = STRENGTH_HEAD,  # type: ignore[no-untyped-def]
             before: bool = False):
    """(file, cosine, coverage, lead, standout) of the head of the fusion, as the searcher
    computes them."""
    idf = C.idf_weights(e["df"], n_docs)
    head = fused_order(e, drop, before)[:k]
    leads = [C.lead(fused) for _, fused in head]
    out = []
    for (fid, _), lead, standout in zip(head, leads, C.standouts(leads), strict=True):
        out.append((fid, e["file_cos"].get(fid), _cover(e, fid, idf), lead, standout))
    return out


def shown(ev, coef=None):  # type: ignore[no-untyped-def]
    """The head in the fusion's order with the strengths the app shows (pooled along it)."""
    p = [C.relevance_probability(c, cov, so, coef=coef) for _, c, cov, _, so in ev]
    return list(zip([x[0] for x in ev], C.non_increasing(p), strict=True))


def by_old_strength(ev):  # type: ignore[no-untyped-def]
    """The previous order: the head sorted by the previous four-input model."""
    def p_old(c: float | None, cov: float, lead: float) -> float:
        a, b, d, g, h = OLD_COEF
        c = C.UNKNOWN_COSINE if c is None else c
        return 1.0 / (1.0 + math.exp(-(a + b * c + d * cov + g * c * cov + h * lead)))

    p = [p_old(c, cov, lead) for _, c, cov, lead, _ in ev]
    return [(ev[i][0], p[i]) for i in sorted(range(len(ev)), key=lambda i: -p[i])]


def _questions(coll: str, d: dict):  # type: ignore[no-untyped-def]
    """The questions of a collection: its own, and other collections' as off-topic ones (not
    those whose texts the collection holds: meaning-remote holds SciFact's and Cranfield's)."""
    holds = {"meaning-remote": ("scifact", "cranfield", "meaning")}.get(coll, ())
    for qid, e in d["q"].items():
        if not (qid.startswith("foreign") and qid.split(":")[1] in holds):
            yield qid, e


def _labelled(colls: list[str], before: bool = False):  # type: ignore[no-untyped-def]
    """Per collection: [(kind, evidence of the head, relevant files, judgements, dump entry)]."""
    out = {}
    for coll in colls:
        d = _load(coll)
        items = []
        for qid, e in _questions(coll, d):
            foreign = qid.startswith("foreign")
            rel = {} if foreign else {f: d["qrels"][qid].get(nm, 0) for f, nm in e["name"].items()
                                      if d["qrels"][qid].get(nm, 0) > 0}
            items.append(("off-topic" if foreign else "answerable",
                          evidence(e, d["N"], before=before), rel, d["qrels"].get(qid, {}), e))
            if not foreign:
                items.append(("relevant removed", evidence(e, d["N"], frozenset(rel), k=10,
                                                           before=before), {}, {}, e))
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
            for fid, c, cov, _, standout in ev[:10]:
                x.append(C.features(c, cov, standout))
                y.append(int(fid in rel))
                w.append(0.5 / foreign if kind == "off-topic" else 1.0 / own)
    model = LogisticRegression(C=10.0, max_iter=3000).fit(np.array(x), y, sample_weight=w)
    return (round(float(model.intercept_[0]), 3), *(round(float(v), 3) for v in model.coef_[0]))


def _bands(pairs: list[tuple[float, int]]) -> str:
    cells = []
    for lo, hi in BANDS:
        sel = [(p, y) for p, y in pairs if lo <= p < hi]
        if sel:
            cells.append(f"[{lo:.1f},{min(hi, 1):.1f}) {np.mean([p for p, _ in sel]):.2f}/"
                         f"{np.mean([y for _, y in sel]):.2f} n={len(sel)}")
    return "; ".join(cells)


def _right_first(pairs: list[float]) -> str:
    t = np.array(pairs)
    return (f"median {np.median(t):.2f}, >= 0.2: {np.mean(t >= 0.2):.0%}, "
            f">= 0.5: {np.mean(t >= 0.5):.0%} (n={len(t)})") if len(t) else "-"


def report(colls: list[str]) -> None:
    data = _labelled(colls)
    old = _labelled(colls, before=True)
    fitted = {c: v for c, v in data.items() if c not in EXTRA}
    coef = fit(fitted)
    print("COEF (fitted on", ", ".join(fitted), ") =", coef)
    held = {coll: fit(fitted, leave_out=coll) for coll in colls}
    print(f"{'nDCG@10':<34}" + "".join(f"{c[:13]:>15}" for c in colls))
    rows = {"bm25": lambda e, ev, oev: e["bm25"], "dense (exact)": lambda e, ev, oev: e["dense"],
            "dense (HNSW, as the app)": lambda e, ev, oev: e["hnsw"],
            "before: fixed weights, by strength": lambda e, ev, oev: by_old_strength(oev),
            "fusion, fixed weights": lambda e, ev, oev: fused_order(e, before=True),
            "after: fusion (the app)": lambda e, ev, oev: fused_order(e)}
    for name, fn in rows.items():
        vals = []
        for coll in colls:
            pairs = zip(data[coll], old[coll], strict=True)
            vals.append(np.mean([ndcg_at([e["name"][f] for f, _ in fn(e, ev, oev)[:10]], qr)
                                 for (kind, ev, _, qr, e), (_, oev, *_) in pairs
                                 if kind == "answerable"]))
        print(f"{name:<34}" + "".join(f"{v:>15.4f}" for v in vals))
    print("calibration, top ten of each question, predicted/observed by band (own questions and "
          "off-topic ones), and the strength a right first answer shows:")
    for coll in colls:
        before, after, unseen, first = [], [], [], [[], [], []]
        for (kind, ev, rel, _, _), (_, oev, *_) in zip(data[coll], old[coll], strict=True):
            if kind == "relevant removed":
                continue
            lists = (by_old_strength(oev)[:10], shown(ev, coef)[:10], shown(ev, held[coll])[:10])
            for acc, lst, right in zip((before, after, unseen), lists, first, strict=True):
                acc += [(p, int(f in rel)) for f, p in lst]
                if kind == "answerable" and lst and lst[0][0] in rel:
                    right.append(lst[0][1])
        print(f"  {coll}:\n    before: {_bands(before)}\n      right first: {_right_first(first[0])}"
              f"\n    after:  {_bands(after)}\n      right first: {_right_first(first[1])}"
              f"\n    unseen: {_bands(unseen)}\n      right first: {_right_first(first[2])}")
    print('"No good match" (flagged when the best file is weak), after:')
    for coll in colls:
        t = []
        for kind, ev, _, _, e in data[coll]:
            if ev:
                best_cos = max(e["file_cos"].values()) if e["file_cos"] else None
                t.append((kind, C.is_weak(best_cos, ev[0][2])))
        flagged = [k for k, w in t if w]
        tp = sum(1 for k in flagged if k != "answerable")
        neg = sum(1 for k, _ in t if k != "answerable")
        rates = ", ".join(f"{kind} flagged {np.mean([w for k, w in t if k == kind] or [0]):.2f}"
                          for kind in ("answerable", "off-topic", "relevant removed"))
        print(f"  {coll:<14} precision {tp / max(1, len(flagged)):.2f} "
              f"recall {tp / max(1, neg):.2f}; {rates}")


if __name__ == "__main__":
    command, names = sys.argv[1], sys.argv[2:] or list(COLLECTIONS)
    {"mix": mix, "dump": lambda: [dump(c) for c in names],
     "fit": lambda: print(fit(_labelled(names))),
     "report": lambda: report(names)}[command]()
