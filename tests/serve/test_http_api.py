"""The HTTP API on a real server (``qa serve`` on loopback, the real model and index)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def call(url: str, path: str, body=None, *, raw: bytes | None = None, headers: dict | None = None):
    """(status, headers, parsed JSON body) of one request."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url + path, data=data, method="POST" if data is not None else "GET")
    request.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        request.add_header(k, v)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text.decode(errors="replace")
        return e.code, dict(e.headers), parsed


@pytest.fixture(scope="module")
def server(serving, corpus_index):
    with serving(corpus_index, "--no-uploads") as url:
        yield url


def test_health_and_documents(server):
    status, _, body = call(server, "/api/health")
    assert status == 200 and body["status"] == "ok" and body["passages"] == 48 and body["documents"] == 3
    assert body["precision"] == "int8"  # the default
    status, _, body = call(server, "/api/documents")
    assert status == 200 and [d["passages"] for d in body["documents"]] == [16, 15, 17]
    assert {d["format"] for d in body["documents"]} == {"txt"}


def test_retrieve_gives_hits_with_citations_and_highlights(server):
    status, _, body = call(server, "/api/retrieve", {"question": "How many followers does the Persian Instagram account have?", "k": 3})
    assert status == 200 and len(body["hits"]) == 3
    top = body["hits"][0]
    assert top["source"] == "000_ec1e6d9161bd9899.txt" and top["paragraph"] == 15 and top["line"] == 30
    assert top["citation"].endswith("000_ec1e6d9161bd9899.txt ¶15, line 30")
    assert "half a million followers" in top["highlight"]["text"]


def test_ask_answers_follow_ups_abstains_and_restricts_to_sources(server):
    status, _, body = call(server, "/api/ask", {"question": "Where is he based?", "history": ["Who is Ardavan Hatami?"]})
    assert status == 200 and body["answered"] and body["query"] == "Ardavan Hatami: Where is he based?"
    assert "based in Germany" in body["hits"][0]["text"]
    status, _, body = call(server, "/api/ask", {"question": "Who won the 2018 FIFA World Cup?"})
    assert status == 200 and body["answered"] is False and body["outcome"] == "not_found" and body["hits"]
    status, _, body = call(server, "/api/ask", {"question": "How old is Sharona Avginsaz?"})  # named, age not stated
    assert status == 200 and (body["answered"], body["outcome"]) == (False, "related")
    assert any("Avginsaz" in h["text"] for h in body["hits"][:2])  # see tests/retrieval/test_abstain.py
    only = "001_a1be916fc4c24177.txt"
    status, _, body = call(server, "/api/ask", {"question": "Who is Ardavan Hatami?", "sources": [only]})
    assert status == 200 and {h["source"] for h in body["hits"]} == {only}
    # a file not in the index is said to be so, as qa.ask and MCP say it (not answered with nothing)
    status, _, body = call(server, "/api/retrieve", {"question": "Who is Ardavan Hatami?", "sources": [only, "x.txt", "y.md"]})
    assert (status, body) == (404, {"detail": "sources: 2 of the files named are not in the index"})


@pytest.mark.parametrize(
    "body, raw",
    [
        ({"question": ""}, None),
        ({"question": "   "}, None),
        ({"question": "ok?", "k": 0}, None),
        ({"question": "ok?", "k": 10_000}, None),
        ({"question": "ok?", "k": "five"}, None),
        ({"question": "ok?", "history": "not a list"}, None),
        ({"question": "ok?", "surprise": 1}, None),
        ({"question": "x" * 5000}, None),
        ({}, None),
        (None, b"{not json"),
        (None, b"[1, 2, 3]"),
    ],
)
def test_invalid_requests_get_a_4xx_json_error(server, body, raw):
    for path in ("/api/retrieve", "/api/ask"):
        status, headers, parsed = call(server, path, body, raw=raw)
        assert 400 <= status < 500, (status, parsed)
        assert headers["content-type"].startswith("application/json") and "detail" in parsed
        if raw == b"{not json":
            assert parsed == {"detail": "body: not valid JSON (at character 1)"}


def test_openapi_describes_every_route(server):
    status, _, spec = call(server, "/openapi.json")
    assert status == 200
    assert {"/api/retrieve", "/api/ask", "/api/documents", "/api/health"} <= set(spec["paths"])
    assert "RetrieveRequest" in spec["components"]["schemas"]


