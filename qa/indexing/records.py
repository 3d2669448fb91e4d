"""Passages and extracted texts as JSON lines in the index folder, and the stable ids of passages.
JSON, never pickle: an index is data, not code."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from ..passage import Passage

__all__ = ["passage_ids", "read_passages", "read_texts", "write_passages", "write_texts"]


def passage_ids(passages: list[Passage]) -> list[str]:
    """Stable ids: a hash of the file and of what is embedded (title and text), so a passage keeps its id
    (and its vector) while its file changes around it; "#2", "#3"… tell repeats in one file apart."""
    seen: dict[str, int] = {}
    ids = []
    for p in passages:
        digest = hashlib.sha256(f"{p.source}\n{p.search_text}".encode()).hexdigest()[:16]
        seen[digest] = seen.get(digest, 0) + 1
        ids.append(digest if seen[digest] == 1 else f"{digest}#{seen[digest]}")
    return ids


_FIELDS = tuple(f.name for f in dataclasses.fields(Passage))


def write_passages(path: Path, passages: list[Passage], ids: list[str]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for passage_id, p in zip(ids, passages, strict=True):
            # the fields as they are (numbers, strings, tuples of strings): dataclasses.asdict's deep copy
            # of each was most of writing an index
            out.write(json.dumps({"id": passage_id, **{f: getattr(p, f) for f in _FIELDS}}, ensure_ascii=False) + "\n")


def read_passages(path: Path) -> tuple[list[Passage], list[str]]:
    passages, ids = [], []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            ids.append(record.pop("id"))
            for name in ("section", "copies"):  # JSON has lists; a Passage has tuples
                if name in record:
                    record[name] = tuple(record[name])
            if "boxes" in record:
                record["boxes"] = tuple(map(tuple, record["boxes"]))
            passages.append(Passage(**record))
    return passages, ids


def write_texts(path: Path, texts: dict[str, str]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for source, text in sorted(texts.items()):
            out.write(json.dumps({"source": source, "text": text}, ensure_ascii=False) + "\n")


def read_texts(path: Path) -> dict[str, str]:
    with open(path, encoding="utf-8") as lines:
        return {r["source"]: r["text"] for r in map(json.loads, lines)}
