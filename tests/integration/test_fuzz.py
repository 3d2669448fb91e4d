"""Fuzzing: hundreds of malformed and random files of every supported format, from a seeded generator.

Indexing must never raise or hang, and must index every well-formed file among them. Parsers run with
their real time and memory limits (a lower time limit here keeps the test short).
"""

from __future__ import annotations

import io
import random

import pytest
from support.documents import docx_bytes, page_images, pdf_bytes
from support.fakes import FakeEmbedder

from qa.build import build_index
from qa.indexing.folder import load_index

FORMATS = ("txt", "md", "html", "pdf", "docx", "png", "tif")
PER_FORMAT = {"png": 20, "tif": 20}  # images are read by OCR, a second each: fewer of them
DEFAULT_PER_FORMAT = 60  # 340 files in all
IMAGES = ("png", "tif")
DIGITS = "zero one two three four five six seven eight nine".split()  # OCR reads words, not "zqpng0x" (0 or O?)
SEED = 20261122
WORDS = "keeper lamp harbour storm gallery lens tide beacon signal rock fog bell chart log".split()


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."


def _well_formed(fmt: str, marker: str, rng: random.Random) -> bytes:
    body = [f"The {marker} entry says: {_sentence(rng)}"] + [_sentence(rng) for _ in range(rng.randint(1, 3))]
    if fmt == "txt":
        return ("Log\n\n" + "\n\n".join(body) + "\n").encode()
    if fmt == "md":
        return ("# Log\n\n## Entries\n\n" + "\n\n".join(body) + "\n\n- " + _sentence(rng) + "\n").encode()
    if fmt == "html":
        return ("<html><body><h1>Log</h1>" + "".join(f"<p>{b}</p>" for b in body) + "</body></html>").encode()
    if fmt == "pdf":
        return pdf_bytes([body])
    if fmt in ("png", "tif"):  # a page of the text, as a scanner gives it
        out = io.BytesIO()
        page_images(pdf_bytes([body]), dpi=150)[0].crop((0, 0, 1240, 500)).save(out, "PNG" if fmt == "png" else "TIFF")
        return out.getvalue()
    return docx_bytes([("h1", "Log")] + [("p", b) for b in body])


def _malformed(fmt: str, valid: bytes, rng: random.Random) -> bytes:
    how = rng.choice(["random", "truncated", "mutated", "soup", "empty", "repeated"])
    if how == "random":
        return rng.randbytes(rng.randint(1, 20_000))
    if how == "truncated":
        return valid[: rng.randint(0, max(len(valid) - 1, 0))]
    if how == "mutated":
        data = bytearray(valid)
        for _ in range(rng.randint(1, 50)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if how == "soup":
        pieces = ["<", ">", "</div>", "<div>", "<p", "# ", "```", "- ", "> ", "\x00", "%PDF-1.7", "PK\x03\x04",
                  "obj", "endobj", "stream", "\ufeff", "é", "\r", "\n", "[", "](", "javascript:", "<script>"]  # fmt: skip
        return "".join(rng.choice(pieces) for _ in range(rng.randint(1, 3000))).encode("utf-8", "surrogatepass")
    if how == "empty":
        return b"" if rng.random() < 0.5 else b" \n" * rng.randint(1, 100)
    return valid * rng.randint(2, 20)  # repeated: valid for text formats, garbage after the first for others


@pytest.fixture(scope="module")
def fuzz_corpus(tmp_path_factory):
    rng = random.Random(SEED)
    root = tmp_path_factory.mktemp("fuzz")
    wanted = {}  # well-formed file → its marker word
    for fmt in FORMATS:
        for n in range(PER_FORMAT.get(fmt, DEFAULT_PER_FORMAT)):
            marker = f"zq{fmt}{n}x" if fmt not in IMAGES else f"{fmt} " + " ".join(DIGITS[int(d)] for d in str(n))
            valid = _well_formed(fmt, marker, rng)
            name = f"{fmt}-{n:03}.{fmt}"
            if n % 5 == 0:
                (root / name).write_bytes(valid)
                wanted[name] = marker
            else:
                (root / name).write_bytes(_malformed(fmt, valid, rng))
    return root, wanted


def test_indexing_fuzzed_files_never_fails_and_keeps_every_well_formed_file(fuzz_corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("QA_PARSE_TIMEOUT", "20")
    root, wanted = fuzz_corpus
    report = build_index(root, tmp_path / "idx", embedder=FakeEmbedder())
    skipped = {s.source: s.reason for s in report.skipped}
    assert report.files + len(skipped) == sum(PER_FORMAT.get(f, DEFAULT_PER_FORMAT) for f in FORMATS)
    assert not set(wanted) & set(skipped), {k: skipped[k] for k in set(wanted) & set(skipped)}
    assert all(reason for reason in skipped.values())
    text = "\n".join(p.text for p in load_index(tmp_path / "idx", embedder=FakeEmbedder()).passages)
    missing = [name for name, marker in wanted.items() if marker not in text]
    assert not missing
    assert len(skipped) > 100  # the generator really did produce broken files
