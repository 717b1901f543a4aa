"""A meaning marker over a hand-made word table, for tests that check how marks travel.

The tiny test models know too few word pieces to mark anything; the real model's marks are tested
under the real_model marker.
"""

from __future__ import annotations

import numpy as np

from app.core.search.meaning_marks import MeaningMarker
from tests.tiny_models import WORDS


def word_marker(words: dict[str, list[float]] | None = None) -> MeaningMarker:
    """One piece per word; ``words`` gives vectors, other known words get a random direction each."""
    words = words or {}
    vocab = ["[PAD]", "the", "and", *words, *(w for w in dict.fromkeys(WORDS) if w not in words)]
    rng = np.random.default_rng(0)
    dim = len(next(iter(words.values()))) if words else 16
    table = rng.standard_normal((len(vocab), dim)).astype(np.float32)
    table[1:3] = 1.0  # stopwords point everywhere: they must not count
    for w, vec in words.items():
        table[vocab.index(w)] = vec
    index = {w: i for i, w in enumerate(vocab)}

    def tokenize(text: str) -> tuple[list[int], list[tuple[int, int]]]:
        ids, offsets = [], []
        pos = 0
        for word in text.split():
            start = text.index(word, pos)
            pos = start + len(word)
            key = word.strip(".,:;!?#'\"()").lower()
            if key in index:
                at = start + word.lower().index(key)
                ids.append(index[key])
                offsets.append((at, at + len(key)))
        return ids, offsets

    return MeaningMarker(table, tokenize, lambda i: vocab[i] if i < len(vocab) else None)
