"""int8 encoding (qa's default): the sentence-transformers model exported once to ONNX, its weights
quantised to int8 (onnxruntime dynamic quantisation), run by onnxruntime, then mean pooling and unit
length as in fp32.

Texts are run one at a time on one single-threaded session per core, side by side: on small matrices
that beats one session spreading each batch over the cores (bench: 127 vs 82 passages/s on 2 cores),
no token is padding, and since dynamic quantisation scales activations per call, a text's vector no
longer depends on which texts share its batch. For the same reason questions are not batched across
requests: a batch of 16 costs 1.3 ms a question against 1.5 ms alone (Xeon, AMX) and would make a
question's vector depend on its neighbours. The graph takes token ids only (no padding, so no mask).
A single text -- a question -- runs on the caller's thread: onnxruntime sessions run concurrently.

The exported model is cached (``$QA_CACHE_DIR``, default ``~/.cache/qa``) under a name derived from the
model, so the export runs once per model and machine; it is made from the model's local files only.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..config import available_cores
from ..errors import QAError

__all__ = ["Int8Encoder", "ModelFiles", "cache_dir", "exported_path", "unsupported"]

EXPORT = "ids-v2"  # what the exported graph takes (part of its cache name): token ids only


def cache_dir() -> Path:
    return Path(os.environ.get("QA_CACHE_DIR") or Path.home() / ".cache" / "qa")


def unsupported(model) -> str | None:
    """Why the loaded SentenceTransformer ``model`` (or its :class:`ModelFiles`) cannot be encoded at int8
    here (None: it can)."""
    if isinstance(model, ModelFiles):
        modules, pooling = model.modules, model.pooling
    else:
        modules = [type(m).__name__ for m in model]
        pooling = model[1].get_config_dict() if len(model) > 1 and modules[1] == "Pooling" else {}
    mean = pooling.get("pooling_mode") == "mean" or pooling.get("pooling_mode_mean_tokens") is True
    return None if modules and modules[0] == "Transformer" and mean else " + ".join(modules)


class ModelFiles:
    """A sentence-transformers model folder as its files describe it: all that int8 encoding needs once
    the model is exported, read without importing torch and sentence-transformers (4 s of a build).
    Used for the shipped default model only, whose tokenizer.json is the one transformers loads."""

    def __init__(self, folder: Path):
        from tokenizers import Tokenizer

        entries = sorted(json.loads((folder / "modules.json").read_text()), key=lambda m: m["idx"])
        self.modules = [m["type"].rsplit(".", 1)[-1] for m in entries]
        pooling = entries[1]["path"] if len(entries) > 1 and self.modules[1] == "Pooling" else None
        self.pooling = json.loads((folder / pooling / "config.json").read_text()) if pooling else {}
        self.max_seq_length = int(json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"])
        self.dimension = int(self.pooling["word_embedding_dimension"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        settings = folder / "config_sentence_transformers.json"  # as sentence-transformers reads its prompts
        self.prompts = (json.loads(settings.read_text()).get("prompts") or {}) if settings.is_file() else {}


def exported_path(model_id: str) -> Path:
    """Where the int8 export of ``model_id`` is cached (for this torch and onnxruntime)."""
    from importlib.metadata import version

    key = hashlib.sha256(f"{model_id}|{version('torch')}|{version('onnxruntime')}|{EXPORT}".encode()).hexdigest()[:16]
    return cache_dir() / f"int8-{key}" / "model.onnx"


def _backend(tokenizer):
    """The Rust tokenizer of ``tokenizer`` (a transformers fast tokenizer or a ``tokenizers.Tokenizer``)."""
    return getattr(tokenizer, "backend_tokenizer", tokenizer)


class Int8Encoder:
    def __init__(self, model, model_id: str, pieces=None):
        """``model``: the loaded SentenceTransformer (its tokenizer and weights are used), or the
        :class:`ModelFiles` of one already exported. ``pieces``: its tokenizer's word pieces, remembered
        (:class:`qa.indexing.pieces.WordPieces`), which give a text's ids without tokenizing it again."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        why = unsupported(model)
        if why:
            raise QAError(f"int8 encoding supports mean-pooled models; {model_id!r} is {why}")
        self.max_length = int(model.max_seq_length)
        # A copy of the Rust tokenizer, set as transformers sets it for truncation=True (no other caller
        # changes its settings in between): the same ids, without the wrapper's cost per text
        self.tokenizer = Tokenizer.from_str(_backend(model.tokenizer).to_str())
        self.tokenizer.enable_truncation(self.max_length, stride=0, strategy="longest_first", direction="right")
        self.tokenizer.no_padding()
        if pieces is not None and pieces.markers is not None:
            self._ids = lambda text: pieces.ids(text, self.max_length)
        else:
            self._ids = lambda text: self.tokenizer.encode(text).ids
        path = self._exported(model, model_id)
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.sessions = [
            ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]) for _ in range(available_cores())
        ]
        self._pool = ThreadPoolExecutor(len(self.sessions), thread_name_prefix="qa-int8")  # onnxruntime frees the GIL

    @staticmethod
    def _exported(model, model_id: str) -> Path:
        target = exported_path(model_id)
        if target.is_file():
            return target
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic

        transformer = model[0].auto_model.eval()
        typed = "token_type_ids" in inspect.signature(transformer.forward).parameters

        class Encoder(torch.nn.Module):
            # Token ids only: each text runs alone, so there is no padding to mask and every token type
            # is 0. Without the mask the graph has no masking ops (Where, Cast...): 17% faster per text.
            def __init__(self, transformer):
                super().__init__()
                self.transformer = transformer

            def forward(self, input_ids):
                extra = {"token_type_ids": torch.zeros_like(input_ids)} if typed else {}
                return self.transformer(input_ids=input_ids, **extra).last_hidden_state

        work = Path(tempfile.mkdtemp(prefix="qa-int8-"))
        quiet = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)  # the quantiser's advice goes to the root logger
        try:
            sample = model.tokenizer(["an example here"], return_tensors="pt")
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the exporter's notes on traced control flow
                torch.onnx.export(
                    Encoder(transformer),
                    (sample["input_ids"],),
                    str(work / "fp32.onnx"),
                    input_names=["input_ids"],
                    output_names=["hidden"],
                    dynamic_axes={name: {0: "batch", 1: "tokens"} for name in ("input_ids", "hidden")},
                    opset_version=17,
                    dynamo=False,
                )
            quantize_dynamic(str(work / "fp32.onnx"), str(work / "model.onnx"), weight_type=QuantType.QInt8, per_channel=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            staged = target.with_suffix(".tmp")
            shutil.copyfile(work / "model.onnx", staged)
            os.replace(staged, target)  # another process may export the same model at the same time
        except Exception as e:
            raise QAError(f"cannot export {model_id!r} for int8 encoding: {str(e).splitlines()[0] if str(e) else e}") from e
        finally:
            logging.getLogger().setLevel(quiet)
            shutil.rmtree(work, ignore_errors=True)
        return target

    def encode(self, texts: list[str], done: Callable[[int], object] | None = None) -> np.ndarray:
        """One unit vector per text, in order; ``done(n)`` is told as texts are encoded (from the lanes,
        one at a time)."""
        if len(texts) == 1:  # a question: on the caller's thread (sessions run concurrently; no hand-over)
            return self._one(self.sessions[0], texts[0])[None, :]
        vectors: list[np.ndarray | None] = [None] * len(texts)
        # Each lane takes the next text as it frees up (next() on a count is atomic under the GIL): a
        # whole build is one call, so no lane waits for the other at the end of every batch
        taken, telling, stop = itertools.count(), threading.Lock(), threading.Event()

        def lane(session) -> None:
            while not stop.is_set() and (i := next(taken)) < len(texts):
                vectors[i] = self._one(session, texts[i])
                if done is not None:
                    with telling:
                        done(1)

        try:
            list(self._pool.map(lane, self.sessions[: len(texts)]))
        except BaseException:  # Ctrl-C: the lanes stop after their text, not after every text
            stop.set()
            raise
        return np.stack(vectors).astype(np.float32) if texts else np.zeros((0, 0), dtype=np.float32)

    def _one(self, session, text: str) -> np.ndarray:
        ids = np.array([self._ids(text)], dtype=np.int64)
        vector = session.run(None, {"input_ids": ids})[0][0].mean(axis=0)  # no padding: every token counts
        return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)  # qa wants unit vectors
