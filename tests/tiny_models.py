"""Tiny random-weight models built locally, saved in sentence-transformers format (no download)."""

from __future__ import annotations

import string
from pathlib import Path

WORDS = """the a of and to in is for on with that by this from dog dogs food canine nutrition
puppy diet protein landlord deposit lease rent tenant invoice plumber boiler valve meeting notes
report budget revenue page line error file code python function return value test alpha beta
gamma delta apple banana cherry river mountain ocean science physics chemistry biology""".split()


def _vocab() -> list[str]:
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    pieces = [f"##{c}" for c in string.ascii_lowercase + string.digits]
    return special + chars + pieces + sorted(set(WORDS))


def _tokenizer(folder: Path):  # type: ignore[no-untyped-def]
    from transformers import BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(_vocab()) + "\n", encoding="utf-8")
    return BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True)


def _config(vocab_size: int, **extra):  # type: ignore[no-untyped-def]
    from transformers import BertConfig

    return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=1,
                      num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                      **extra)


def build_bi_encoder(folder: Path, max_seq_length: int = 64) -> Path:
    """A 1-layer BERT with mean pooling, as a sentence-transformers folder."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertModel

    try:
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Normalize, Pooling, Transformer

    torch.manual_seed(0)
    raw = folder / "hf"
    tok = _tokenizer(raw)
    BertModel(_config(len(tok))).save_pretrained(raw)
    tok.save_pretrained(raw)
    word = Transformer(str(raw), max_seq_length=max_seq_length)
    dim = (word.get_embedding_dimension() if hasattr(word, "get_embedding_dimension")
           else word.get_word_embedding_dimension())
    pooling = Pooling(dim, pooling_mode="mean")
    model = SentenceTransformer(modules=[word, pooling, Normalize()], device="cpu")
    out = folder / "st"
    model.save(str(out))
    return out


def build_cross_encoder(folder: Path) -> Path:
    """A 1-layer BERT with a one-logit head, loadable by ``CrossEncoder(folder)``."""
    import torch
    from transformers import BertForSequenceClassification

    torch.manual_seed(1)
    tok = _tokenizer(folder)
    BertForSequenceClassification(_config(len(tok), num_labels=1)).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
