"""The index folder: manifest contents, loading checks, and atomic replacement (also under kill -9)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import faiss
import pytest
from support.fakes import FakeEmbedder

import qa
from qa.errors import QAError
from qa.build import build_index
from qa.indexing.build import index_status
from qa.indexing.folder import index_lock, load_index
from qa.indexing.manifest import FORMAT_VERSION, read_manifest
from qa.retrieval.pipeline import Retriever


def _build(corpus, index_dir, embedder=None):
    return build_index(corpus, index_dir, embedder=embedder or FakeEmbedder())


def _load(index_dir):
    return load_index(index_dir, embedder=FakeEmbedder())


def _retriever(index_dir):
    return Retriever.load(index_dir, embedder=FakeEmbedder())


def test_manifest_records_what_the_index_is(tiny_corpus, tmp_path):
    index_dir = tmp_path / "idx"
    report = _build(tiny_corpus, index_dir)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["model"] == "fake-bow" and manifest["dimension"] == 256
    assert manifest["passages"] == report.passages == 4
    assert set(manifest["files"]) == {"alpha.txt", "sub/beta.md"}
    assert all(len(h) == 64 for h in manifest["files"].values())
    assert manifest["faiss_version"] == faiss.__version__ and manifest["qa_version"] == qa.__version__
    assert manifest["created"].endswith("+00:00")
    assert 0 < manifest["abstain"]["threshold"] < 1 and manifest["abstain"]["probes"] >= 30
    index = _load(index_dir)
    assert len(index) == len(index._store) == len(index._bm25) == 4  # white-box: the parts agree
    data = sorted(p.relative_to(index_dir / manifest["data"]).as_posix() for p in (index_dir / manifest["data"]).rglob("*"))
    assert "vectors.faiss" in data and "passages.jsonl" in data and "bm25/vocab.index.json" in data
    assert not [name for name in data if name.endswith((".pkl", ".pickle"))]


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(QAError, match="no index in .*qa index"):
        load_index(tmp_path / "nothing")


def test_model_mismatch_says_to_reindex(tiny_corpus, tmp_path):
    _build(tiny_corpus, tmp_path / "idx")
    with pytest.raises(QAError, match="built with model 'fake-bow'.*rebuild it with 'qa index --rebuild'"):
        load_index(tmp_path / "idx", embedder=FakeEmbedder(model_id="other-model"))
    with pytest.raises(QAError, match="built with model 'fake-bow'.*rebuild it with 'qa index --rebuild'"):
        load_index(tmp_path / "idx", model="sentence-transformers/all-MiniLM-L6-v2")


def test_dimension_mismatch_says_to_reindex(tiny_corpus, tmp_path):
    _build(tiny_corpus, tmp_path / "idx")
    retriever = Retriever.load(tmp_path / "idx", embedder=FakeEmbedder(dimension=128))
    with pytest.raises(QAError, match="128-d vectors but the index holds 256-d.*re-index"):
        retriever.retrieve("rain")
    manifest_path = tmp_path / "idx" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["dimension"] = 999
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(QAError, match="999.*rebuild"):
        _load(tmp_path / "idx")


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("format_version", 99, "has format version 99, this qa reads"),
        ("passages", 3, "manifest says 3"),
        ("passages", "many", "manifest.json field 'passages' is malformed"),
        ("dimension", None, "manifest.json field 'dimension' is malformed"),
        ("abstain", {"threshold": "high"}, "manifest.json field 'abstain' is malformed"),
        ("abstain", {"threshold": float("nan")}, "manifest.json field 'abstain' is malformed"),
        ("data", "../../etc", "manifest.json field 'data' is malformed"),
        ("checksums", {"vectors.faiss": "00"}, "manifest.json field 'checksums' is malformed"),
        ("files", ["alpha.txt"], "manifest.json field 'files' is malformed"),
        ("precision", "int4", "manifest.json field 'precision' is malformed"),
        ("model", None, "manifest.json field 'model' is missing"),
        (None, None, "manifest.json cannot be read"),
    ],
)
def test_damaged_manifest_is_one_line_naming_the_field(tiny_corpus, tmp_path, field, value, message):
    _build(tiny_corpus, tmp_path / "idx")
    path = tmp_path / "idx" / "manifest.json"
    manifest = json.loads(path.read_text())
    if field == "model":
        del manifest["model"]
    elif field is not None:
        manifest[field] = value
    path.write_text("{not json" if field is None else json.dumps(manifest))
    with pytest.raises(QAError, match=re.escape(message)) as caught:
        _load(tmp_path / "idx")
    assert "\n" not in str(caught.value) and "rebuild it with 'qa index" in str(caught.value)


def _damage(path: Path, at: int | None = None, size: int = 64) -> None:
    """Overwrite ``size`` bytes in the middle of a file (or at ``at``) with other bytes."""
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if at is None else at
    data[at : at + size] = bytes(255 - b for b in data[at : at + size])
    path.write_bytes(bytes(data))


def _data(index_dir: Path) -> Path:
    return index_dir / read_manifest(index_dir).data


@pytest.mark.parametrize("name", ["vectors.faiss", "passages.jsonl", "bm25/data.csc.index.npy", "bm25/vocab.index.json"])
def test_damaged_data_is_found_on_load_and_named(tiny_corpus, tmp_path, name):
    index_dir = tmp_path / "idx"
    _build(tiny_corpus, index_dir)
    _damage(_data(index_dir) / name, size=8 if name.endswith(".npy") else 64)
    with pytest.raises(QAError) as caught:
        _load(index_dir)
    assert str(caught.value) == (
        f"index in {index_dir} is damaged: {_data(index_dir).name}/{name} does not match its checksum; "
        "rebuild it with 'qa index --rebuild'"
    )
    assert index_status(tiny_corpus, index_dir, model="fake-bow") == f"stale: {name} damaged"
    (_data(index_dir) / name).unlink()
    with pytest.raises(QAError, match=f"damaged: {re.escape(name.split('/')[-1])} is missing"):
        _load(index_dir)


def test_a_sync_repairs_damaged_data_instead_of_failing(tiny_corpus, tmp_path):
    index_dir = tmp_path / "idx"
    _build(tiny_corpus, index_dir)
    before = [h.source for h in _retriever(index_dir).retrieve("alpha station rainfall", k=4)]
    _damage(_data(index_dir) / "vectors.faiss")
    report = _build(tiny_corpus, index_dir)  # nothing changed in the corpus: still, the damage is seen
    assert report.written and report.full and report.embedded == 4
    assert report.repairs and "vectors.faiss does not match its checksum: built anew" in report.repairs[0]
    assert "repaired: " in report.summary()
    assert [h.source for h in _retriever(index_dir).retrieve("alpha station rainfall", k=4)] == before
    path = index_dir / "manifest.json"
    path.write_text(path.read_text().replace('"passages": 4', '"passages": "four"'))
    report = _build(tiny_corpus, index_dir)
    assert report.repairs == ("manifest.json field 'passages' is malformed: built anew",) and len(_load(index_dir)) == 4
    assert not _build(tiny_corpus, index_dir).written  # intact and unchanged: nothing to do


def test_a_damaged_extracted_text_file_is_rebuilt_from_its_documents(tmp_path):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "page.html").write_text("<html><head><title>Page</title></head><body><p>The museum opens at nine.</p>"
                                      "<p>The cafe closes at five.</p></body></html>")  # fmt: skip
    (corpus / "notes.txt").write_text("Notes\n\nThe ferry leaves at seven.\n")
    index_dir = tmp_path / "idx"
    _build(corpus, index_dir)
    texts = _data(index_dir) / "texts.jsonl"
    _damage(texts, size=8)
    index = _load(index_dir)  # the texts are read on first use only, so loading works ...
    with pytest.raises(QAError, match="texts.jsonl does not match its checksum; rebuild"):
        index.text("page.html")  # ... and using them says what is wrong
    report = _build(corpus, index_dir)
    assert report.repairs == (f"{texts.parent.name}/texts.jsonl does not match its checksum: the PDF, DOCX and HTML files read again",)
    assert report.embedded == 0  # the same passages come out: their vectors are kept
    index = _load(index_dir)
    hit = Retriever(index).retrieve("When does the museum open?", k=1)[0]
    assert index.text("page.html")[hit.start : hit.end] == hit.text


def test_rebuild_replaces_old_data_and_cleans_up(tiny_corpus, tmp_path):
    index_dir = tmp_path / "idx"
    _build(tiny_corpus, index_dir)
    (tiny_corpus / "gamma.txt").write_text("Gamma\n\nThe gamma ray telescope watches distant galaxies at night.\n")
    _build(tiny_corpus, index_dir)
    assert len(list(index_dir.glob("data-*"))) == 1
    assert not list(index_dir.glob(".tmp-*"))
    assert "gamma.txt" in read_manifest(index_dir).files


def test_failed_build_leaves_the_old_index(tiny_corpus, tmp_path):
    index_dir = tmp_path / "idx"
    _build(tiny_corpus, index_dir)
    before = (index_dir / "manifest.json").read_text()

    class Exploding(FakeEmbedder):
        def encode(self, texts, **kw):
            raise RuntimeError("out of memory, say")

    (tiny_corpus / "gamma.txt").write_text("Gamma\n\nA new file that will never make it into the index.\n")
    with pytest.raises(RuntimeError):
        _build(tiny_corpus, index_dir, Exploding())
    assert (index_dir / "manifest.json").read_text() == before
    hits = _retriever(index_dir).retrieve("rainfall valley", k=1)
    assert hits[0].source == "alpha.txt"


_CHILD = """
import os, sys, time
from pathlib import Path
from qa.build import build_index
from support.fakes import FakeEmbedder
corpus, index_dir, flag, phase = sys.argv[1:5]
if phase == "embed":
    embedder = FakeEmbedder(stall_flag=flag)
