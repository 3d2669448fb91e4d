"""The typed manifest: written and read back the same, one compatibility check, fields checked on read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import QAError
from qa.indexing.manifest import FORMAT_VERSION, Calibration, DamagedIndex, Manifest, SkippedFile, Tuning, read_manifest

MANIFEST = Manifest(
    model="m", precision="fp32", store="flat", passages=3, dimension=8,
    abstain=Calibration(threshold=0.4, probe_sd=0.05, method="probes", probes=40, probe_median=0.2, probe_max=0.5),
    tuning=Tuning(dense_weight=0.7, method="inverse cloze", queries=200, passages=3, scores={"0": 0.3, "0.7": 0.5, "1": 0.4}),
    files={"a.txt": "0" * 64}, skipped={"b.pdf": SkippedFile("empty file", "1" * 64), "c.txt": SkippedFile("too large")},
    duplicates={"d.txt": "a.txt"}, warnings={"e.docx": ("an image",)}, corpus="/corpus",
    data="data-20260101T000000-abcdef12", checksums={"passages.jsonl": "2" * 64}, created="2026-01-01T00:00:00+00:00",
)  # fmt: skip


def test_a_manifest_round_trips_through_json(tmp_path: Path):
    (tmp_path / "manifest.json").write_text(json.dumps(MANIFEST.to_json()))
    assert read_manifest(tmp_path) == MANIFEST
    assert list(MANIFEST.to_json())[0] == "format_version" and MANIFEST.format_version == FORMAT_VERSION


def test_an_index_without_tuning_reads_as_untuned(tmp_path: Path):
    data = MANIFEST.to_json()
    del data["tuning"]  # written by a qa before tuning
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    assert read_manifest(tmp_path).tuning is None
    assert "tuning" not in MANIFEST.replace(tuning=None).to_json()


def test_one_check_of_model_and_precision(tmp_path: Path):
    assert MANIFEST.mismatch("m", "fp32") is None and MANIFEST.mismatch() is None
    assert MANIFEST.mismatch("other") == "was built with model 'm', not 'other'"
    assert MANIFEST.mismatch("m", "int8") == "was embedded at fp32 precision, not int8"
    with pytest.raises(QAError, match="the index in .* was built with model 'm', not 'other'; rebuild it with 'qa index --rebuild'"):
        MANIFEST.check(tmp_path, "other")


def test_the_fingerprint_is_what_the_corpus_was():
    assert MANIFEST.fingerprint() == {"a.txt": "0" * 64, "b.pdf": "1" * 64, "c.txt": None}


@pytest.mark.parametrize("field, value", [
    ("skipped", {"b.pdf": {"reason": 3}}), ("qa_version", 1), ("abstain", {"threshold": 0.4, "probes": "many"}),
    ("tuning", {"dense_weight": 1.5}), ("tuning", {"dense_weight": 0.5, "scores": {"0.5": "high"}}),
])
def test_a_malformed_field_is_named(tmp_path: Path, field, value):
    data = MANIFEST.to_json() | {field: value}
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(DamagedIndex, match=f"field '{field}' is malformed"):
        read_manifest(tmp_path)
