"""Safe to leave running: loopback by default, optional login on everything, no stray files served."""

from __future__ import annotations

import base64
import http.client
import json
import math
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from qa.build import build_index
from qa.serve.chat import escape
from qa.serve.indexer import Indexer, safe_name
from qa.serve.payload import forbidden
from qa.users import add_user


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


def test_an_upload_never_replaces_a_document(tmp_path):
    corpus, incoming = tmp_path / "corpus", tmp_path / "in"
    for folder in ("a", "b", "c"):
        (incoming / folder).mkdir(parents=True)
    (incoming / "a" / "hello.txt").write_text("Hello\n\nThe first hello.\n")
    (incoming / "b" / "hello.txt").write_text("Hello\n\nThe second hello, another text.\n")
    (incoming / "c" / "hello.txt").write_text("Hello\n\nThe first hello.\n")
    indexer = Indexer(corpus, tmp_path / "idx")
    assert indexer.save_uploads([incoming / "a" / "hello.txt"], 1000) == (["uploads/hello.txt"], [])
    saved, notes = indexer.save_uploads([incoming / "b" / "hello.txt", incoming / "c" / "hello.txt"], 1000)
    assert saved == ["uploads/hello (2).txt"]
    assert notes == ["hello.txt: uploads/hello.txt exists already, so this one is uploads/hello (2).txt",
                     "hello.txt: already uploaded, with the same content, as uploads/hello.txt"]  # fmt: skip
    assert (corpus / "uploads" / "hello.txt").read_text() == "Hello\n\nThe first hello.\n"
    assert (corpus / "uploads" / "hello (2).txt").read_text().startswith("Hello\n\nThe second")
    assert sorted(p.name for p in (corpus / "uploads").iterdir()) == ["hello (2).txt", "hello.txt"]  # no temporaries


def test_an_upload_to_a_folder_one_may_not_read_tells_nothing_of_it(tmp_path):
    """Write but not read (a drop box): no "already uploaded", no "(2)": every file gets a name of its own."""
    corpus, incoming = tmp_path / "corpus", tmp_path / "in"
    (corpus / "drop").mkdir(parents=True)
    incoming.mkdir()
    (corpus / "drop" / "secret.md").write_text("Secret\n\nThe guess is right.\n")
    (incoming / "secret.md").write_text("Secret\n\nThe guess is right.\n")
    indexer = Indexer(corpus, tmp_path / "idx")
    saved, notes = indexer.save_uploads([incoming / "secret.md"], 1000, "drop", readable=lambda source: False)
    assert notes == [] and len(saved) == 1 and saved[0].startswith("drop/secret-") and saved[0].endswith(".md")
    again, notes = indexer.save_uploads([incoming / "secret.md"], 1000, "drop", readable=lambda source: False)
    assert notes == [] and again != saved and (corpus / again[0]).is_file()
    seen, notes = indexer.save_uploads([incoming / "secret.md"], 1000, "drop", readable=lambda source: True)
    assert seen == [] and notes == ["secret.md: already uploaded, with the same content, as drop/secret.md"]


def test_event_payloads_may_name_only_files_in_the_upload_folder(gradio, tmp_path):
    cache = tmp_path / "cache"
    (cache / "abc").mkdir(parents=True)
    (cache / "abc" / "ok.txt").write_text("fine")
    (tmp_path / "secret.txt").write_text("secret")
    (cache / "abc" / "link.txt").symlink_to(tmp_path / "secret.txt")

    def outside(payload, folder) -> bool:  # refused for naming a file this server did not receive
        return forbidden(payload, folder) == b'{"detail":"refused: the request names a file that was not uploaded to this server"}'

    assert not outside({"data": [[gradio.file_data(cache / "abc" / "ok.txt")]], "n": None}, cache)
    assert not outside({"data": ["no files", 1, {"role": "user", "content": "hi"}]}, cache)
    for bad in (tmp_path / "secret.txt", cache / "abc" / ".." / ".." / "secret.txt", cache / "abc" / "link.txt",
                cache, cache / "abc" / "missing.txt", "secret.txt", "/etc/hostname"):  # fmt: skip
        assert outside({"data": [[{"role": "user", "content": [{"file": gradio.file_data(bad)}]}]]}, cache), bad
    assert outside({"path": 7}, cache) and outside({"path": ["/etc"]}, cache) and outside({"path": {}}, cache)
    assert outside([[[{"path": "/etc/passwd"}]]] * 3, cache)
    assert not outside([gradio.file_data(cache / "abc" / "ok.txt")] * 1000, cache)


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
def test_serves_loopback_only_by_default(serving, corpus_index):
    other = _outside_address()
    with serving(corpus_index, "--no-uploads") as url:
        port = int(url.rsplit(":", 1)[1])
        assert _status(url + "/api/health") == 200
        if other is None:
            pytest.skip("this machine has no non-loopback address to try")
        with pytest.raises(OSError):
            socket.create_connection((other, port), timeout=3).close()