def test_schemathesis_finds_no_contract_violation(server):
    st = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    result = subprocess.run(
        [st, "run", f"{server}/openapi.json", "--checks", "all", "--max-examples", "25",
         "--generation-deterministic", "--request-timeout", "60", "--no-color"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_a_full_queue_answers_503_with_retry_after(serving, corpus_index):
    with serving(corpus_index, "--no-uploads", env={"QA_MAX_PENDING": "2"}) as url:
        body = {"question": "Which sites did the Iranian delegation visit in Israel?", "k": 10}
        with ThreadPoolExecutor(1) as prober, ThreadPoolExecutor(24) as pool:
            load = pool.map(lambda _: call(url, "/api/retrieve", body), range(48))
            health = prober.submit(lambda: [call(url, "/api/health")[0] for _ in range(10)]).result()  # queue full
            results = list(load)
    codes = [status for status, _, _ in results]
    assert set(codes) <= {200, 503} and codes.count(200) >= 2 and codes.count(503) >= 1, codes
    assert health == [200] * 10  # outside the bound: it tells a busy server from a down one
    busy = next(headers for status, headers, _ in results if status == 503)
    assert busy["retry-after"] == "1"


def test_answers_say_where_their_time_went_only_when_asked(server, serving, corpus_index):
    """Server-Timing ($QA_SERVER_TIMING=1): each stage of the answer and the handler's total, in ms. Off
    by default: a stage's time tells whether others asked the question (or were cited its passages) lately."""
    from qa.timing import STAGES

    question = {"question": "When did Sharona Avginsaz immigrate to Israel?", "k": 3}
    assert "server-timing" not in {k.lower() for k in call(server, "/api/retrieve", question)[1]}
    with serving(corpus_index, "--no-uploads", env={"QA_SERVER_TIMING": "1"}) as timed:
        answers = [call(timed, path, question) for path in ("/api/retrieve", "/api/ask")]
    for status, headers, body in answers:
        assert status == 200 and len(body["hits"]) == 3
        header = {k.lower(): v for k, v in headers.items()}["server-timing"]
        timing = dict(part.strip().split(";dur=") for part in header.split(","))
        spent = {name: float(ms) for name, ms in timing.items()}
        assert {"embed", "bm25", "vectors", "rerank", "highlight", "abstain", "json", "total"} <= spent.keys() <= {*STAGES, "json", "total"}
        assert all(ms >= 0 for ms in spent.values())
        assert sum(v for k, v in spent.items() if k != "total") <= spent["total"] + 0.05


@pytest.mark.parametrize(
    "fields",
    [{"k": 0}, {"k": 51}, {"k": 2.5}, {"k": "5"}, {"k": True}, {"k": 1e300}, {"history": ["q"] * 21}, {"history": "q"}, {"history": [1]}, {"question": 7}, {"sources": [3]}, {"sources": "a.txt"}, {"history": ["q" * 2001]}, {"sources": ["a"] * 1001},
     {"sources": ["a" * 257]}, {"question": "x" * 2001}, {"question": "\u200b "}],  # fmt: skip
)
def test_bad_input_gets_the_words_qa_ask_uses(server, fields):
    """One input contract (qa.retrieval.request): the API says of bad input what qa.ask and the CLI say."""
    from qa.retrieval.request import Request

    body = {"question": "Who is Ardavan Hatami?", **fields}
    with pytest.raises(ValueError) as python:
        Request.checked(body["question"], body.get("k", 5), history=body.get("history"), sources=body.get("sources"))
    status, _, answer = call(server, "/api/retrieve", body)
    assert status in (400, 422) and answer["detail"].split(": ", 1)[-1] == str(python.value)


def test_a_body_of_a_million_lists_is_refused_before_it_is_parsed(server):
    """FastAPI and the MCP SDK parse and validate a body on the event loop: a 4 MB body of a million empty
    lists held every other request 1.2 s. Refused first now, by counting; brackets inside strings do not count."""
    import threading
    import time

    flood = b'{"question": "Who?", "history": [' + b"[]," * 1_000_000 + b"[]]}"
    stalled = []

    def health() -> None:
        began = time.monotonic()
        call(server, "/api/health")
        stalled.append(time.monotonic() - began)

    began = time.monotonic()
    status, _, parsed = call(server, "/api/retrieve", raw=flood)
    assert (status, parsed) == (422, {"detail": "body: more than 10,000 JSON arrays and objects"})
    checker = threading.Thread(target=health)
    checker.start()
    answers = [call(server, "/mcp", raw=flood.replace(b'"question"', b'"jsonrpc": "2.0", "method": "ping", "question"'),
                    headers={"accept": "application/json, text/event-stream"}) for _ in range(4)]  # fmt: skip
    checker.join()
    assert all(a[0] == 400 and a[2]["error"]["code"] == -32600 and a[2]["id"] is None for a in answers), answers[0]
    assert time.monotonic() - began < 10 and stalled[0] < 2, stalled
    unclosed = b"[" * 10_001 + b'"' + b'\\"' * 1_500_000  # strings never closed: the check stays linear
    utf16 = ('{"question": "\u5c00", "history": [' + "[]," * 100_000 + "[]]}").encode("utf-16-le")  # 00 5C: no backslash
    for body in (unclosed, utf16):
        began = time.monotonic()
        status, _, parsed = call(server, "/api/retrieve", raw=body)
        assert status == 422 and parsed["detail"].startswith("body: ") and time.monotonic() - began < 5, parsed
    assert parsed == {"detail": "body: not valid JSON (it must be UTF-8)"}
    brackets = {"question": "Which of [a] {b} [[c]] is it? " + "[" * 1500, "k": 1}  # within the question's 2,000 characters
    status, _, parsed = call(server, "/api/retrieve", {**brackets, "history": ["[" * 1999] * 20})
    assert status == 200 and "hits" in parsed, parsed


def test_a_chat_event_of_too_many_lists_is_refused_before_it_is_parsed(server):
    """gradio parses an event on the event loop too: an event body of more than 100,000 JSON arrays and
    objects (a conversation has hundreds at most) is refused before it is parsed."""
    import time

    flood = b'{"data": [' + b"[]," * 150_000 + b'[]], "fn_index": 0, "session_hash": "x"}'
    began = time.monotonic()
    status, _, parsed = call(server, "/gradio_api/queue/join", raw=flood)
    assert status == 422 and time.monotonic() - began < 5  # (the chat's 422s all say one line of their own)
    assert parsed == {"detail": "the request does not fit what this page sends"}
