"""The transformer exported to ONNX once, run by onnxruntime or OpenVINO without importing torch."""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SPEC_FILE = "encoder.json"
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
EXPORT_FORMAT = 1
# What the exported graph takes; a model whose tokenizer produces anything else is not exported.
KNOWN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
POOLINGS = ("mean", "cls", "max")

Forward = Callable[[dict[str, np.ndarray]], np.ndarray]


class Unsupported(Exception):
    """This model or machine cannot use an exported backend; the message says why."""


@dataclass(frozen=True)
class ExportSpec:
    """Everything besides the graph that sentence-transformers would do around the transformer."""

    input_names: tuple[str, ...]
    pooling: str
    max_length: int
    dim: int
    pad_id: int
    pad_token: str
    padding_side: str
    query_prompt: str
    document_prompt: str
    format: int = EXPORT_FORMAT


def describe(model: Any) -> ExportSpec:
    """The ExportSpec of a loaded SentenceTransformer; raises Unsupported for other layouts."""
    names = [type(m).__name__ for m in model]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise Unsupported(f"model layout {'+'.join(names)} has no exported path")
    pooling = model[1]
    mode = _pooling_mode(pooling)
    if mode not in POOLINGS:
        raise Unsupported(f"pooling '{mode}' has no exported path")
    tok = model.tokenizer
    if getattr(tok, "backend_tokenizer", None) is None:
        raise Unsupported("the model has no fast tokenizer")
    sample = model.tokenize(["two words"])
    inputs = tuple(k for k in sample if hasattr(sample[k], "shape"))
    if not set(inputs) <= set(KNOWN_INPUTS) or "input_ids" not in inputs:
        raise Unsupported(f"the model takes inputs {inputs}")
    query, document = _prompt(model, "query"), _prompt(model, "document")
    if (query or document) and not getattr(pooling, "include_prompt", True):
        raise Unsupported("prompts excluded from pooling have no exported path")
    dim = getattr(model, "get_embedding_dimension", None) or \
        model.get_sentence_embedding_dimension
    return ExportSpec(
        input_names=inputs, pooling=mode, max_length=int(model.max_seq_length), dim=int(dim()),
        pad_id=int(tok.pad_token_id or 0), pad_token=str(tok.pad_token or "[PAD]"),
        padding_side=str(getattr(tok, "padding_side", "right")),
        query_prompt=query, document_prompt=document,
    )


def _pooling_mode(pooling: Any) -> str:
    """The pooling mode, from sentence-transformers 6 (``pooling_mode``) or 5 (flags)."""
    mode = getattr(pooling, "pooling_mode", None)
    if isinstance(mode, str):
        return mode
    if mode is not None:
        return "+".join(mode)  # several modes concatenated: not supported
    flags = [k.removeprefix("pooling_mode_") for k, v in pooling.get_config_dict().items()
             if k.startswith("pooling_mode_") and v is True]
    legacy = {"mean_tokens": "mean", "cls_token": "cls", "max_tokens": "max"}
    return legacy.get(flags[0], flags[0]) if len(flags) == 1 else "+".join(flags)


def _prompt(model: Any, kind: str) -> str:
    """The prompt sentence-transformers' encode_query / encode_document would prepend."""
    prompts = getattr(model, "prompts", None) or {}
    if kind in prompts:
        return prompts[kind] or ""
    default = getattr(model, "default_prompt_name", None)
    return prompts.get(default, "") if default else ""