@pytest.mark.slow
def test_login_protects_chat_api_uploads_and_docs(serving, corpus_index, tmp_path):
    logins = tmp_path / "logins"
    add_user(logins, "ann", "correct horse", [])
    with serving(corpus_index, "--auth-file", str(logins)) as url:
        for path in ("/", "/api/health", "/api/documents", "/docs", "/openapi.json", "/gradio_api/info", "/config"):
            assert _status(url + path) == 401, path
            if path in ("/", "/api/health"):  # (more failures from this client would be rate-limited: 429)
                assert _status(url + path, user="ann", password="wrong") == 401, path
                assert _status(url + path, user="eve", password="correct horse") == 401, path
            assert _status(url + path, user="ann", password="correct horse") == 200, path
        assert _upload(url, "a.txt", b"hello") == 401


@pytest.mark.slow
def test_no_file_outside_the_upload_cache_is_served(corpus_dir, serving, corpus_index):
    corpus_file = next(corpus_dir.glob("*.txt")).resolve()
    manifest = (Path(corpus_index) / "manifest.json").resolve()
    with serving(corpus_index, "--no-uploads") as url:
        for target in (str(corpus_file), str(manifest), "/etc/passwd", "../../../../etc/passwd",
                       f"{corpus_dir}/../README.md", "corpus/" + corpus_file.name, "index/manifest.json"):  # fmt: skip
            for prefix in ("/gradio_api/file=", "/file=", "/gradio_api/file/"):
                code = _status(url + prefix + urllib.request.quote(target, safe="/"))
                assert code in (400, 403, 404), (prefix, target, code)


