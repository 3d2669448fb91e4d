"""What a build did, for people (:meth:`BuildReport.summary`) and machines (:meth:`BuildReport.to_dict`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ..readers import Skip
from .manifest import Tuning

__all__ = ["BuildReport", "Changes", "tuning_line"]


@dataclass(frozen=True)
class Changes:
    """Files added, changed and removed since the index was built, with their passage counts."""

    added: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def lines(self) -> list[str]:
        return [
            f"  {kind:8} {source} ({count} passage{'s' * (count != 1)})"
            for kind, files in (("added", self.added), ("changed", self.changed), ("removed", self.removed))
            for source, count in files.items()
        ]


@dataclass(frozen=True)
class BuildReport:
    corpus: Path
    index_dir: Path
    files: int
    passages: int
    skipped: tuple[Skip, ...] = ()
    seconds: float = 0.0
    embedded: int = 0  # passages embedded by this run; the others kept their vectors
    changes: Changes = field(default_factory=Changes)
    written: bool = True
    full: bool = True  # a build from scratch, not a sync
    formats: dict[str, int] = field(default_factory=dict)  # files indexed per format
    duplicates: dict[str, str] = field(default_factory=dict)  # file → the file with the same content indexed
    warnings: dict[str, tuple[str, ...]] = field(default_factory=dict)  # file → parts that could not be used
    repairs: tuple[str, ...] = ()  # damage found in the index synced, and what was done about it
    tuning: Tuning | None = None  # how hybrid ranking mixes its runs on this corpus (None: not tuned)
    embedding: str = ""  # the model and precision: "all-MiniLM-L6-v2 at int8"
    stages: dict[str, float] = field(default_factory=dict)  # seconds per build stage (qa.timing.BUILD_STAGES)
    access: tuple[str, ...] = ()  # what the access rules grant (qa.indexing.access.summary); () without rules
    rules_only: bool = False  # only the access rules changed: the manifest alone was (or, in a dry run, would be) written

    def to_dict(self) -> dict:
        """The report for machines (``qa index --json``)."""
        return {
            "corpus": str(self.corpus),
            "index_dir": str(self.index_dir),
            "files": self.files,
            "formats": self.formats,
            "passages": self.passages,
            "embedded": self.embedded,
            "written": self.written,
            "full": self.full,
            "seconds": round(self.seconds, 3),
            "changes": dataclasses.asdict(self.changes),
            "skipped": [{"source": s.source, "reason": s.reason} for s in self.skipped],
            "duplicates": self.duplicates,
            "warnings": {k: list(v) for k, v in self.warnings.items()},
            "repairs": list(self.repairs),
            "tuning": dataclasses.asdict(self.tuning) if self.tuning else None,
            "embedding": self.embedding,
            "stages": self.stages,
            "access": list(self.access),
            "rules_only": self.rules_only,
        }

    def summary(self) -> str:
        files = f"{self.files} file{'s' * (self.files != 1)}"
        if self.rules_only:
            done = "the manifest was written" if self.written else "dry run: only the manifest would be written"
            line = f"Access rules changed: {done}, nothing read or embedded again ({files}, {self.passages} passages)"
        elif not self.written and not self.changes and not self.full and not self.embedded:
            line = f"Index is up to date: {files}, {self.passages} passages ({self.index_dir}; {self.seconds:.1f} s)"
        elif not self.written:
            line = f"Dry run, nothing written. {files} → {self.passages} passages; would embed {self.embedded}"
        else:
            how = "" if self.full else f"; embedded {self.embedded} new or changed, kept {self.passages - self.embedded}"
            line = f"Indexed {files} → {self.passages} passages in {self.seconds:.1f} s ({self.index_dir}){how}"
            if self.embedding:
                line += f"\n  embedded with {self.embedding}"
            if self.stages:
                line += "\n  seconds: " + ", ".join(f"{name} {s:.1f}" for name, s in self.stages.items())
        if self.repairs:
            line += "\n" + "\n".join(f"repaired: {r}" for r in self.repairs)
        if self.tuning and self.written:
            line += "\n" + tuning_line(self.tuning)
        if self.formats:
            line += "\n  formats: " + ", ".join(f"{fmt} {n}" for fmt, n in sorted(self.formats.items()))
        if self.changes:
            line += "\n" + "\n".join(self.changes.lines())
        if self.duplicates:
            line += f"\nduplicates ({len(self.duplicates)}, indexed once):\n" + "\n".join(
                f"  {dup}: same content as {primary}" for dup, primary in self.duplicates.items()
            )
        if self.warnings:
            line += "\nwarnings:\n" + "\n".join(f"  {src}: {w}" for src, ws in self.warnings.items() for w in ws)
        if self.access:
            line += "\n" + "\n".join(self.access)
        if self.skipped:
            line += f"\nskipped {len(self.skipped)}:\n" + "\n".join(f"  {s.source}: {s.reason}" for s in self.skipped)
        return line


def tuning_line(tuning: Tuning) -> str:
    """The hybrid's tuning and its evidence, in one line."""
    times = {0: "left out of BM25", 1: "once"}.get(tuning.title_weight, f"{tuning.title_weight} times")
    line = f"  hybrid: dense weight {tuning.dense_weight:g}, BM25 {1 - tuning.dense_weight:g}; titles {times}"
    if not tuning.queries:
        return f"{line} ({tuning.method})"
    curve = " ".join(f"{w}:{v:.3f}" for w, v in tuning.scores.items())
    titles = " ".join(f"{w}:{v:.3f}" for w, v in tuning.title_scores.items())
    by_title = f"; by title weight {titles}" if titles else "; no titles"
    return f"{line} (measured: {tuning.queries} sentences taken out of their passages; nDCG@10 by dense weight {curve}{by_title})"
