"""A synthetic library of N passages for the scale bench, written through the app's own catalog and
vector store.

No encoder runs: passages are Zipf-distributed pseudo-words (so BM25 does real work on common
and rare words alike) and their embeddings are clustered unit vectors, one topic per file with
the folder's topics more likely, and the topic's words mixed into the text so both retrievers
find the same files. Queries carry a vector near a topic, handed to the search in place of the
encoder's. With ``duplicates`` a share of the passages is boilerplate, as in real folders
(licence headers, signatures, disclaimers, log lines): copies of a pool of texts, most of them
exact (the same text, so the same embedding), some near-repeats (a word added, the vector
nudged), the pool's texts as unequally popular as words.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

VOCABULARY = 50_000
ZIPF_S = 1.07            # English word frequencies follow roughly 1/rank^1.07
ZIPF_Q = 2.7             # Mandelbrot's offset: the very top words are a little flatter
TOPIC_WORDS = 24         # per topic, drawn from mid-frequency words
TOPIC_SHARE = 0.12       # share of a passage's words that come from its topic
FILE_SPREAD = 0.8        # how far a file's vector strays from its topic's centre
PASSAGE_SPREAD = 0.9     # how far a passage strays from its file's vector
QUERY_SPREAD = 1.0
EXTENSIONS = ((".pdf", 0.25), (".docx", 0.15), (".txt", 0.18), (".md", 0.18), (".py", 0.09),
              (".html", 0.08), (".csv", 0.07))
TOP_FOLDERS = ("Documents", "Projects", "Work", "Notes", "Research", "Archive", "Invoices",
               "Mail", "Code", "Books", "Photos-scanned", "Taxes")
YEARS = 6
SEED = 13
BOILERPLATE_TEXTS = 200  # distinct repeated texts in a library with duplicates
NEAR_REPEAT_SHARE = 0.3  # of the repeats: the text a little changed, its vector nudged
NEAR_REPEAT_SPREAD = 0.05
MARK = "synthetic_bench"  # meta key of a catalog the bench wrote: only such a one is replaced


# -- the synthetic world ---------------------------------------------------------------------
@dataclass
class World:
    """Everything the library and its queries are drawn from; the same for the same seed."""

    dim: int
    vocab: np.ndarray        # of str
    cdf: np.ndarray          # Zipf cumulative probabilities over vocab
    centres: np.ndarray      # (topics, dim) unit vectors
    topic_words: np.ndarray  # (topics, TOPIC_WORDS) vocab indices

    @classmethod
    def make(cls, n: int, dim: int, seed: int = SEED) -> World:
        rng = np.random.default_rng(seed)
        vocab = _pseudo_words(rng, VOCABULARY)
        weights = 1.0 / (np.arange(VOCABULARY) + ZIPF_Q) ** ZIPF_S
        cdf = np.cumsum(weights) / weights.sum()
        topics = int(np.clip(n // 400, 8, 2500))
        centres = unit(rng.standard_normal((topics, dim)))
        topic_words = rng.integers(300, 20_000, size=(topics, TOPIC_WORDS))
        return cls(dim, vocab, cdf, centres, topic_words)

    def near(self, rng: np.random.Generator, topics: np.ndarray, spread: float) -> np.ndarray:
        noise = rng.standard_normal((len(topics), self.dim)) / np.sqrt(self.dim)
        return self.centres[topics] + spread * noise

    def zipf_words(self, rng: np.random.Generator, count: int) -> np.ndarray:
        return np.searchsorted(self.cdf, rng.random(count)).clip(0, VOCABULARY - 1)


def _pseudo_words(rng: np.random.Generator, count: int) -> np.ndarray:
    """Distinct pronounceable words of 2-4 syllables (not English: no stemming surprises)."""
    onsets = [*"bdfgklmnprstvz", "br", "ch", "st", "tr", "pl", "sh", "kr", "gl"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ou", "ei"]
    codas = ["", "", "", "n", "r", "s", "l", "m", "t"]
    syllables = [o + v + c for o in onsets for v in vowels for c in codas]
    words: dict[str, None] = {}
    while len(words) < count:
        picks = rng.integers(0, len(syllables), size=(count, 4))
        parts = rng.integers(2, 5, size=count)
        for row, k in zip(picks, parts, strict=True):
            words["".join(syllables[i] for i in row[:k])] = None
    return np.array(list(words)[:count], dtype=object)


def unit(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    return m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class Query:
    text: str
    vector: np.ndarray


def make_queries(world: World, count: int, seed: int = SEED + 1) -> list[Query]:
    """Two to four words (a topic word, mid-frequency words, sometimes a very common one)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        topic = int(rng.integers(len(world.centres)))
        words = [world.topic_words[topic, rng.integers(TOPIC_WORDS)]]
        words += list(rng.integers(50, 5000, size=int(rng.integers(1, 3))))
        if rng.random() < 0.4:
            words.append(int(rng.integers(0, 30)))  # a word in most passages: BM25's worst case
        vec = unit(world.near(rng, np.array([topic]), QUERY_SPREAD))[0]
        out.append(Query(" ".join(world.vocab[w] for w in words), vec))
    return out