else:  # stall just before the new manifest is swapped in, with the new data folder already in place
    embedder = FakeEmbedder()
    real_replace = os.replace
    def stalling_replace(src, dst):
        if str(dst).endswith("manifest.json"):
            Path(flag).touch()
            time.sleep(120)
        return real_replace(src, dst)
    os.replace = stalling_replace
build_index(corpus, index_dir, embedder=embedder)
"""


@pytest.mark.parametrize("phase", ["embed", "commit"])
def test_killed_build_leaves_the_old_index_loadable(tiny_corpus, tmp_path, phase):
    index_dir = tmp_path / "idx"
    _build(tiny_corpus, index_dir)
    (tiny_corpus / "alpha.txt").write_text("Replaced\n\nThis text replaced the rainfall article entirely.\n")
    flag = tmp_path / "stalled"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tiny_corpus), str(index_dir), str(flag), phase], env=env
    )
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert child.poll() is None, "the build ended before it stalled"
            assert time.monotonic() < deadline, "the build never reached the point to kill it at"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        child.kill()
    hits = _retriever(index_dir).retrieve("rainfall northern valley", k=1)
    assert hits[0].source == "alpha.txt" and "rainfall" in hits[0].text  # the old index, intact
    assert index_status(tiny_corpus, index_dir, model="fake-bow").startswith("stale")
    # The next build cleans up after the killed one and succeeds.
    _build(tiny_corpus, index_dir)
    assert [p.name for p in index_dir.iterdir() if p.is_dir()] == [read_manifest(index_dir).data]
    hits = _retriever(index_dir).retrieve("replaced rainfall article", k=1)
    assert "replaced" in hits[0].text


def test_two_builds_cannot_write_one_index(tiny_corpus, tmp_path):
    index_dir = tmp_path / "idx"
    with index_lock(index_dir):
        with pytest.raises(QAError, match="another 'qa index' is writing"):
            _build(tiny_corpus, index_dir)


def test_index_status(tiny_corpus, tmp_path):
    index_dir = tmp_path / "idx"
    assert index_status(tiny_corpus, index_dir, model="fake-bow") == "missing"
    _build(tiny_corpus, index_dir)
    assert index_status(tiny_corpus, index_dir, model="fake-bow") == "fresh"
    assert "model" in index_status(tiny_corpus, index_dir, model="another-model")
    (tiny_corpus / "sub" / "beta.md").write_text("# Beta\n\nChanged.\n")
    assert index_status(tiny_corpus, index_dir, model="fake-bow") == "stale: sub/beta.md changed"
    _build(tiny_corpus, index_dir)
    (tiny_corpus / "alpha.txt").unlink()
    assert index_status(tiny_corpus, index_dir, model="fake-bow") == "stale: alpha.txt changed"


def test_skipped_files_are_reported_and_do_not_make_the_index_stale(tiny_corpus, tmp_path):
    (tiny_corpus / "empty.txt").write_bytes(b"")
    (tiny_corpus / "binary.txt").write_bytes(bytes(range(256)) * 8)
    report = _build(tiny_corpus, tmp_path / "idx")
    assert {s.source: s.reason.split(" ")[0] for s in report.skipped} == {"binary.txt": "not", "empty.txt": "empty"}
    assert "skipped 2" in report.summary() and "binary.txt: not text" in report.summary()
    assert index_status(tiny_corpus, tmp_path / "idx", model="fake-bow") == "fresh"


def test_empty_corpus_is_a_clear_error_and_writes_nothing(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "empty.md").write_text("\n\n")
    with pytest.raises(QAError, match=r"nothing to index .*empty\.md: empty file"):
        _build(corpus, tmp_path / "idx")
    assert not (tmp_path / "idx" / "manifest.json").exists()
