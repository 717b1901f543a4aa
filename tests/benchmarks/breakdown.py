"""Where indexing time goes: CPU milliseconds per passage for each pipeline stage, measured one at a time.

CPU time, not wall time, because the machine is shared: other processes stretch wall time but
not the CPU work our stages need. On a machine whose cores the encoder saturates, every
millisecond of non-encode CPU work is a millisecond the encoder loses.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from app.core.host.paths import resolve_paths
from app.core.library import Library
from app.core.measure.evaluation import load_beir, write_corpus
from app.core.settings import Settings


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("corpus", type=Path)
    p.add_argument("-n", type=int, default=300, help="documents")
    p.add_argument("--backend", default="auto")
    p.add_argument("--cache", type=Path, default=None)
    args = p.parse_args()
    corpus, _, _ = load_beir(args.corpus)
    with tempfile.TemporaryDirectory(prefix="sift-bd-") as tmp:
        docs = Path(tmp) / "docs"
        write_corpus(dict(list(corpus.items())[: args.n]), docs)
        paths = resolve_paths(Path(tmp) / "data")
        settings = replace(Settings(), backend=args.backend)
        from app.core.encoders.embedder import Embedder

        emb = Embedder(settings.model, backend=args.backend, cache_dir=args.cache)
        lib = Library(paths, settings, embedder=emb)
        info = emb.load()
        print(f"{info.backend}; {args.n} documents")
        indexer = lib.indexer()
        files = sorted(docs.iterdir())
        from app.core.records import ScannedFile

        scanned = [ScannedFile(str(f), str(docs), f.stat().st_size, f.stat().st_mtime_ns)
                   for f in files]
        t = time.thread_time()
        reader = indexer.reader()
        ops = [reader.read_one(s, None, {}) for s in scanned]
        read_cpu = time.thread_time() - t
        texts = [c.text for op in ops for c in op.chunks]
        n = len(texts)
        from app.core.extract import extract
        from app.core.extract.chunking import chunk_sections

        t = time.thread_time()
        for f in files:
            extract(f)
        extract_cpu = time.thread_time() - t
        t = time.thread_time()
        for f in files:
            emb.token_offsets(f.read_text())
        tok_cpu = time.thread_time() - t
        sections = [extract(f) for f in files]
        t = time.thread_time()
        for s in sections:
            chunk_sections(s, emb.token_offsets, info.max_tokens, 32)
        chunk_cpu = time.thread_time() - t
        runner = emb._runner
        tok = getattr(runner, "tokenizer", None)
        emb.embed_documents(texts[:16])
        t, w = time.process_time(), time.perf_counter()
        vecs = emb.embed_documents(texts)
        enc_cpu, enc_wall = time.process_time() - t, time.perf_counter() - w
        enc_tok_cpu = 0.0
        if tok is not None:
            t = time.thread_time()
            for i in range(0, n, 16):
                tok.encode_batch(texts[i:i + 16])
            enc_tok_cpu = time.thread_time() - t
        store = lib.store
        t = time.thread_time()
        with store.catalog.transaction():
            ids = []
            for k, op in enumerate(ops):
                fid = store.catalog.put_file(op.file.path, op.file.folder, op.file.size,
                                             op.file.mtime_ns, op.hash, "indexed")
                ids += store.catalog.add_chunks(fid, op.file.path, op.chunks,
                                                np.zeros((len(op.chunks), info.dim), np.float32) + k)
        db_cpu = time.thread_time() - t
        t = time.thread_time()
        store.vectors.add(np.asarray(ids, dtype=np.uint64), vecs)
        vec_cpu = time.thread_time() - t
        lib.close()
    ms = 1000.0 / n
    print(f"{n} passages; CPU ms per passage:")
    for name, v in [("read one file (hash+extract+chunk)", read_cpu), ("  extract only", extract_cpu),
                    ("  tokenize whole file for chunking", tok_cpu), ("  chunk (tokenize+cut)", chunk_cpu),
                    ("encode (process CPU, all threads)", enc_cpu),
                    ("  of which tokenization for encode", enc_tok_cpu),
                    ("SQLite insert (files+chunks+FTS)", db_cpu), ("usearch add", vec_cpu)]:
        print(f"  {name:<40}{v * ms:8.2f}")
    print(f"encode wall {n / enc_wall:.1f} passages/s; non-encode CPU share "
          f"{(read_cpu + db_cpu + vec_cpu) / (enc_cpu + read_cpu + db_cpu + vec_cpu):.1%}")


if __name__ == "__main__":
    main()
