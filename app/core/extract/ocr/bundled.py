"""The bundled engine (RapidOCR's PP-OCRv4 models on onnxruntime), tuned to cost what Tesseract
costs per page: detection at a reduced size, one thread, lines recognised one by one, narrowed.

Runs in the OCR worker process only (importing it loads OpenCV and onnxruntime).

Where the time went (a Letter page of 11 pt text at 300 dpi, 12.8 CPU s on a busy machine):
detection on the whole 2,550 × 3,300 render; a second onnxruntime thread, spinning while it
waited; allocations without onnxruntime's memory arena (system time); recognition of lines
padded to the widest of each batch of 6. See docs/ocr.md for the measurements.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

# Text lines are found on the page at about this resolution, in dpi: 11 pt text is then
# 18 px high, well within what the detector reads, at a sixth of the pixels of 300 dpi
# (detection took 0.25 CPU s a page this way, 0.64 at 2,000 px, more at the full 300 dpi).
DETECT_DPI = 120
# Images (photos, screenshots) are searched for lines at their own size (a screenshot's text is
# small), up to this long side (RapidOCR's own).
DETECT_MAX_SIDE = 2000
# Lines are recognised narrowed to this share of their width (the recogniser's cost follows the
# width); a line it is unsure of is read again at full width.
NARROW = 0.8
# Lines are recognised one at a time: in batches each is padded to the widest of its batch, and
# on one thread a batch is no faster per line (recognition took 1.5 CPU s a page this way, 2.1
# in RapidOCR's batches of 6).
REC_BATCH = 1
UNSURE_SCORE = 0.9
TEXT_SCORE = 0.5  # lines read with less confidence are noise (RapidOCR's own threshold)


def make_engine(max_side: int) -> Any:
    """A RapidOCR engine on one thread, with onnxruntime's memory arena and no spinning."""
    from rapidocr_onnxruntime import RapidOCR

    _tune_sessions()
    engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, max_side_len=max_side,
                      det_limit_type="max", det_limit_side_len=DETECT_MAX_SIDE,
                      rec_batch_num=REC_BATCH)
    _detect_at_chosen_size(engine.text_det)
    recogniser = engine.text_rec
    full = type(recogniser).resize_norm_img
    recogniser.narrow = NARROW

    def resize(img: Any, max_wh_ratio: float) -> Any:
        return _narrowed(recogniser, full, img, max_wh_ratio)

    recogniser.resize_norm_img = resize
    return engine


def _detect_at_chosen_size(detector: Any) -> None:
    """Have the detector shrink an image to ``limit_side_len`` on its long side: RapidOCR's own
    choice of that size ignores the setting and takes 2,000 px for any large image."""
    from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

    def preprocess(longest: int) -> Any:
        return DetPreProcess(min(longest, detector.limit_side_len), "max", detector.mean,
                             detector.std)

    detector.get_preprocess = preprocess


def _tune_sessions() -> None:
    """One thread that sleeps when idle, and buffers kept between pages (without the arena each
    page's allocations cost more system time than the detection itself)."""
    try:
        from rapidocr_onnxruntime.utils import infer_engine
    except ImportError:
        return
    session = infer_engine.OrtInferSession
    if getattr(session, "_sift_tuned", False):
        return
    original = session._init_sess_opts

    def options(config: dict[str, Any]) -> Any:
        opts = original(config)
        opts.enable_cpu_mem_arena = True
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return opts

    session._init_sess_opts = staticmethod(options)
    session._sift_tuned = True


def _narrowed(recogniser: Any, full: Any, img: Any, max_wh_ratio: float) -> Any:
    """The line image for the recogniser, ``recogniser.narrow`` times its width."""
    import cv2

    narrow = float(getattr(recogniser, "narrow", 1.0))
    if narrow >= 1.0:
        return full(recogniser, img, max_wh_ratio)
    h, w = img.shape[:2]
    img = cv2.resize(img, (max(1, math.ceil(w * narrow)), h), interpolation=cv2.INTER_AREA)
    return full(recogniser, img, max_wh_ratio * narrow)


def read_page(engine: Any, image: Any, detect_side: int) -> list[tuple[Any, str, float]]:
    """(box, text, score) of each line of an RGB page image."""
    import numpy as np

    pixels = np.asarray(image)
    engine.text_det.limit_side_len = max(32, detect_side)
    # No angle classifier: it turns long upright lines upside down (7 of 30 lines of a test
    # page read as nothing; word error rate 0.26 with it, 0.06 without).
    # Every line comes back (text_score 0): one unsure when narrowed may be sure at full width.
    result, _elapsed = engine(pixels, use_cls=False, text_score=0.0)
    lines = [(box, text, float(score)) for box, text, score in result or ()]
    unsure = [i for i, (_, _, score) in enumerate(lines) if score < UNSURE_SCORE]
    if unsure:
        lines = _read_again(engine, pixels, lines, unsure)
    return [line for line in lines if line[2] >= TEXT_SCORE and line[1].strip()]


def _read_again(engine: Any, pixels: Any, lines: list[tuple[Any, str, float]],
                which: Sequence[int]) -> list[tuple[Any, str, float]]:
    """The unsure lines read at full width; the surer reading of each is kept."""
    import numpy as np

    boxes = np.array([lines[i][0] for i in which], dtype=np.float32)
    crops = engine.get_crop_img_list(pixels, boxes)
    recogniser = engine.text_rec
    recogniser.narrow = 1.0
    try:
        again, _elapsed = recogniser(crops)
    finally:
        recogniser.narrow = NARROW
    better = list(lines)
    for i, (text, score) in zip(which, again, strict=True):
        if float(score) > lines[i][2]:
            better[i] = (lines[i][0], text, float(score))
    return better


def lines_from_boxes(result: Sequence[tuple[Any, str, float]] | None) -> str:
    """Engine boxes → reading-order lines: boxes whose vertical centres are close share a line."""
    if not result:
        return ""
    items = []
    for box, text, _score in result:
        ys = [p[1] for p in box]
        xs = [p[0] for p in box]
        items.append(((min(ys) + max(ys)) / 2, max(ys) - min(ys), min(xs), text))
    items.sort()
    lines: list[list[tuple[float, str]]] = []
    last_y, last_h = -1e9, 0.0
    for y, h, x, text in items:
        if lines and abs(y - last_y) < 0.5 * max(h, last_h):
            lines[-1].append((x, text))
        else:
            lines.append([(x, text)])
            last_y, last_h = y, h
    return "\n".join(" ".join(t for _, t in sorted(line)) for line in lines)
