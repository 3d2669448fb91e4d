from __future__ import annotations

import os
import subprocess
import sys

import pytest

from qa.errors import QAError
from qa.readers import Document, Skip, read_corpus, read_document
from qa.readers.text import decode


def _items(root):
    return list(read_corpus(root))


def test_lists_supported_files_recursively_in_stable_order(tmp_path):
    for rel in ["b.txt", "a/z.md", "a/b.TXT", "c.odt", ".hidden.txt", ".git/x.txt", "a/notes.rst"]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"Title of {rel}\n\nSome body text for the file {rel}.\n")
    sources = [d.source for d in _items(tmp_path)]
    assert sources == ["a/b.TXT", "a/z.md", "b.txt"]


def test_missing_corpus_folder_is_a_clear_error(tmp_path):
    with pytest.raises(QAError, match="corpus folder not found"):
        _items(tmp_path / "nope")


@pytest.mark.parametrize(
    "data, encoding",
    [
        ("Café au lait, naïve façade, déjà vu — plus ça change.\n".encode("utf-8"), "utf-8"),
        ("\ufeffCafé au lait with a byte-order mark.\n".encode("utf-8"), "utf-8"),
        ("Le café est très chaud à Genève, près du lac Léman, où l'été est doux.\n".encode("cp1252"), None),
        ("Привет, мир! Это документ на русском языке в кодировке UTF-16.\n".encode("utf-16"), "utf_16"),
    ],
)
def test_decodes_text_in_any_encoding(data, encoding):
    text, detected = decode(data)
    assert not text.startswith("\ufeff")
    if encoding:
        assert detected == encoding
    assert text.strip() == data.decode(detected if detected != "utf-8" else "utf-8-sig").strip().lstrip("\ufeff")


def test_non_utf8_file_is_decoded_not_skipped(tmp_path):
    (tmp_path / "latin.txt").write_bytes("Le café de la gare\n\nIl était une fois à Genève.\n".encode("cp1252"))
    (doc,) = _items(tmp_path)
    assert isinstance(doc, Document) and "café" in doc.text and "Genève" in doc.text


def test_line_endings_are_normalised(tmp_path):
    (tmp_path / "dos.txt").write_bytes(b"Title\r\n\r\nFirst paragraph.\r\nSecond\rthird\n")
    (doc,) = _items(tmp_path)
    assert doc.text == "Title\n\nFirst paragraph.\nSecond\nthird\n"


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\t\n \n", "empty"),
        ("image.txt", bytes(range(256)) * 64, "not text"),
        ("zeros.txt", b"hello\x00\x00\x00\x00world\x00\x01\x02" * 50, "not text"),
    ],
)
def test_unusable_files_are_skipped_with_a_reason(tmp_path, name, data, reason):
    (tmp_path / name).write_bytes(data)
    (tmp_path / "good.txt").write_text("Good\n\nA perfectly good paragraph of text.\n")
    items = _items(tmp_path)
    skips = [i for i in items if isinstance(i, Skip)]
    assert [s.source for s in skips] == [name]
    assert reason in skips[0].reason
    assert [i.source for i in items if isinstance(i, Document)] == ["good.txt"]


def test_too_large_file_is_skipped(tmp_path):
    (tmp_path / "big.txt").write_text("word " * 1000)
    item = read_document(tmp_path / "big.txt", tmp_path, max_bytes=100)
    assert isinstance(item, Skip) and "too large" in item.reason


def test_symlink_outside_corpus_is_skipped(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("Secret\n\nThis must not be indexed.\n")
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "link.txt").symlink_to(outside)
    (root / "inside.txt").write_text("Inside\n\nThis may be indexed.\n")
    (root / "alias.txt").symlink_to(root / "inside.txt")
    items = {i.source: i for i in _items(root)}
    assert isinstance(items["link.txt"], Skip) and "outside" in items["link.txt"].reason
    assert isinstance(items["inside.txt"], Document) and isinstance(items["alias.txt"], Document)


def test_unreadable_file_is_skipped(tmp_path):
    """Permissions do not stop root, so as root the corpus is read by a subprocess without the
    capabilities that override them (setpriv, from util-linux)."""
    root = tmp_path
    (root / "locked.txt").write_text("Locked\n\nNo one may read this.\n")
    (root / "locked.txt").chmod(0)
    (root / "open.txt").write_text("Open\n\nAnyone may read this paragraph.\n")
    code = (
        "import sys, qa.readers as r; "
        "print('\\n'.join(f'{i.source}\\t{getattr(i, \"reason\", \"ok\")}' for i in r.read_corpus(sys.argv[1])))"
    )
    caps = "-dac_override,-dac_read_search"
    unprivileged = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}"] if os.geteuid() == 0 else []
    out = subprocess.run([*unprivileged, sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = dict(line.split("\t") for line in out.stdout.strip().splitlines())
    assert got["open.txt"] == "ok" and got["locked.txt"].startswith("cannot read (Permission denied")


def test_broken_link_and_pipe_are_skipped_without_hanging(tmp_path):
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    os.mkfifo(tmp_path / "pipe.txt")  # reading a FIFO would block forever
    (tmp_path / "ok.txt").write_text("Fine\n\nA readable paragraph.\n")
    items = {i.source: i for i in _items(tmp_path)}
    assert "cannot read" in items["dangling.txt"].reason
    assert "not a regular file" in items["pipe.txt"].reason
    assert isinstance(items["ok.txt"], Document)
