"""Peak memory of reading and chunking one big text file as the indexer's words stage does.

    python -m tests.benchmarks.big_text_memory FILE [EXPORT_FOLDER]

EXPORT_FOLDER holds the model export's tokenizer.json (default: the all-MiniLM-L6-v2 export in
Sift's cache). Prints the passages, the peak RSS (VmHWM) and the seconds. Linux only.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from app.core.encoders.query_encoder import offsets_tokenizer
from app.core.extract import extract_file
from app.core.extract.chunking import chunk_sections


def peak_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    path = Path(sys.argv[1])
    if len(sys.argv) > 2:
        export = Path(sys.argv[2])
    else:
        export = next((Path.home() / ".cache" / "Sift" / "encoders").glob("all-MiniLM-L6-v2-*"))
    offsets = offsets_tokenizer(export)
    if offsets is None:
        sys.exit(f"no tokenizer export in {export}")
    loaded = peak_mb()
    t0 = time.perf_counter()
    found = extract_file(path)
    chunks = chunk_sections(found.sections, offsets, 256, 32)
    print(f"{path.name}: {len(chunks):,} passages, peak RSS {peak_mb():.0f} MB "
          f"(tokenizer loaded: {loaded:.0f} MB), {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
