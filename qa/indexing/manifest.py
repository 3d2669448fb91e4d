"""``manifest.json``: what an index is (model, precision, store, sizes), what it was built from (files
and their sha256, skipped files, duplicates) and how it abstains -- read, checked and written here only.

Every field is checked by type when read: a malformed field is a :class:`DamagedIndex`, one line that
names it, not a traceback at question time. Whether an index fits a model and precision is decided once,
by :meth:`Manifest.mismatch`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import QAError
from .access import Rules

__all__ = [
    "FORMAT_VERSION",
    "IndexInfo",
    "MANIFEST",
    "NOTHING_INDEXED",
    "Calibration",
    "DamagedIndex",
    "Manifest",
    "TITLE_WEIGHTS",
    "SkippedFile",
    "Tuning",
    "read_manifest",
]

FORMAT_VERSION = 5  # 4: checksums of the data files; 5: passages have the boxes of their lines (PDF, images)
TITLE_WEIGHTS = (0, 1, 2, 3)  # what a tuning's title_weight may be
MANIFEST = "manifest.json"
_DATA_NAME = re.compile(r"data-[A-Za-z0-9-]+")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class DamagedIndex(QAError):
    """An index file does not hold what the build wrote (or a manifest field is malformed)."""

    def __init__(self, index_dir: Path, what: str) -> None:
        super().__init__(f"index in {index_dir} is damaged: {what}; rebuild it with 'qa index --rebuild'")
        self.what = what


@dataclass(frozen=True)
class IndexInfo:
    """What an index is, for a status line or a health check."""

    documents: int
    passages: int
    model: str
    precision: str
    built: str  # when it was written ("" for an index built in memory)
    corpus: str  # the corpus folder's name
    files: tuple[str, ...]  # every file indexed, duplicates included


@dataclass(frozen=True)
class Calibration:
    """Where "nothing here answers this" lies for this corpus and model (see qa.indexing.calibrate)."""

    threshold: float  # best cosine similarity a question must beat
    probe_sd: float = 0.0  # spread of the off-topic probes' best similarities
    method: str = ""
    probes: int = 0
    probe_median: float = 0.0
    probe_max: float = 0.0


@dataclass(frozen=True)
class Tuning:
    """How hybrid ranking mixes its two runs on this corpus, and the evidence (see qa.retrieval.tune)."""

    dense_weight: float  # the dense run's share of the fused score (the BM25 run has the rest)
    method: str = ""
    queries: int = 0  # pseudo-queries it was measured on (0: the defaults, no measurement)
    passages: int = 0  # the corpus size it was measured on (a sync that changes much more measures again)
    scores: dict[str, float] = field(default_factory=dict)  # dense weight → nDCG@10 of the pseudo-queries
    # How many times a passage's title (and section path) is in BM25's text of it: 0 leaves it out;
    # measured with the weight at the default (qa.retrieval.tune), ``title_scores`` the evidence.
    title_weight: int = 1
    title_scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SkippedFile:
    reason: str
    sha256: str | None = None  # None: not read (too large, unreadable, a link outside the corpus…)


@dataclass(frozen=True)
class Manifest:
    model: str
    precision: str
    store: str  # the vector store's kind (qa.indexing.stores)
    passages: int
    dimension: int
    abstain: Calibration | None = None  # None: built in memory and not calibrated yet
    tuning: Tuning | None = None  # None: not tuned (built in memory, or by a qa before tuning): defaults
    files: dict[str, str] = field(default_factory=dict)  # source → sha256, duplicates included
    skipped: dict[str, SkippedFile] = field(default_factory=dict)
    duplicates: dict[str, str] = field(default_factory=dict)  # duplicate → the file indexed
    warnings: dict[str, tuple[str, ...]] = field(default_factory=dict)  # file → parts that could not be used
    corpus: str = ""  # the corpus folder, absolute
    rules: Rules | None = None  # the access rules (None: no rules file, everyone reads everything)
    readers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # file → the groups that may read it (with rules)
    qa_version: str = ""
    faiss_version: str = ""
    # Set when the index is written to a folder:
    format_version: int = FORMAT_VERSION
    data: str = ""  # the current data folder
    checksums: dict[str, str] = field(default_factory=dict)  # data file → sha256
    created: str = ""

    def mismatch(self, model_id: str | None = None, precision: str | None = None) -> str | None:
        """Why questions embedded by this model and precision cannot be searched in this index (None: they can)."""
        if model_id is not None and model_id != self.model:
            return f"was built with model {self.model!r}, not {model_id!r}"
        if precision is not None and precision != self.precision:
            return f"was embedded at {self.precision} precision, not {precision}"
        return None

    def check(self, index_dir: Path, model_id: str | None = None, precision: str | None = None) -> None:
        """QAError saying how to rebuild when :meth:`mismatch` finds one."""
        why = self.mismatch(model_id, precision)
        if why:
            raise QAError(
                f"the index in {index_dir} {why}; rebuild it with 'qa index --rebuild' for this model and "
                f"precision, or use the ones it was built with ({self.model}, {self.precision})"
            )

    def fingerprint(self) -> dict[str, str | None]:
        """What the corpus was when this index was built: each file's sha256 (None: skipped unread)."""
        return dict(self.files) | {source: s.sha256 for source, s in self.skipped.items()}

    def replace(self, **changes) -> Manifest:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        first = {"format_version": data.pop("format_version")}
        for optional in ("abstain", "tuning", "rules"):
            if data[optional] is None:
                data.pop(optional)
        return first | data

    @classmethod
    def from_json(cls, data: object, index_dir: Path) -> Manifest:
        """The manifest in ``data`` (parsed JSON), every field checked: QAError for another format
        version, DamagedIndex naming the first malformed or missing field."""
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            version = data.get("format_version") if isinstance(data, dict) else None
            raise QAError(
                f"index in {index_dir} has format version {version!r}, this qa reads {FORMAT_VERSION}; "
                "rebuild it with 'qa index --rebuild'"
            )
        for name, (valid, required) in _FIELDS.items():
            if (name in data or required) and not valid(data.get(name)):
                raise DamagedIndex(index_dir, f"{MANIFEST} field {name!r} is {'malformed' if name in data else 'missing'}")
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["abstain"] = Calibration(**{k: v for k, v in data["abstain"].items() if k in _CALIBRATION})
        if "tuning" in data:
            values["tuning"] = Tuning(**{k: v for k, v in data["tuning"].items() if k in _TUNING})
        values["skipped"] = {k: SkippedFile(v.get("reason", ""), v.get("sha256")) for k, v in data.get("skipped", {}).items()}
        values["warnings"] = {k: tuple(v) for k, v in data.get("warnings", {}).items()}
        values["readers"] = {k: tuple(v) for k, v in data.get("readers", {}).items()}
        if "rules" in data:
            values["rules"] = Rules.from_json(data["rules"])
        return cls(**values)


