"""Safe to leave running: loopback by default, optional login on everything, no stray files served."""

from __future__ import annotations

import base64
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from qa.errors import QAError
from qa.guard import load_credentials
from qa.indexer import Indexer, safe_name

from conftest import CORPUS, serving

def _status(
    url: str, *, user: str | None = None, password: str | None = None, data: bytes | None = None, headers: dict | None = None
) -> int:
    """The HTTP status of one request (POST when there is ``data``), optionally with a login."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def test_credentials_come_from_the_variable_or_a_file(tmp_path):
    assert load_credentials("ann:s3cret:with:colons", None) == {"ann": "s3cret:with:colons"}
    logins = tmp_path / "logins"
    logins.write_text("# team\nbob:pw1\n\ncid:pw2\n")
    assert load_credentials(None, logins) == {"bob": "pw1", "cid": "pw2"}
    assert load_credentials(None, None) == {}
    with pytest.raises(QAError, match="user:password"):
        load_credentials("no-colon", None)
    with pytest.raises(QAError, match="cannot read the login file"):
        load_credentials(None, tmp_path / "missing")


@pytest.mark.parametrize(
    "name, expected",
    [("../../etc/passwd.txt", "passwd.txt"), ("..\\..\\x.md", "x.md"), (".hidden.txt", "hidden.txt"),
     ("a<script>.html", "a_script_.html"), ("", "upload"), ("/abs/path/r.pdf", "r.pdf")],
)  # fmt: skip
def test_upload_names_stay_inside_the_uploads_folder(name, expected):
    assert safe_name(name) == expected


def test_uploads_are_limited_by_extension_and_size(tmp_path):
    corpus, incoming = tmp_path / "corpus", tmp_path / "in"
    corpus.mkdir()
    incoming.mkdir()
    (incoming / "ok.txt").write_text("Fine\n\nA fine paragraph about the harbour master.\n")
    (incoming / "tool.exe").write_bytes(b"MZ")
    (incoming / "big.md").write_text("x" * 5000)
    saved, refused = Indexer(corpus, tmp_path / "idx").save_uploads(sorted(incoming.iterdir()), max_bytes=1000)
    assert saved == ["uploads/ok.txt"] and (corpus / "uploads" / "ok.txt").is_file()
    assert any("big.md: too large" in r for r in refused) and any("tool.exe: not a supported" in r for r in refused)
    assert sorted(p.name for p in (corpus / "uploads").iterdir()) == ["ok.txt"]


def _outside_address() -> str | None:
    """An IPv4 address of this machine that is not loopback, if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.254.254.254", 1))  # no packet is sent: this only picks the outgoing interface
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


@pytest.mark.slow
def test_serves_loopback_only_by_default(corpus_index):
    other = _outside_address()
    with serving(corpus_index, "--no-uploads") as url:
        port = int(url.rsplit(":", 1)[1])
        assert _status(url + "/api/health") == 200
        if other is None:
            pytest.skip("this machine has no non-loopback address to try")
        with pytest.raises(OSError):
            socket.create_connection((other, port), timeout=3).close()


@pytest.mark.slow
def test_login_protects_chat_api_uploads_and_docs(corpus_index, tmp_path):
    logins = tmp_path / "logins"
    logins.write_text("ann:correct horse\n")
    with serving(corpus_index, "--auth-file", str(logins)) as url:
        for path in ("/", "/api/health", "/api/documents", "/docs", "/openapi.json", "/gradio_api/info", "/config"):
            assert _status(url + path) == 401, path
            assert _status(url + path, user="ann", password="wrong") == 401, path
            assert _status(url + path, user="eve", password="correct horse") == 401, path
            assert _status(url + path, user="ann", password="correct horse") == 200, path
        assert _upload(url, "a.txt", b"hello") == 401


@pytest.mark.slow
def test_no_file_outside_the_upload_cache_is_served(corpus_index):
    corpus_file = next(CORPUS.glob("*.txt")).resolve()
    manifest = (Path(corpus_index) / "manifest.json").resolve()
    with serving(corpus_index, "--no-uploads") as url:
        for target in (str(corpus_file), str(manifest), "/etc/passwd", "../../../../etc/passwd",
                       f"{CORPUS}/../README.md", "corpus/" + corpus_file.name, "index/manifest.json"):  # fmt: skip
            for prefix in ("/gradio_api/file=", "/file=", "/gradio_api/file/"):
                code = _status(url + prefix + urllib.request.quote(target, safe="/"))
                assert code in (400, 403, 404), (prefix, target, code)


def _upload(url: str, name: str, content: bytes) -> int:
    boundary = "qa-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()  # fmt: skip
    return _status(url + "/gradio_api/upload", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


@pytest.mark.slow
def test_uploads_over_the_size_cap_are_refused_by_the_server(corpus_index, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("A\n\nA paragraph.\n")
    with serving(corpus_index, "--corpus", str(corpus), env={"QA_MAX_UPLOAD_MB": "1"}) as url:
        assert _upload(url, "small.txt", b"Small file\n\nwith a paragraph.\n") == 200
        assert _upload(url, "big.txt", b"x" * (2 * 1024 * 1024)) == 413
