"""The faithfulness self-check: a candidate backend must embed the check passages like float32 does."""

from __future__ import annotations

import numpy as np

# Mean cosine to float32 on the check passages must reach this, and no passage may fall below
# MIN_COSINE. bfloat16 reaches about 0.9999 on MiniLM (its top-10 neighbours agree 99 % of the
# time); int8 dynamic quantisation reaches about 0.98 and reorders neighbours (88 % agreement):
# the threshold sits between what keeps rankings and what visibly changes them.
MEAN_COSINE = 0.999
MIN_COSINE = 0.995
# int8 (openvino_int8.py, quantized.py) is held to a bar of its own, set by retrieval quality
# (nDCG@10 within 0.005 of float32 on cranfield, msmarco-sub5k and scifact;
# tests/benchmarks/quant_eval.py). On MiniLM: OpenVINO int8 with per-token activation scales
# reaches mean cosine 0.9990 / min 0.9987 on the check passages and stays within 0.005 of
# float32's nDCG@10 (msmarco-sub5k hybrid +0.0016); static int8 reached 0.993-0.995 /
# 0.985-0.989 and lost 0.006-0.008 on msmarco-sub5k, so the bar sits between the two. Dynamic
# ONNX Runtime int8 (about 0.98) and a broken kernel (AVX2's 16-bit sums saturating) are far
# below it.
QUANTIZED_MEAN_COSINE = 0.998
QUANTIZED_MIN_COSINE = 0.995

CHECK_PASSAGES: tuple[str, ...] = (
    "The tenant paid a deposit of two months' rent, refundable at the end of the lease.",
    "Dogs need a balanced diet with protein, fat and a little fibre; puppies need more calories.",
    "Invoice 2024-03: replacement of the boiler valve by Müller Sanitär, 2 hours of labour.",
    "def parse(path):\n    with open(path) as f:\n        return json.load(f)",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The committee approved the budget for the next fiscal year after a long debate.",
    "Boundary layer separation occurs when the adverse pressure gradient is strong enough.",
    "Meeting notes: ship the beta on Friday, fix the login bug, call the printer vendor.",
    "La réunion est reportée à jeudi prochain à cause de la grève des transports.",
    "Error 0x80070005: access is denied when the service tries to write the log file.",
    "Randomised controlled trials showed no effect of vitamin D on fracture risk.",
    "The quick brown fox jumps over the lazy dog.",
    "Q3 revenue grew 12 % year over year, driven by subscriptions in Europe.",
    "To reset the router, hold the button on the back for ten seconds until the light blinks.",
    "Chapter 7. The storm reached the coast at dawn, and the village woke to silence.",
    "SELECT name, count(*) FROM files GROUP BY name HAVING count(*) > 1;",
)
# A long passage too: errors that grow with length (position embeddings, padding masks,
# truncation) would not show on one-line passages.
CHECK_PASSAGES += (" ".join(CHECK_PASSAGES[:12]) * 3,)


# Speed is measured on what indexing sees: full-length passages (256 word pieces, cut by the
# model) and half-length ones (the ends of files, short notes); backends rank differently on
# the two (measured: OpenVINO's lead over torch bfloat16 grows on short passages).
PROBE_PASSAGES: tuple[str, ...] = tuple(
    " ".join(CHECK_PASSAGES[i:16] + CHECK_PASSAGES[:i]) for i in range(16)
)
PROBE_SHORT: tuple[str, ...] = tuple(" ".join(CHECK_PASSAGES[i:i + 6]) for i in range(8))


def _unit(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


def agreement(reference: np.ndarray, candidate: np.ndarray) -> tuple[float, float]:
    """Mean and minimum cosine between matching rows of two embedding matrices."""
    cos = np.sum(_unit(reference) * _unit(candidate), axis=1)
    return float(cos.mean()), float(cos.min())


def is_faithful(reference: np.ndarray, candidate: np.ndarray, *, quantized: bool = False) -> bool:
    mean, low = agreement(reference, candidate)
    if quantized:
        return mean >= QUANTIZED_MEAN_COSINE and low >= QUANTIZED_MIN_COSINE
    return mean >= MEAN_COSINE and low >= MIN_COSINE


def neighbour_overlap(reference: np.ndarray, candidate: np.ndarray, k: int = 10) -> float:
    """How many of each passage's k nearest neighbours (among the others) both embeddings share.

    Rankings are what users see: two embeddings can agree in cosine yet reorder near ties.
    """
    n = len(reference)
    k = min(k, n - 1)
    if k <= 0:
        return 1.0

    def top(m: np.ndarray) -> np.ndarray:
        u = _unit(m)
        sims = u @ u.T
        np.fill_diagonal(sims, -np.inf)
        return np.argpartition(-sims, k - 1, axis=1)[:, :k]

    a, b = top(reference), top(candidate)
    shared = sum(len(set(x) & set(y)) for x, y in zip(a, b, strict=True))
    return shared / (n * k)


# What int8 quantization calibrates its activation ranges on (quantized.py): sentences unlike
# the check passages, so the check stays a test on unseen text, and like what people index:
# prose, mail, code, tables, numbers, several languages. Combined into passages of every
# length the indexer makes, up to the model's limit, because ranges grow with length.
CALIBRATION_SENTENCES: tuple[str, ...] = (
    "Patients receiving the higher dose reported fewer migraines but more nausea after six weeks.",
    "The lessee shall return the premises in the condition received, ordinary wear excepted.",
    "Hi Anna, attached are the slides from Tuesday; can you check the numbers on page 4?",
    "for (int i = 0; i < n; ++i) { total += weights[i] * values[i]; }",
    "Region | Q1 | Q2 | Q3\nNorth | 1,204 | 1,377 | 1,512\nSouth | 988 | 1,045 | 1,101",
    "Die Heizung im zweiten Stock ist seit Montag ausgefallen; der Techniker kommt am Freitag.",
    "Preheat the oven to 200 °C, then roast the vegetables with olive oil for 35 minutes.",
    "Install the package with pip, then run the migration script before starting the server.",
    "The old lighthouse keeper watched the ships pass, counting the years by their flags.",
    "Inflation eased to 2.4 % in March as energy prices fell for the third month in a row.",
    "Mitochondrial DNA is inherited from the mother and mutates faster than nuclear DNA.",
    "El contrato se renovará automáticamente salvo aviso por escrito con treinta días de antelación.",
    "Traceback (most recent call last): KeyError: 'user_id' in handlers/session.py line 88",
    "The turbine blades were inspected for cracks after 12,000 hours of operation.",
    "Please find enclosed my application for the position of research assistant.",
    "Children learn a second language faster when it is spoken at home and at school.",
    "Order #58213 shipped on 14/02 via DHL; expected delivery within three working days.",
    "The sonata opens with a slow introduction before the violin states the main theme.",
    "git rebase -i HEAD~3 lets you squash the last three commits into one.",
    "Heavy rainfall is expected in the north tonight, with local flooding on low roads.",
    "The enzyme binds its substrate at the active site, lowering the activation energy.",
    "Minutes: budget approved 5-2; the playground renovation moves to next spring.",
    "Warranty claims must include the serial number, proof of purchase and a description.",
    "She closed the diary, unsure whether the letters had ever been sent at all.",
)
CALIBRATION_PASSAGES: tuple[str, ...] = tuple(
    " ".join(CALIBRATION_SENTENCES[i:i + n] + CALIBRATION_SENTENCES[:max(0, i + n - 24)])
    for n in (1, 3, 8, 24) for i in range(0, 24, {1: 3, 3: 4, 8: 3, 24: 4}[n])
)
