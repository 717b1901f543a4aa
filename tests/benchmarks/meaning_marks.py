"""Benchmark: is the marked sentence the one that answers? And what do the marks add to a search?

How the benchmark is built (from ../shared/data/ir/msmarco-sub5k, TREC DL 2019 questions):
for each question, up to 4 passages judged "perfectly relevant" (grade 3, 2 to 6 sentences) are
each spliced with 2 passages judged for *other* questions only (so not relevant to this one),
chosen among the 20 that share the most words with the question (what a keyword window is drawn
to). The three are shuffled into one passage. The answer is known: any sentence of the grade-3
passage. A method is right when the sentence it marks belongs to that passage.

Methods: the keyword window's sentence (the one holding the most query words, what the snippet
centred on before), the meaning mark (meaning_marks.py) and, with --transformer, the model run on
every sentence (the upper bound, about a second per search on 2 cores).

Latency: for each SciFact question, 30 abstracts cut to about a passage (1,100 characters) stand
for 10 results of 3 passages; the time of the marks (query pieces + best sentence + window) is
compared with the keyword window alone.

    .venv/bin/python tests/benchmarks/meaning_marks.py [--transformer] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.core.encoders.models import offline_default_model  # noqa: E402
from app.core.search.meaning_marks import MeaningMarker, sentence_spans  # noqa: E402
from app.core.search.query import parse_query  # noqa: E402
from app.core.search.snippets import highlight_spans, make_snippet, marked_snippet  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "ir"
PASSAGE_CHARS = 1100


def _read(folder: Path) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]:
    corpus = {}
    with open(folder / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            corpus[o["_id"]] = (o.get("title", "") + ". " if o.get("title") else "") + o["text"]
    with open(folder / "queries.jsonl", encoding="utf-8") as f:
        queries = {o["_id"]: o["text"] for o in map(json.loads, f)}
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            q, d, s = line.rstrip("\n").split("\t")
            qrels.setdefault(q, {})[d] = int(s)
    return corpus, queries, qrels


def build_cases(seed: int = 0) -> list[tuple[str, str, list[tuple[int, int]], list[bool]]]:
    """(question, spliced passage, its sentence spans, which of them answer)."""
    corpus, queries, qrels = _read(SHARED / "msmarco-sub5k")
    rng = random.Random(seed)
    cases = []
    for qid, question in sorted(queries.items()):
        q = parse_query(question)
        judged = qrels.get(qid, {})
        others = [d for d in corpus if d not in judged]
        hard = sorted(others, key=lambda d: -len(highlight_spans(corpus[d], q)))[:20]
        answers = [d for d, s in sorted(judged.items()) if s == 3
                   and 2 <= len(sentence_spans(corpus[d])) <= 6][:4]
        for d in answers:
            parts = [(corpus[x], x == d) for x in [d, *rng.sample(hard, 2)]]
            rng.shuffle(parts)
            text, labels, spans = "", [], []
            for body, right in parts:
                start = len(text) + (1 if text else 0)
                text = (text + " " if text else "") + body
                for a, b in sentence_spans(body):
                    spans.append((start + a, start + b))
                    labels.append(right)
            cases.append((question, text, spans, labels))
    return cases


def _label(spans: list[tuple[int, int]], labels: list[bool], mark: tuple[int, int] | None) -> bool:
    if mark is None:
        return False
    mid = (mark[0] + mark[1]) // 2
    return any(a <= mid < b and ok for (a, b), ok in zip(spans, labels, strict=True))


def keyword_sentence(question: str, text: str) -> tuple[int, int] | None:
    """The sentence holding the most query words: where the keyword window centres (with no
    query word the window starts the passage: its first sentence)."""
    q = parse_query(question)
    spans = sentence_spans(text)
    counts = [len(highlight_spans(text[a:b], q)) for a, b in spans]
    return spans[int(np.argmax(counts))] if spans else None


def accuracy(marker: MeaningMarker, transformer: bool) -> dict[str, float]:
    cases = build_cases()
    out: dict[str, list[bool]] = {"keyword_window": [], "meaning_mark": [], "chance": []}
    marked = 0
    encoder = _encoder() if transformer else None
    if encoder is not None:
        out["transformer_per_sentence"] = []
    for question, text, spans, labels in cases:
        out["chance"].append(float(np.mean(labels)))  # type: ignore[arg-type]
        out["keyword_window"].append(_label(spans, labels, keyword_sentence(question, text)))
        pieces = marker.query(question)
        mark = marker.best_sentence(text, pieces) if pieces is not None else None
        marked += mark is not None
        # No sentence close enough: the snippet keeps the keyword window.
        out["meaning_mark"].append(_label(spans, labels, mark or keyword_sentence(question, text)))
        if encoder is not None:
            sents = sentence_spans(text)
            vecs = encoder._runner.encode_documents([text[a:b] for a, b in sents], 32)
            best = sents[int(np.argmax(vecs @ encoder.encode(question)))]
            out["transformer_per_sentence"].append(_label(spans, labels, best))
    result = {k: float(np.mean(v)) for k, v in out.items()}
    result["cases"] = len(cases)
    result["questions"] = len({c[0] for c in cases})
    result["meaning_marked_share"] = marked / len(cases)
    return result


def latency(marker: MeaningMarker, repeats: int = 3) -> dict[str, float]:
    corpus, queries, _ = _read(SHARED / "scifact")
    rng = random.Random(1)
    docs = [t[:PASSAGE_CHARS] for t in corpus.values()]
    added, plain = [], []
    for question in list(queries.values())[:100]:
        passages = rng.sample(docs, 30)  # 10 results x 3 passages
        q = parse_query(question)
        best_added = best_plain = 1e9
        for _ in range(repeats):
            t0 = time.perf_counter()
            for p in passages:
                make_snippet(p, q)
            t1 = time.perf_counter()
            pieces = marker.query(question)  # as Searcher.meaning_focus: all passages at once
            focus = marker.best_sentences(passages, pieces) if pieces is not None else [None] * 30
            for p, f in zip(passages, focus, strict=True):
                marked_snippet(p, q, f)
            t2 = time.perf_counter()
            best_plain = min(best_plain, t1 - t0)
            best_added = min(best_added, (t2 - t1) - (t1 - t0))
        added.append(best_added * 1e3)
        plain.append(best_plain * 1e3)
    return {"keyword_snippets_ms_p50": float(np.median(plain)),
            "added_ms_p50": float(np.median(added)),
            "added_ms_p95": float(np.percentile(added, 95)),
            "searches": len(added)}


def _encoder():  # type: ignore[no-untyped-def]
    from app.core.encoders.embedder import Embedder

    emb = Embedder("sentence-transformers/all-MiniLM-L6-v2")
    emb.prepare_queries()
    light = emb.light()
    if light is None:
        raise SystemExit("--transformer needs the exported query encoder (run a search once)")
    return light


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--transformer", action="store_true", help="also the per-sentence upper bound")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    folder = offline_default_model()
    if folder is None or not (SHARED / "msmarco-sub5k").is_dir():
        print("needs the offline all-MiniLM-L6-v2 and ../shared/data/ir/", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    marker = MeaningMarker.from_folder(folder)
    assert marker is not None
    load_s = time.perf_counter() - t0
    result = {"load_s": load_s, "accuracy": accuracy(marker, args.transformer),
              "latency": latency(marker)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        acc, lat = result["accuracy"], result["latency"]
        print(f"{acc['cases']} spliced passages from {acc['questions']} questions "
              f"(msmarco-sub5k, grade-3 answer + 2 keyword-heavy distractors)")
        for k in ("chance", "keyword_window", "meaning_mark", "transformer_per_sentence"):
            if k in acc:
                print(f"  {k:26} {acc[k]:.1%} of marked sentences are in the answer")
        print(f"  meaning mark shown on       {acc['meaning_marked_share']:.1%} of passages")
        print(f"marks for 10 results x 3 passages: +{lat['added_ms_p50']:.2f} ms median, "
              f"+{lat['added_ms_p95']:.2f} ms p95 (keyword snippets alone "
              f"{lat['keyword_snippets_ms_p50']:.2f} ms); table loaded once in {load_s:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