def load_spec(folder: Path) -> ExportSpec | None:
    """The spec of a finished export in ``folder``, or None."""
    try:
        data = json.loads((folder / SPEC_FILE).read_text(encoding="utf-8"))
        spec = ExportSpec(**{**data, "input_names": tuple(data["input_names"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if spec.format != EXPORT_FORMAT or not (folder / ONNX_FILE).is_file():
        return None
    return spec


def export(model: Any, folder: Path) -> ExportSpec:
    """Export the transformer of ``model`` to ``folder`` (once; reused while it is intact)."""
    existing = load_spec(folder)
    if existing is not None:
        return existing
    spec = describe(model)
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        _export_graph(model, spec, tmp / ONNX_FILE)
        (tmp / TOKENIZER_FILE).write_text(model.tokenizer.backend_tokenizer.to_str(),
                                          encoding="utf-8")
        # The spec is written last: its presence marks a complete export.
        (tmp / SPEC_FILE).write_text(json.dumps(asdict(spec), indent=1), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _prune_older(folder)
    return spec


def _prune_older(folder: Path) -> None:
    """Remove exports of earlier versions of the same model (``<slug>-<fingerprint>``)."""
    prefix = folder.name.rsplit("-", 1)[0] + "-"
    for other in folder.parent.glob(prefix + "*"):
        if other != folder and other.is_dir() and ".tmp-" not in other.name:
            shutil.rmtree(other, ignore_errors=True)


def _export_graph(model: Any, spec: ExportSpec, path: Path) -> None:
    import torch

    class _Graph(torch.nn.Module):
        """The transformer alone, taking tensors by position and returning token embeddings."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *tensors: Any) -> Any:
            return self.inner(**dict(zip(spec.input_names, tensors, strict=True))).last_hidden_state

    # Two texts of different lengths, so that padding takes part in the trace.
    sample = model.tokenize(["an example with a few more words in it", "short"])
    args = tuple(sample[k].to("cpu") for k in spec.input_names)
    axes = {k: {0: "batch", 1: "tokens"} for k in (*spec.input_names, "token_embeddings")}
    graph = _Graph(model[0].auto_model).eval()
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shapes are expected here
        torch.onnx.export(graph, args, str(path), input_names=list(spec.input_names),
                          output_names=["token_embeddings"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)


class ExportedRunner:
    """Tokenize with ``tokenizers``, run the graph, pool and normalise like sentence-transformers."""

    def __init__(self, folder: Path, spec: ExportSpec, forward: Forward) -> None:
        from tokenizers import Tokenizer

        self.spec = spec
        self._forward = forward
        tok = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        # The saved file may carry other limits (the offline MiniLM truncates at 128).
        tok.enable_truncation(max_length=spec.max_length)
        tok.enable_padding(direction=spec.padding_side, pad_id=spec.pad_id,
                           pad_token=spec.pad_token)
        self.tokenizer = tok

    def encode_documents(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self._encode([self.spec.document_prompt + t for t in texts], batch_size)

    def encode_queries(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self._encode([self.spec.query_prompt + t for t in texts], batch_size)

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        parts = [self._batch(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)]
        if not parts:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        out = np.concatenate(parts)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def feed(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The graph's inputs for ``texts`` (tokenized, padded, truncated)."""
        return self._arrays(texts)[0]

    def _arrays(self, texts: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        encs = self.tokenizer.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
        arrays = {"input_ids": np.array([e.ids for e in encs], dtype=np.int64),
                  "attention_mask": mask,
                  "token_type_ids": np.array([e.type_ids for e in encs], dtype=np.int64)}
        return {k: arrays[k] for k in self.spec.input_names}, mask

    def _batch(self, texts: list[str]) -> np.ndarray:
        inputs, mask = self._arrays(texts)
        tokens = self._forward(inputs).astype(np.float32)
        return pool(tokens, mask, self.spec.pooling)


def pool(tokens: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """sentence-transformers' Pooling, in numpy."""
    if mode == "cls":
        return tokens[:, 0]
    m = mask[:, :, None].astype(np.float32)
    if mode == "max":
        return np.where(m > 0, tokens, -1e9).max(axis=1)
    return (tokens * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)


def onnx_session(path: Path) -> Any:
    """An onnxruntime CPU session for indexing: all cores to each operator, no spinning."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.inter_op_num_threads = 1  # one graph at a time; all cores go to each operator
    options.log_severity_level = 3
    # Idle worker threads otherwise spin after each batch, taking the CPU that tokenizing and
    # extracting the next files need (measured: 20 % more CPU per passage, no faster).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_runner(folder: Path, spec: ExportSpec) -> ExportedRunner:
    session = onnx_session(folder / ONNX_FILE)

    def forward(inputs: dict[str, np.ndarray]) -> np.ndarray:
        return session.run(None, inputs)[0]

    return ExportedRunner(folder, spec, forward)


def openvino_runner(folder: Path, spec: ExportSpec) -> tuple[ExportedRunner, str]:
    """The runner and the precision OpenVINO chose (it picks bfloat16 on AMX CPUs by itself)."""
    import openvino as ov

    core = ov.Core()
    # OpenVINO keeps what it compiled here, so later starts skip most of the compilation.
    config = {"PERFORMANCE_HINT": "LATENCY", "CACHE_DIR": str(folder / "openvino-cache")}
    compiled = core.compile_model(str(folder / ONNX_FILE), "CPU", config)
    try:
        hint = compiled.get_property("INFERENCE_PRECISION_HINT")
        precision = hint.get_type_name() if hasattr(hint, "get_type_name") else str(hint)
    except Exception:  # older releases do not report it
        precision = "default precision"
    request = compiled.create_infer_request()

    def forward(inputs: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(request.infer(inputs)[0])

    return ExportedRunner(folder, spec, forward), precision
