"""First launch: seconds until the model is in on a fresh computer, on a second data folder, and again.

The real window (offscreen) on an empty user cache, then on a second data folder with the same
cache, then the first data folder once more; each run quits once the status bar names the
backend. Without a network the default model cannot be had: ``--shape minilm`` builds a model of
all-MiniLM-L6-v2's shape (6 layers, 384 wide, random weights), whose backend check costs what the
real one's does.

    .venv/bin/python tests/benchmarks/first_launch.py --shape minilm
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def minilm_shaped(folder: Path) -> Path:
    """A sentence-transformers folder with all-MiniLM-L6-v2's architecture and random weights."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel

    from tests.tiny_models import _tokenizer

    try:
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Normalize, Pooling, Transformer

    torch.manual_seed(0)
    raw = folder / "hf"
    tok = _tokenizer(raw)
    config = BertConfig(vocab_size=len(tok), hidden_size=384, num_hidden_layers=6,
                        num_attention_heads=12, intermediate_size=1536, max_position_embeddings=512)
    BertModel(config).save_pretrained(raw)
    tok.save_pretrained(raw)
    word = Transformer(str(raw), max_seq_length=256)
    model = SentenceTransformer(modules=[word, Pooling(384, pooling_mode="mean"), Normalize()],
                                device="cpu")
    model.save(str(folder / "st"))
    return folder / "st"


def launch(data_dir: Path, machine_cache: Path, model: str) -> tuple[float, float, bool]:
    """(seconds until the model was in, wall seconds of the run, whether the check was announced)."""
    from app.core.settings import Settings, save_settings

    data_dir.mkdir(parents=True, exist_ok=True)
    if not (data_dir / "settings.json").exists():
        save_settings(data_dir / "settings.json", Settings(model=model, backend="auto", rerank=False))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "SIFT_MACHINE_CACHE": str(machine_cache)}
    script = [[0, "await-model", ""], [0, "quit", ""]]
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "tests.gui.app_driver", "--data-dir", str(data_dir),
                          "--script", json.dumps(script), "--no-watch", "--measure-startup"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    wall = time.monotonic() - started
    if run.returncode != 0:
        raise SystemExit(f"the app failed ({run.returncode}):\n{run.stderr[-3000:]}")
    loaded = [float(line.split()[-2]) / 1000 for line in run.stdout.splitlines()
              if line.startswith("model loaded after")]
    return (loaded[0] if loaded else float("nan")), wall, "Choosing the fastest way" in run.stderr


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", choices=("tiny", "minilm"), default="minilm")
    parser.add_argument("--model", help="a local sentence-transformers folder instead of --shape")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sift-first-launch-"))
    if args.model:
        model = args.model
    elif args.shape == "tiny":
        from tests.tiny_models import build_bi_encoder

        model = str(build_bi_encoder(work / "model"))
    else:
        model = str(minilm_shaped(work / "model"))
    cache = work / "user-cache"
    print(f"model: {model}; load: {os.getloadavg()[0]:.1f} (1-minute average)")
    for label, folder in (("fresh computer (empty user cache)", "data-1"),
                          ("second data folder, same computer", "data-2"),
                          ("first data folder again", "data-1")):
        loaded, wall, announced = launch(work / folder, cache, model)
        print(f"{label:36s} model in after {loaded:6.1f} s   whole run {wall:6.1f} s   "
              f"check {'announced' if announced else 'skipped'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