# -- writing the library through the catalog's and vector store's own API ---------------------
@dataclass
class Layout:
    folders: list[str]
    folder_topics: np.ndarray  # (folders, 3)


def _layout(rng: np.random.Generator, root: str, files: int, topics: int) -> Layout:
    count = max(len(TOP_FOLDERS), files // 40)
    folders = []
    for i in range(count):
        top = TOP_FOLDERS[i % len(TOP_FOLDERS)]
        depth = i // len(TOP_FOLDERS)
        sub = "" if depth == 0 else f"/{2015 + depth % 10}/project-{depth:04d}"
        folders.append(f"{root}/{top}{sub}")
    return Layout(folders, rng.integers(0, topics, size=(count, 3)))


@dataclass
class Boilerplate:
    """The repeated texts of a library with duplicates, each near a topic, and their popularity."""

    texts: list[str]
    vectors: np.ndarray  # (BOILERPLATE_TEXTS, dim) unit vectors
    cdf: np.ndarray

    @classmethod
    def make(cls, world: World, rng: np.random.Generator) -> Boilerplate:
        topics = rng.integers(0, len(world.centres), BOILERPLATE_TEXTS)
        weights = 1.0 / (np.arange(BOILERPLATE_TEXTS) + 1.0) ** ZIPF_S
        return cls(_passages(world, rng, topics), unit(world.near(rng, topics, FILE_SPREAD)),
                   np.cumsum(weights) / weights.sum())

    def replace(self, rng: np.random.Generator, share: float, texts: list[str],
                vecs: np.ndarray) -> int:
        """Turn about ``share`` of the passages into repeats, in place; how many."""
        picked = np.flatnonzero(rng.random(len(texts)) < share)
        which = np.searchsorted(self.cdf, rng.random(len(picked))).clip(0, len(self.texts) - 1)
        near = rng.random(len(picked)) < NEAR_REPEAT_SHARE
        for i, w, nudge in zip(picked, which, near, strict=True):
            texts[i] = self.texts[w]
            vecs[i] = self.vectors[w]
            if nudge:
                texts[i] += f" (copy {int(rng.integers(1, 10_000))})"
                vecs[i] = unit(self.vectors[w] + NEAR_REPEAT_SPREAD * rng.standard_normal(
                    len(vecs[i])) / np.sqrt(len(vecs[i])))
        return len(picked)


def build_library(folder: Path, model_name: str, n: int, dim: int, root: str,
                  progress: Any = None, duplicates: float = 0.0) -> dict[str, Any]:
    """Write ``n`` passages into a new index at ``folder``; what was written.

    ``duplicates``: the share of passages that repeat boilerplate (0 for none).
    """
    from app.core.records import Chunk
    from app.core.storage.store import IndexStore

    world = World.make(n, dim)
    rng = np.random.default_rng(SEED + 2)
    sizes = _file_sizes(rng, n)
    layout = _layout(rng, root, len(sizes), len(world.centres))
    exts = [e for e, _ in EXTENSIONS]
    ext_p = np.array([p for _, p in EXTENSIONS]) / sum(p for _, p in EXTENSIONS)
    now_ns = time.time_ns()
    # Its own generator: the library without repeats stays the same whatever the share.
    dup_rng = np.random.default_rng(SEED + 3)
    boilerplate = Boilerplate.make(world, dup_rng) if duplicates > 0 else None
    repeats = 0
    store = IndexStore(folder, model_name, dim)
    try:
        with store.catalog.transaction():
            store.catalog.set_meta(MARK, "1")
        written = 0
        batch = 400  # files per transaction
        for start in range(0, len(sizes), batch):
            part = sizes[start:start + batch]
            fidx = np.arange(start, start + len(part))
            fold = rng.integers(0, len(layout.folders), size=len(part))
            own = rng.random(len(part)) < 0.7
            topic = np.where(own, layout.folder_topics[fold, rng.integers(0, 3, len(part))],
                             rng.integers(0, len(world.centres), len(part)))
            file_vecs = world.near(rng, topic, FILE_SPREAD)
            ext = rng.choice(len(exts), size=len(part), p=ext_p)
            mtimes = now_ns - (rng.random(len(part)) * YEARS * 365 * 86400 * 1e9).astype(np.int64)
            total = int(part.sum())
            owner = np.repeat(np.arange(len(part)), part)
            vecs = unit(file_vecs[owner] + PASSAGE_SPREAD * rng.standard_normal(
                (total, dim)) / np.sqrt(dim))
            texts = _passages(world, rng, topic[owner])
            if boilerplate is not None:
                repeats += boilerplate.replace(dup_rng, duplicates, texts, vecs)
            ids_all: list[int] = []
            with store.catalog.transaction():
                pos = 0
                for j, count in enumerate(part):
                    path = f"{layout.folders[fold[j]]}/file-{fidx[j]:07d}{exts[ext[j]]}"
                    mine = texts[pos:pos + count]
                    fid = store.catalog.put_file(path, os.path.dirname(path),
                                                 sum(len(t) for t in mine), int(mtimes[j]),
                                                 f"{fidx[j]:040x}", "indexed")
                    chunks = [Chunk(text=t, page=(k + 1) if exts[ext[j]] == ".pdf" else None,
                                    line_start=6 * k + 1, line_end=6 * k + 6, char_start=0,
                                    char_end=len(t)) for k, t in enumerate(mine)]
                    # With embeddings, add_chunks puts the file straight at stage 'meaning'.
                    ids_all += store.catalog.add_chunks(fid, path, chunks, vecs[pos:pos + count])
                    pos += count
            # All cores, large batches: nobody searches this index while it is written.
            store.vectors.add(np.asarray(ids_all, dtype=np.uint64), vecs, bulk=True)
            written += total
            if progress is not None:
                progress(written, n)
        store.save()
    finally:
        store.close()
    return {"chunks": n, "files": len(sizes), "folders": len(layout.folders),
            "topics": len(world.centres), "repeats": repeats}


def _file_sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Passages per file: most files short, a few long (geometric, mean about 5, at most 200)."""
    sizes = []
    left = n
    while left > 0:
        s = np.minimum(rng.geometric(0.2, size=max(16, left // 4)), 200)
        for v in s:
            v = int(min(v, left))
            sizes.append(v)
            left -= v
            if left == 0:
                break
    return np.array(sizes, dtype=np.int64)


def _passages(world: World, rng: np.random.Generator, topics: np.ndarray) -> list[str]:
    """One passage per entry of ``topics``: 40 to 200 words (mean 120), about an eighth topical."""
    lengths = rng.integers(40, 201, size=len(topics))
    total = int(lengths.sum())
    words = world.zipf_words(rng, total)
    topical = rng.random(total) < TOPIC_SHARE
    owner = np.repeat(np.arange(len(topics)), lengths)
    words[topical] = world.topic_words[topics[owner[topical]],
                                       rng.integers(0, TOPIC_WORDS, int(topical.sum()))]
    strings = world.vocab[words]
    ends = np.cumsum(lengths)
    return [" ".join(strings[e - size:e]) for e, size in zip(ends, lengths, strict=True)]


def library_root(data_dir: Path) -> str:
    """Where the synthetic files would live (they are never written to disk)."""
    return str(Path(data_dir).resolve() / "library")


__all__ = ["MARK", "TOP_FOLDERS", "Query", "World", "build_library", "library_root",
           "make_queries", "unit"]