def _upload(url: str, name: str, content: bytes) -> int:
    boundary = "qa-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()  # fmt: skip
    return _status(url + "/gradio_api/upload", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


@pytest.mark.slow
def test_uploads_over_the_size_cap_are_refused_by_the_server(serving, corpus_index, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("A\n\nA paragraph.\n")
    with serving(corpus_index, "--corpus", str(corpus), env={"QA_MAX_UPLOAD_MB": "1"}) as url:
        assert _upload(url, "small.txt", b"Small file\n\nwith a paragraph.\n") == 200
        assert _upload(url, "big.txt", b"x" * (2 * 1024 * 1024)) == 413


# --- the whole HTTP surface of a server with uploads on, as an attacker would try it ----------------


@pytest.fixture(scope="module")
def site(serving, tmp_path_factory, real_embedder):
    """A served index of a one-file corpus, uploads on, gradio's upload folder known; a secret file
    beside it that nothing may read."""
    root = tmp_path_factory.mktemp("site")
    corpus, cache = root / "corpus", root / "cache"
    corpus.mkdir()
    (corpus / "harbour.txt").write_text("Harbour notes\n\nThe harbour master keeps the tide tables in the blue office.\n")
    (root / "secret.txt").write_text("Secret\n\nThe vault code is 4711 and the vault is under the old mill.\n")
    build_index(corpus, root / "idx", embedder=real_embedder)
    log = root / "server.log"
    with serving(root / "idx", "--corpus", str(corpus), env={"GRADIO_TEMP_DIR": str(cache)}, log=log) as url:
        yield {"url": url, "root": root, "corpus": corpus, "cache": cache, "index": root / "idx", "log": log}


def _events_taking_files(gradio, url: str) -> dict[int, str]:
    """Every event of the page whose inputs can carry a file, with the kind of that input."""
    config = gradio.config(url)
    kinds = {c["id"]: c["type"] for c in config["components"]}
    found = {}
    for dep in config["dependencies"]:
        for i in dep["inputs"]:
            if kinds.get(i) in ("file", "chatbot", "multimodaltextbox", "image", "gallery"):
                found[dep["id"]] = kinds[i]
    return found


def _payload(gradio, url: str, fn_index: int, carried: dict) -> list:
    """The event's inputs, each file-carrying one holding ``carried`` (a gradio file object)."""
    config = gradio.config(url)
    kinds = {c["id"]: c["type"] for c in config["components"]}
    dep = next(d for d in config["dependencies"] if d["id"] == fn_index)
    shaped = {"file": [carried], "chatbot": [{"role": "user", "content": [{"type": "file", "file": carried}]}]}
    return [shaped.get(kinds.get(i)) for i in dep["inputs"]]


def _upload_files(url: str, files: list[tuple[str, bytes]]) -> list[str]:
    """Upload through gradio's own route, as the page does; the paths gradio gives the files."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        f"Content-Type: text/plain\r\n\r\n".encode() + content + b"\r\n"
        for name, content in files
    ) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(url + "/gradio_api/upload", data=body,
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def _upload_event(gradio, url: str) -> int:
    return next(fn for fn, kind in _events_taking_files(gradio, url).items() if kind == "file")


def _ask_api(url: str, question: str) -> dict:
    request = urllib.request.Request(url + "/api/ask", data=json.dumps({"question": question}).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


@pytest.mark.slow
def test_no_event_reads_a_server_file_it_did_not_receive(gradio, site):
    url, root, cache = site["url"], site["root"], site["cache"]
    secret = root / "secret.txt"
    (cache / "planted").mkdir(parents=True, exist_ok=True)
    (cache / "planted" / "link.txt").symlink_to(secret)  # a link inside the upload folder that leads out
    paths = {
        "absolute": secret,
        "dot-dot": f"{cache}/planted/../../secret.txt",
        "symlink": cache / "planted" / "link.txt",
        "corpus": site["corpus"] / "harbour.txt",
        "index": site["index"] / "manifest.json",
        "system": "/etc/hostname",
    }
    events = _events_taking_files(gradio, url)
    assert "file" in events.values() and "chatbot" in events.values()  # the upload and the chat's own events
    for fn_index in events:
        for how, path in paths.items():
            status, body = gradio.event(url, fn_index, _payload(gradio, url, fn_index, gradio.file_data(path, "secret.txt")))
            assert status == 400 and body == {"detail": "refused: the request names a file that was not uploaded to this server"}, (fn_index, how, status, body)
    assert not (site["corpus"] / "uploads").exists()
    assert all("vault" not in hit["text"] for hit in _ask_api(url, "What is the vault code?")["hits"])
    # what the page really does still works: upload through gradio, then the event names gradio's copy
    [received] = _upload_files(url, [("notes.txt", b"Notes\n\nThe ferry leaves at seven.\n")])
    status, done = gradio.event(url, _upload_event(gradio, url), [[gradio.file_data(received, "notes.txt")]])
    assert status == 200 and done["success"] and f"Added {escape('uploads/notes.txt')};" in done["output"]["data"][0]
    assert (site["corpus"] / "uploads" / "notes.txt").read_text().endswith("The ferry leaves at seven.\n")


@pytest.mark.slow
def test_gradio_itself_refuses_foreign_files_behind_the_guard(gradio, tmp_path, corpus_index, monkeypatch):
    """Defence in depth: the app behind the guard (gradio's own check, switched on by qa) refuses too."""
    from starlette.testclient import TestClient

    from qa.serve.server import create_app

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "cache"))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("A\n\nA paragraph.\n")
    (tmp_path / "secret.txt").write_text("Secret\n\nThe vault code is 4711.\n")
    guard = create_app(corpus_index, corpus_dir=corpus)
    with TestClient(guard.app) as client:
        fn_index = next(d["id"] for d in client.get("/config").json()["dependencies"] if d.get("api_name") == "upload")
        session = uuid.uuid4().hex[:12]
        joined = client.post("/gradio_api/queue/join", json={"data": [[gradio.file_data(tmp_path / "secret.txt")]], "fn_index": fn_index, "session_hash": session})
        assert joined.status_code == 200
        with client.stream("GET", f"/gradio_api/queue/data?session_hash={session}") as stream:
            done = next(m for m in (json.loads(line[5:]) for line in stream.iter_lines() if line.startswith("data:"))
                        if m["msg"] == "process_completed")  # fmt: skip
    assert done["success"] is False and not (corpus / "uploads").exists()


@pytest.mark.slow
def test_a_second_upload_of_the_same_name_keeps_both_documents(gradio, site):
    url, uploads = site["url"], site["corpus"] / "uploads"
    fn = _upload_event(gradio, url)

    def upload(content: bytes) -> str:
        [received] = _upload_files(url, [("hello.txt", content)])
        status, done = gradio.event(url, fn, [[gradio.file_data(received, "hello.txt")]])
        assert status == 200 and done["success"], done
        return done["output"]["data"][0]

    first, second = b"Hello\n\nThe first greeting of the day.\n", b"Hello\n\nA second, different greeting.\n"
    assert f"Added {escape('uploads/hello.txt')};" in upload(first)
    note = upload(second)
    assert f"Added {escape('uploads/hello (2).txt')};" in note and "exists already" in note
    assert "already uploaded, with the same content" in upload(first)
    assert (uploads / "hello.txt").read_bytes() == first and (uploads / "hello (2).txt").read_bytes() == second


def _raw(url: str, path: str, body: bytes, headers: dict, *, send: bytes | None = None) -> tuple[int, bytes]:
    """A request sent by hand (headers may claim a body larger than what is sent)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", path)
    if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        headers = {**headers, "Content-Length": str(len(body))}
    for k, v in headers.items():
        connection.putheader(k, v)
    connection.endheaders()
    try:
        connection.send(send if send is not None else body)
    except OSError:  # the server answered and closed before taking it all: that is the point
        pass
    response = connection.getresponse()
    return response.status, response.read()


def _chunked(body: bytes, size: int = 65536) -> bytes:
    return b"".join(f"{len(body[i:i + size]):x}\r\n".encode() + body[i:i + size] + b"\r\n" for i in range(0, len(body), size)) + b"0\r\n\r\n"


def _chat_event(gradio, url: str) -> int:
    return next(d["id"] for d in gradio.config(url)["dependencies"] if d.get("api_name") == "chat")


@pytest.mark.slow
def test_request_bodies_and_questions_are_capped_and_never_echoed(gradio, site):
    url = site["url"]
    json_headers = {"Content-Type": "application/json"}
    # a body that says it is 200 MB is refused before it is read
    status, body = _raw(url, "/api/retrieve", b"", {**json_headers, "Content-Length": str(200 << 20)}, send=b"{" * 1024)
    assert status == 413 and json.loads(body) == {"detail": "request body too large: the limit is 4,194,304 bytes"}
    # ... and so is one that does not say its size and keeps coming
    big = json.dumps({"question": "x" * (5 << 20)}).encode()
    status, body = _raw(url, "/api/retrieve", big, {**json_headers, "Transfer-Encoding": "chunked"}, send=_chunked(big))
    assert status == 413 and len(body) < 100
    # a 12 MB question in the chat never reaches the model: refused after the first bytes
    join = json.dumps({"data": ["x" * (12 << 20), None, 5, []], "fn_index": _chat_event(gradio, url), "session_hash": "s"}).encode()
    status, body = _raw(url, "/gradio_api/queue/join", join, {**json_headers, "Content-Length": str(len(join))}, send=join[:65536])
    assert status == 413 and json.loads(body) == {"detail": "request body too large: the limit is 8,388,608 bytes"}
    # uploads: over the cap, or without a size
    boundary = {"Content-Type": "multipart/form-data; boundary=b"}
    assert _raw(url, "/gradio_api/upload", b"", {**boundary, "Content-Length": str(2 << 30)}, send=b"--b")[0] == 413
    assert _raw(url, "/gradio_api/upload", b"", {**boundary, "Transfer-Encoding": "chunked"}, send=_chunked(b"--b\r\n"))[0] == 411
    # one limit, one message, for a question under the body cap: API, chat (and CLI, qa.retrieve: test_cli, test_search)
    question = "Where are the tide tables kept? " * 200  # 6,400 characters
    limit = "question is too long: 6,400 characters, the limit is 2,000"
    for path in ("/api/retrieve", "/api/ask"):
        status, body = _raw(url, path, json.dumps({"question": question}).encode(), json_headers)
        assert (status, json.loads(body)) == (422, {"detail": f"question: {limit}"})
    status, done = gradio.event(url, _chat_event(gradio, url), [question, None, 5, []])
    assert status == 200 and done["output"]["data"][0] == f"Sorry: {escape(limit)}."
    # validation errors name the field, not the value sent
    status, body = _raw(url, "/api/retrieve", json.dumps({"question": "ok?", "k": "y" * 50_000, "zz" * 1000: 1}).encode(), json_headers)
    assert status == 422 and len(body) < 200 and b"yyy" not in body and b"zzz" not in body


@pytest.mark.slow
def test_loose_values_are_refused_with_a_clear_message(gradio, site):
    url, json_headers = site["url"], {"Content-Type": "application/json"}

    def api(body: bytes) -> tuple[int, dict]:
        status, raw = _raw(url, "/api/ask", body, json_headers)
        return status, json.loads(raw)

    assert api(b'{"question": "tide tables?", "k": "5"}') == (422, {"detail": "k: k must be an integer, got str"})
    assert api(b'{"question": "tide tables?", "k": true}') == (422, {"detail": "k: k must be an integer, got bool"})
    assert api(b'{"question": "tide tables?", "k": 5.5}')[0] == 422
    assert api(b'{"question": "tide tables?", "k": 2}')[0] == 200
    assert api(b'{"question": "tide tables?", "k": 2.0}')[0] == 200  # an integer, to JSON and JSON Schema
    blank = {"detail": "question must not be empty or blank"}
    assert api(json.dumps({"question": "\u200b\u200c\u200d\u2060\ufeff \u0007\u001b"}).encode()) == (400, blank)
    status, body = api(b'{"question": "tide \\ud800 tables?"}')
    assert status == 422 and body == {"detail": "question: question is not valid Unicode text (it holds a lone surrogate)"}
    status, body = api(b'{"question": "tide tables?", "history": ["\\udfff"]}')
    assert status == 422 and "codec" not in body["detail"] and "lone surrogate" in body["detail"]
    # the chat: the passages setting as NaN (gradio's slider lets it through), invisible characters, a
    # lone surrogate: each answered in words, and nothing goes wrong on the server
    chat = _chat_event(gradio, url)
    status, done = gradio.event(url, chat, ["Where are the tide tables kept?", None, math.nan, []])
    assert status == 200 and done["output"]["data"][0] == f"Sorry: {escape('passages per answer must be a number from 1 to 20')}."
    assert gradio.event(url, chat, ["\u200b\u2060\ufeff", None, 5, []])[1]["output"]["data"][0] == "Please type a question."
    status, done = gradio.event(url, chat, ["tide \ud800 tables?", None, 5, []])
    assert status == 200 and "not valid Unicode text" in done["output"]["data"][0]
    assert "Traceback" not in site["log"].read_text()
    # out of the slider's range: gradio's own check refuses it (and logs it, as it does every refusal)
    for value in (math.inf, 21, "many"):
        status, done = gradio.event(url, chat, ["Where are the tide tables kept?", None, value, []])
        assert status == 200 and done["success"] is False, (value, done)


@pytest.mark.slow
def test_a_damaged_index_is_named_in_one_line_and_a_sync_repairs_it(corpus_dir, serving, tmp_path, real_embedder):
    import shutil
    import subprocess
    import sys

    corpus, index_dir = tmp_path / "corpus", tmp_path / "idx"
    shutil.copytree(corpus_dir, corpus)
    build_index(corpus, index_dir, embedder=real_embedder)
    data = index_dir / json.loads((index_dir / "manifest.json").read_text())["data"]
    vectors = bytearray((data / "vectors.faiss").read_bytes())
    vectors[4096:4160] = bytes(64)  # 64 bytes of vectors overwritten: faiss would load it and answer wrongly
    (data / "vectors.faiss").write_bytes(bytes(vectors))
    expected = (f"index in {index_dir.resolve()} is damaged: {data.name}/vectors.faiss does not match its checksum; "
                "rebuild it with 'qa index --rebuild'")  # fmt: skip
    qa = str(Path(sys.executable).with_name("qa"))
    cli = subprocess.run([qa, "ask", "Who is Ardavan Hatami?", "--index-dir", str(index_dir.resolve())], capture_output=True, text=True)
    assert cli.returncode == 1 and cli.stderr == f"error: {expected}\n" and cli.stdout == ""
    log = tmp_path / "server.log"
    with serving(index_dir, "--corpus", str(corpus), log=log) as url:
        request = urllib.request.Request(url + "/api/ask", data=b'{"question": "Who is Ardavan Hatami?"}',
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)
        assert refused.value.code == 503 and json.loads(refused.value.read()) == {"detail": expected}
        report = build_index(corpus, index_dir, embedder=real_embedder)  # a sync: finds the damage, rebuilds
        assert report.repairs == (f"{data.name}/vectors.faiss does not match its checksum: built anew",)
        answer = _ask_api(url, "Where is Ardavan Hatami based?")
        assert answer["answered"] and "based in Germany" in answer["hits"][0]["text"]
    assert "Traceback" not in log.read_text()


def _get(url: str, path: str, headers: dict) -> tuple[int, dict, bytes]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


@pytest.mark.slow
def test_what_the_first_attack_pass_found_is_closed(gradio, site):
    url, root, cache = site["url"], site["root"], site["cache"]
    # an upload that states a small length but streams (chunked) more is refused before gradio reads it
    boundary = uuid.uuid4().hex
    form = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n\r\n'.encode()
            + b"x" * (2 << 20) + f"\r\n--{boundary}--\r\n".encode())  # fmt: skip
    status, body = _raw(url, "/gradio_api/upload", form, {"Content-Type": f"multipart/form-data; boundary={boundary}",
                        "Content-Length": "5", "Transfer-Encoding": "chunked"}, send=_chunked(form))  # fmt: skip
    assert status == 411 and b"Content-Length" in body
    # an event may not have gradio build a component (its arguments may name files it would copy)
    bait = root / "bait-for-the-cache.txt"
    bait.write_text("not for the cache")
    event = {"fn_index": _chat_event(gradio, url), "session_hash": "s1", "data": [None, [{"role": "user", "content": [
        {"type": "component", "component": "chatbot", "value": [], "props": {},
         "constructor_args": {"avatar_images": [str(bait), None]}}]}], 5, []]}  # fmt: skip
    status, body = _raw(url, "/gradio_api/queue/join", json.dumps(event).encode(), {"Content-Type": "application/json"})
    assert status == 400 and json.loads(body) == {"detail": "refused: the request asks the server to build a component"}
    assert not list(cache.rglob(bait.name))
    # a file download ignores Range (gradio would echo every request header into the 206), and says not to be framed
    [uploaded] = _upload_files(url, [("note.txt", b"a note")])
    status, headers, body = _get(url, f"/gradio_api/file={uploaded}", {"Range": "bytes=0-1", "Cookie": "session=secret"})
    assert status == 200 and body == b"a note" and "secret" not in json.dumps(headers)
    assert headers["x-frame-options"] == "SAMEORIGIN" and headers["x-content-type-options"] == "nosniff"
    assert _get(url, f"/gradio_api/file={uploaded}", {"Range": "bytes=1-2-3"})[0] == 200  # gradio: 500
    # gradio's own validation errors would repeat the request
    status, body = _raw(url, "/gradio_api/queue/join", json.dumps({"data": "X" * 100_000, "fn_index": "one"}).encode(),
                        {"Content-Type": "application/json"})  # fmt: skip
    assert status == 422 and len(body) < 100 and b"XXX" not in body
    # a page of another site may not post here; a name that is not this loopback server is not answered
    question = json.dumps({"question": "Who keeps the tide tables?"}).encode()
    assert _raw(url, "/api/ask", question, {"Content-Type": "application/json", "Origin": "http://evil.example"})[0] == 403
    assert _raw(url, "/api/ask", question, {"Content-Type": "application/json", "Origin": url})[0] == 200
    status, _, body = _get(url, "/api/health", {"Host": "attacker.example"})
    assert status == 400 and b"host name" in body
    status, _, body = _get(url, "/config", {"X-Forwarded-Host": "evil.example"})
    assert status == 200 and b"evil.example" not in body


@pytest.mark.slow
def test_what_the_third_attack_pass_found_is_closed(site):
    url = site["url"]
    # a Host header that is not even a name is refused like any other, not a 500
    status, _, body = _get(url, "/api/health", {"Host": "[::1"})
    assert status == 400 and b"host name" in body
    # gradio answers other localhost origins with credentialed CORS: no page of another port may read here
    for origin in ("http://localhost:8000", "http://127.0.0.1:9999"):
        status, headers, _ = _get(url, "/config", {"Origin": origin})
        assert status == 200 and not any(k.lower().startswith("access-control-") for k in headers), headers


def test_a_loopback_server_answers_to_loopback_names_and_those_allowed(monkeypatch):
    from qa.serve.access import hosts_for

    monkeypatch.delenv("QA_ALLOWED_HOSTS", raising=False)
    assert hosts_for("127.0.0.1") == {"127.0.0.1", "localhost", "::1"} == hosts_for("::1")
    assert hosts_for("0.0.0.0") is None and hosts_for("192.168.1.5") is None
    monkeypatch.setenv("QA_ALLOWED_HOSTS", "qa.local, Docs.Example")
    assert {"qa.local", "docs.example"} <= hosts_for("localhost")


@pytest.mark.slow
def test_a_body_too_slow_or_too_many_fields_does_not_hold_the_server(serving, corpus_index):
    """A body dribbled in is cut off (408) and does not stall others; unknown fields by the thousand are one
    fast 422, not seconds of the event loop (358,000 keys fill the 4 MB cap)."""
    import time
    import urllib.parse

    import qa.serve.guard as guard

    with serving(corpus_index, "--no-uploads") as url:
        host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
        slow = socket.create_connection((host, port))
        slow.sendall(b"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
        began = time.monotonic()
        health = urllib.request.urlopen(url + "/api/health", timeout=10).status  # not held up by the slow one
        assert health == 200 and time.monotonic() - began < 5
        fields = json.dumps({**{f"k{i}": 1 for i in range(358_000)}, "question": "Hatami"}, separators=(",", ":")).encode()
        assert len(fields) < guard.MAX_BODY
        began = time.monotonic()
        request = urllib.request.Request(url + "/api/retrieve", data=fields, headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 422 and time.monotonic() - began < 1.5
        assert json.loads(refused.value.read())["detail"] == "body: 358000 unknown fields; the fields are question, k, history, sources"
        slow.settimeout(guard.BODY_SECONDS + 10)
        answer = slow.recv(4096)  # the dribbling client is answered 408 once its time is up
        assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - began < guard.BODY_SECONDS + 5
        slow.close()


@pytest.mark.slow
def test_failed_logins_are_rate_limited_whatever_address_they_claim(serving, corpus_index, tmp_path):
    """Ten wrong passwords from one address, each claiming another (X-Forwarded-For): the eleventh
    attempt is 429 with Retry-After, the right password included; uvicorn believes no forwarded address
    unless QA_FORWARDED_ALLOW_IPS names the proxy."""
    logins = tmp_path / "logins"
    add_user(logins, "ann", "correct horse", [])
    add_user(logins, "ben", "battery staple", [])
    with serving(corpus_index, "--no-uploads", "--auth-file", str(logins)) as url:
        assert _status(url + "/api/health", user="ann", password="correct horse") == 200  # a session already open
        for n in range(10):
            forwarded = {"X-Forwarded-For": f"203.0.113.{n}"}
            assert _status(url + "/api/health", user="ann", password=f"guess {n}", headers=forwarded) == 401
        request = urllib.request.Request(url + "/api/health", headers={"Authorization": "Basic " + base64.b64encode(b"ben:battery staple").decode()})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)
        assert refused.value.code == 429 and int(refused.value.headers["Retry-After"]) > 0
        assert json.loads(refused.value.read())["detail"].startswith("too many login attempts: try again in ")
        assert _status(url + "/api/health", user="ann", password="correct horse") == 200  # ... stays open


def test_a_login_file_with_no_users_is_not_a_server_without_login(tmp_path, corpus_index):
    empty = tmp_path / "logins"
    empty.write_text("# nobody yet\n")
    qa = str(Path(sys.executable).with_name("qa"))
    done = subprocess.run([qa, "serve", "--index-dir", str(corpus_index), "--auth-file", str(empty), "--port", "1"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1 and "has no users: add one with 'qa user add NAME" in done.stderr