NOTHING_INDEXED = Manifest(model="", precision="fp32", store="", passages=0, dimension=1)  # before a first build


def read_manifest(index_dir: Path) -> Manifest:
    """The manifest of the index in ``index_dir`` (QAError when there is none, it is of another format
    version, or damaged)."""
    path = index_dir / MANIFEST
    if not path.is_file():
        raise QAError(f"no index in {index_dir}: build one with 'qa index CORPUS_DIR --index-dir {index_dir}'")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        raise DamagedIndex(index_dir, f"{MANIFEST} cannot be read ({type(e).__name__})") from None
    return Manifest.from_json(data, index_dir)


def _is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v == v  # NaN is not a threshold


def _str_map(check: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda v: isinstance(v, dict) and all(isinstance(k, str) and check(x) for k, x in v.items())


def _is_str(v) -> bool:
    return isinstance(v, str)


def _is_strs(v) -> bool:
    return isinstance(v, list) and all(isinstance(w, str) for w in v)


def _is_rule(v) -> bool:
    return isinstance(v, dict) and _is_str(v.get("path")) and _is_strs(v.get("read", [])) and _is_strs(v.get("write", []))


_CALIBRATION = {f.name for f in dataclasses.fields(Calibration)}
_TUNING = {f.name for f in dataclasses.fields(Tuning)}

# The shape each field must have (required fields must be present).
_FIELDS: dict[str, tuple[Callable[[object], bool], bool]] = {
    "data": (lambda v: isinstance(v, str) and _DATA_NAME.fullmatch(v) is not None, True),
    "checksums": (_str_map(lambda v: isinstance(v, str) and _SHA256.fullmatch(v) is not None), True),
    "model": (lambda v: isinstance(v, str) and v != "", True),
    "precision": (lambda v: v in ("fp32", "int8"), True),
    "store": (_is_str, True),
    "passages": (_is_count, True),
    "dimension": (lambda v: _is_count(v) and v > 0, True),
    "abstain": (lambda v: isinstance(v, dict) and _is_number(v.get("threshold")) and _is_number(v.get("probe_sd", 0))
                and all(_is_number(v[k]) for k in ("probes", "probe_median", "probe_max") if k in v)
                and _is_str(v.get("method", "")), True),  # fmt: skip
    "tuning": (lambda v: isinstance(v, dict) and _is_number(v.get("dense_weight")) and 0 <= v["dense_weight"] <= 1
               and _is_str(v.get("method", "")) and _is_count(v.get("queries", 0)) and _is_count(v.get("passages", 0))
               and _str_map(_is_number)(v.get("scores", {})) and _is_count(v.get("title_weight", 1))
               and v.get("title_weight", 1) in TITLE_WEIGHTS
               and _str_map(_is_number)(v.get("title_scores", {})), False),  # fmt: skip
    "files": (_str_map(_is_str), True),
    "skipped": (_str_map(lambda v: isinstance(v, dict) and _is_str(v.get("reason", "")) and (v.get("sha256") is None or _is_str(v["sha256"]))), False),
    "duplicates": (_str_map(_is_str), False),
    "warnings": (_str_map(_is_strs), False),
    "corpus": (_is_str, False),
    "rules": (lambda v: isinstance(v, dict) and _is_str(v.get("file", "")) and _is_str(v.get("sha256", ""))
              and isinstance(v.get("rules"), list) and all(_is_rule(r) for r in v["rules"]), False),  # fmt: skip
    "readers": (_str_map(_is_strs), False),
    "qa_version": (_is_str, False),
    "faiss_version": (_is_str, False),
    "created": (_is_str, False),
}
