"""Images (PNG, JPEG, TIFF, WebP): checked cheaply here; their text comes from OCR (ocr.py)."""

from __future__ import annotations

import warnings
from pathlib import Path

from app.core.errors import SkipFile

# Pillow's own decompression-bomb threshold (about 89 million pixels, 9,500 × 9,500).
MAX_PIXELS = 89_478_485
# Icons and bullets: no line of text fits in fewer pixels than this.
MIN_SIDE = 24
# A multi-page TIFF (a faxed or scanned document) is read page by page, up to this many.
MAX_FRAMES = 200


def check_image(path: Path) -> int:
    """The number of pages (frames) to OCR; SkipFile for damaged or oversized images.

    Only the header is read: Pillow decodes pixels lazily, so a 20,000 × 20,000 image costs
    nothing until it would be loaded, and it never is.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                frames = getattr(image, "n_frames", 1)
    except Image.DecompressionBombError as exc:
        raise SkipFile(f"the image has more than {2 * MAX_PIXELS / 1e6:.0f} million pixels, too many "
                       "to read safely; skipped") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise SkipFile("not a readable image (damaged or an unknown format)") from exc
    if width * height > MAX_PIXELS:
        raise SkipFile(f"the image is {width:,} × {height:,} pixels, too many to read safely "
                       f"(limit {MAX_PIXELS / 1e6:.0f} million); skipped")
    if min(width, height) < MIN_SIDE:
        raise SkipFile(f"the image is {width} × {height} pixels, too small to hold readable text")
    return min(frames, MAX_FRAMES)
