"""What a sentence-transformers model folder says about itself, read from its JSON files without torch.

Chunking needs the model's tokenizer and passage limit, and a new index needs the embedding width.
Reading them from the folder lets the words stage of indexing start on the very first run, while
the model itself (torch, the backend check) loads behind it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_POOLING_MODES = ("pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens",
                  "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                  "pooling_mode_lasttoken")
_SIMPLE_MODULES = {"Transformer", "Pooling", "Normalize"}  # class names; their module paths vary by version


@dataclass(frozen=True)
class ModelFacts:
    """The embedding width, the word pieces a passage may hold, and the tokenizer file."""

    dim: int
    max_tokens: int
    tokenizer_file: Path


def read_facts(folder: str | Path) -> ModelFacts | None:
    """The facts of a local model folder, or None when they cannot be known without loading it.

    Only the plain layout (a transformer, one pooling mode, an optional normalisation) is read:
    with a dense layer or concatenated poolings the width is the model's to say, so it loads.
    """
    root = Path(folder)
    try:
        modules = _json(root / "modules.json")
        if not isinstance(modules, list) or not modules:
            return None
        kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
        if any(k not in _SIMPLE_MODULES for k in kinds):
            return None
        tdir = root / modules[kinds.index("Transformer")].get("path", "")
        pool = _json(root / modules[kinds.index("Pooling")]["path"] / "config.json")
        dim = int(pool.get("word_embedding_dimension") or pool["embedding_dimension"])
        if not _one_pooling_mode(pool):
            return None
        limit = _max_seq_length(tdir)
        tokenizer = tdir / "tokenizer.json"
        if limit is None or not tokenizer.is_file() or dim <= 0 or limit <= 2:
            return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    # The same limit the loaded model applies: two places go to [CLS] and [SEP].
    return ModelFacts(dim=dim, max_tokens=limit - 2, tokenizer_file=tokenizer)


def offsets_from(facts: ModelFacts) -> Callable[[str], list[tuple[int, int]]]:
    """Word-piece character spans of a text, by the model's own tokenizer, without truncation."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(facts.tokenizer_file))
    tok.no_truncation()
    tok.no_padding()
    lock = threading.Lock()  # a fast tokenizer used by two threads at once fails ("Already borrowed")

    def offsets(text: str) -> list[tuple[int, int]]:
        with lock:
            return tok.encode(text, add_special_tokens=False).offsets

    return offsets


def _one_pooling_mode(pool: dict[str, Any]) -> bool:
    """One pooling mode (older configs name it by flags, newer ones by a string)."""
    if "pooling_mode" in pool:
        return isinstance(pool["pooling_mode"], str)
    return sum(bool(pool.get(mode)) for mode in _POOLING_MODES) == 1


def _max_seq_length(tdir: Path) -> int | None:
    """The passage limit in word pieces, as sentence-transformers sets it when it loads the folder."""
    sbert = tdir / "sentence_bert_config.json"
    if sbert.is_file():
        value = _json(sbert).get("max_seq_length")
        if value is not None:
            return int(value)
    # Newer folders leave it to the tokenizer, bounded by the position embeddings.
    tok_limit = _json(tdir / "tokenizer_config.json").get("model_max_length")
    positions = _json(tdir / "config.json").get("max_position_embeddings")
    if tok_limit is None or positions is None:
        return None
    return min(int(tok_limit), int(positions))


def _json(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)
