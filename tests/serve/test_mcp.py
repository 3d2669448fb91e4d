"""MCP on both transports, driven by the SDK's own client: ``qa mcp`` over stdio and ``qa serve``'s ``/mcp``
over streamable HTTP, against a real index of ``corpus/`` (the real model, real faiss, real processes)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from urllib.parse import quote

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

import qa

pytestmark = pytest.mark.slow

QUESTION = "How many followers does the Persian Instagram account have?"
SOURCES = ["000_ec1e6d9161bd9899.txt", "001_a1be916fc4c24177.txt", "002_14c79f4b99af8c32.txt"]
TRAVERSALS = [
    "qa://doc/../../etc/passwd", "qa://doc/%2E%2E/%2E%2E/etc/passwd", "qa://doc/%2Fetc%2Fpasswd", "qa://doc//etc/passwd",
    "qa://doc/..%2F..%2Fetc%2Fpasswd", "qa://doc/manifest.json", "qa://doc/../index/manifest.json", "qa://doc/C:%5Cwindows",
    "qa://doc/000_ec1e6d9161bd9899.txt%00.png", "qa://doc/000_ec1e6d9161bd9899.txt/../../../etc/passwd",
]  # fmt: skip


def stdio(index_dir: Path, **env) -> Client:
    qa_command = str(Path(sys.executable).with_name("qa"))
    return Client(StdioServerParameters(command=qa_command, args=["mcp", "--index-dir", str(index_dir)], env={"HF_HUB_OFFLINE": "1", **env}))


def http(url: str, auth: tuple[str, str] | None = None) -> Client:
    client = create_mcp_http_client(auth=httpx2.BasicAuth(*auth) if auth else None)
    return Client(streamable_http_client(url + "/mcp", http_client=client))


@pytest.fixture(scope="module")
def server(serving, corpus_index):
    with serving(corpus_index, "--no-uploads") as url:
        yield url


@pytest.fixture(params=["stdio", "http"])
def connect(request, corpus_index):
    """A function making a client of the transport under test (a fresh one per call)."""
    if request.param == "stdio":
        return lambda: stdio(corpus_index)
    url = request.getfixturevalue("server")
    return lambda: http(url)


def run(connect, body):
    """``await body(client)`` inside a connected client, from a synchronous test."""

    async def main():
        async with connect() as client:
            return await body(client)

    return anyio.run(main)


def error_text(result) -> str:
    assert result.is_error, result
    return " ".join(c.text for c in result.content)


def test_tools_are_listed_with_schemas_and_descriptions(connect):
    tools = run(connect, lambda c: c.list_tools()).tools
    by_name = {t.name: t for t in tools}
    assert set(by_name) == {"search_documents", "ask", "list_documents"}
    search = by_name["search_documents"].input_schema
    assert search["required"] == ["question"] and set(search["properties"]) == {"question", "k", "sources", "history"}
    assert (search["properties"]["k"]["minimum"], search["properties"]["k"]["maximum"]) == (1, 50)
    assert search["properties"]["question"]["maxLength"] == 2000
    assert set(by_name["ask"].input_schema["properties"]) == {"question", "k", "sources", "history"}
    for tool in tools:
        assert len(tool.description) > 150 and tool.output_schema is not None  # enough for an agent to act on


def test_search_documents_gives_cited_hits(connect):
    result = run(connect, lambda c: c.call_tool("search_documents", {"question": QUESTION, "k": 3}))
    assert not result.is_error
    hits = result.structured_content["hits"]
    assert len(hits) == 3
    top = hits[0]
    assert top["source"] == SOURCES[0] and top["paragraph"] == 15 and top["line"] == 30
    assert top["citation"].endswith("000_ec1e6d9161bd9899.txt ¶15, line 30")
    assert "half a million followers" in top["highlight"]["text"]
    assert top["end"] > top["start"] and isinstance(top["score"], float) and "section" in top and "page" in top


def test_search_can_be_limited_to_files_and_follow_a_conversation(connect):
    async def body(client):
        limited = await client.call_tool("search_documents", {"question": QUESTION, "k": 5, "sources": [SOURCES[2]]})
        follow = await client.call_tool("search_documents", {"question": "Where is he based?", "history": ["Who is Ardavan Hatami?"]})
        asked = await client.call_tool("ask", {"question": QUESTION, "k": 2, "sources": [SOURCES[2]]})
        return limited, follow, asked

    limited, follow, asked = run(connect, body)
    assert {h["source"] for h in limited.structured_content["hits"]} == {SOURCES[2]}
    assert len(asked.structured_content["hits"]) == 2 and {h["source"] for h in asked.structured_content["hits"]} == {SOURCES[2]}
    assert follow.structured_content["query"] == "Ardavan Hatami: Where is he based?"
    assert "Germany" in follow.structured_content["hits"][0]["highlight"]["text"]


def test_ask_equals_qa_ask(connect, corpus_index):
    questions = [QUESTION, "Who won the 2018 FIFA World Cup?", "How old is Sharona Avginsaz?"]

    async def body(client):
        return [(await client.call_tool("ask", {"question": q})).structured_content for q in questions]

    answers = run(connect, body)
    for question, answer in zip(questions, answers):
        expected = qa.ask(question, index_dir=corpus_index).to_dict()
        assert answer == json.loads(json.dumps(expected)), question  # same hits, same order, same outcome
    assert [a["outcome"] for a in answers] == ["answered", "not_found", "related"]


def test_list_documents_and_read_each_one(connect, corpus_dir):
    async def body(client):
        listed = (await client.call_tool("list_documents", {})).structured_content
        resources = (await client.list_resources()).resources
        texts = {d["source"]: (await client.read_resource(d["uri"])).contents[0].text for d in listed["documents"]}
        return listed, resources, texts

    listed, resources, texts = run(connect, body)
    assert [d["source"] for d in listed["documents"]] == SOURCES and listed["skipped"] == {}
    assert [d["passages"] for d in listed["documents"]] == [16, 15, 17]
    assert [str(r.uri) for r in resources] == [f"qa://doc/{quote(s)}" for s in SOURCES]
    for source, text in texts.items():
        original = (corpus_dir / source).read_text(encoding="utf-8")
        # every paragraph where the file has it: the offsets of hits point into this text
        assert text.split() == original.split() and len(text) <= len(original)


def test_hit_offsets_point_into_the_document_resource(connect):
    async def body(client):
        hit = (await client.call_tool("search_documents", {"question": QUESTION, "k": 1})).structured_content["hits"][0]
        text = (await client.read_resource(f"qa://doc/{quote(hit['source'])}")).contents[0].text
        return hit, text

    hit, text = run(connect, body)
    assert text[hit["start"] : hit["end"]] == hit["text"]
    assert text[hit["highlight"]["start"] : hit["highlight"]["end"]] == hit["highlight"]["text"]


def test_no_resource_outside_the_index_can_be_read(connect):
    async def body(client):
        outcomes = []
        for uri in TRAVERSALS:
            try:
                read = await client.read_resource(uri)
                outcomes.append((uri, "read", read.contents[0].text[:40]))
            except MCPError as e:
                outcomes.append((uri, "error", str(e)))
        return outcomes

    for uri, outcome, detail in run(connect, body):
        assert outcome == "error", (uri, detail)
        assert "root:" not in detail and "/etc" not in detail.replace(uri, "")


BAD_INPUT = [
    ("search_documents", {"question": "   "}, "question must not be empty or blank"),
    ("search_documents", {"question": "\u200b\u200b"}, "question must not be empty or blank"),
    ("search_documents", {"question": QUESTION, "k": 0}, "k: k must be between 1 and 50, got 0"),
    ("search_documents", {"question": QUESTION, "k": 51}, "k: k must be between 1 and 50, got 51"),
    ("search_documents", {"question": "x" * 5000}, "question: question is too long: 5,000 characters, the limit is 2,000"),  # as the API says
    ("search_documents", {"question": QUESTION, "sources": ["secret-plans.txt"]}, "sources: 1 of the files named is not in the index"),
    ("search_documents", {"question": QUESTION, "sources": ["../" * 90]}, "sources: each of sources must be at most 256 characters, got 270"),
    ("ask", {"question": QUESTION, "history": ["q"] * 21}, "history: history has 21 turns, the limit is 20"),
    ("ask", {}, "question: Field required"),
    ("no_such_tool", {}, "unknown tool: tools/list names the tools of this server"),
    ("x" * 100_000, {}, "unknown tool: tools/list names the tools of this server"),
    ("search_documents", {"question": QUESTION, "k": "5"}, "k: k must be an integer, got str"),
    ("search_documents", {"question": QUESTION, "k": True}, "k: k must be an integer, got bool"),
    ("search_documents", {"question": QUESTION, "K": 3, "source": ["a.txt"]}, "2 unknown arguments; the arguments are question, k, sources, history"),
    ("ask", {"question": QUESTION, "sources": ["secret-plans.txt"]}, "sources: 1 of the files named is not in the index"),
    ("list_documents", {"everything": True}, "1 unknown argument; the arguments are none"),
    ("ask", {"question": QUESTION, "history": ["q" * 2001]}, "history.0: each turn of history is too long"),
]  # fmt: skip


def test_bad_input_is_an_error_result_with_one_clear_line(connect):
    async def body(client):
        outcomes = [(case, await client.call_tool(case[0], case[1])) for case in BAD_INPUT]
        after = await client.call_tool("search_documents", {"question": QUESTION, "k": 1})  # the server lives on
        return outcomes, after

    outcomes, after = run(connect, body)
    for (_, _, message), result in outcomes:
        text = error_text(result)
        assert text.startswith(message) and "\n" not in text and len(text) <= 200, text
        assert "secret-plans" not in text and "xxxxxxxx" not in text and "input_value" not in text  # never echoed
    assert not after.is_error and after.structured_content["hits"]


def test_no_index_yet_is_an_error_result_not_a_crash(tmp_path):
    async def body(client):
        results = [await client.call_tool(name, args) for name, args in
                   [("search_documents", {"question": QUESTION}), ("ask", {"question": QUESTION}), ("list_documents", {})]]  # fmt: skip
        return results, (await client.list_resources()).resources

    results, resources = run(lambda: stdio(tmp_path / "nothing-here"), body)
    for result in results:
        assert "no index in" in error_text(result) and "qa index" in error_text(result)
    assert resources == []


def test_mcp_over_http_needs_the_login(serving, corpus_index, tmp_path):
    logins = tmp_path / "logins"
    qa.add_user(logins, "alice", "correct horse battery", [])
    with serving(corpus_index, "--no-uploads", "--auth-file", str(logins)) as url:
        # the same login as every other route: without it (or with a wrong one) the endpoint answers 401
        for auth in (None, ("alice", "wrong"), ("mallory", "correct horse battery")):
            response = httpx2.post(url + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                   auth=httpx2.BasicAuth(*auth) if auth else None)  # fmt: skip
            assert response.status_code == 401 and response.headers["www-authenticate"] == 'Basic realm="qa"'
        with pytest.raises(Exception):  # the SDK's client fails to connect without it
            run(lambda: http(url), lambda c: c.list_tools())
        tools = run(lambda: http(url, ("alice", "correct horse battery")), lambda c: c.list_tools()).tools
        assert {t.name for t in tools} == {"search_documents", "ask", "list_documents"}


def test_mcp_over_http_keeps_the_servers_limits(server):
    too_big = httpx2.post(server + "/mcp", content=b"{" + b" " * (5 << 20) + b"}", headers={"content-type": "application/json"})
    assert too_big.status_code == 413
    foreign = httpx2.post(server + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                          headers={"origin": "http://evil.example", "accept": "application/json, text/event-stream"})  # fmt: skip
    assert foreign.status_code == 403
    rebinding = httpx2.post(server + "/mcp", json={}, headers={"host": "attacker.example"})
    assert rebinding.status_code == 400
    accept = {"accept": "application/json, text/event-stream"}
    for malformed in (b'[{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"zzsecret": 1}}]', b"zzsecret{",
                      b'{"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": "qa://doc/zzsecret"}}'):  # fmt: skip
        response = httpx2.post(server + "/mcp", content=malformed, headers={"content-type": "application/json", **accept})
        error = response.json()["error"]
        assert "zzsecret" not in response.text and "\n" not in error["message"] and len(error["message"]) <= 200, error
    # a long name the SDK logs (an unknown prompt) costs no time: it took seconds of the event loop once
    began = time.monotonic()
    prompt = httpx2.post(server + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "prompts/get", "params": {"name": "Z" * 500_000}},
                         headers=accept, timeout=60)  # fmt: skip
    assert prompt.status_code == 200 and len(prompt.text) < 400 and time.monotonic() - began < 5
    for method in ("GET", "DELETE", "PUT"):  # stateless: no event stream to hold open, no session to end
        response = httpx2.request(method, server + "/mcp", headers={"accept": "text/event-stream"}, timeout=10)
        assert response.status_code == 405 and response.headers["allow"] == "POST"


def test_a_lone_surrogate_over_stdio_is_answered_not_left_hanging(corpus_index):
    """JSON may escape a lone surrogate ("\\ud800") that no UTF-8 can hold; the SDK's parser refuses the
    line, and over stdio nothing was answered at all. Now it is read with U+FFFD in its place."""
    import select
    import subprocess

    qa_command = str(Path(sys.executable).with_name("qa"))
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
             "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}  # fmt: skip
    raw = json.dumps(hello) + "\n" + json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n"
    raw += '{"jsonrpc":"2.0","id":77,"method":"tools/call","params":{"name":"search_documents","arguments":{"question":"\\ud800 Who is Ardavan Hatami?","k":1}}}\n'
    server = subprocess.Popen([qa_command, "mcp", "--index-dir", str(corpus_index)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        server.stdin.write(raw.encode())
        server.stdin.flush()
        found = None
        while found is None and select.select([server.stdout], [], [], 120)[0]:
            answer = json.loads(server.stdout.readline() or b"{}")
            found = answer if answer.get("id") == 77 else None
    finally:
        server.kill()
    assert found is not None, "no answer within 120 s"
    assert not found["result"]["isError"] and found["result"]["structuredContent"]["hits"]


def test_errors_over_stdio_are_short_and_do_not_repeat_what_was_sent(corpus_index):
    """The SDK's own answers to an unknown resource or prompt repeat the URI or name (and its log printed a
    traceback holding it): over stdio, as over HTTP, one short line, and nothing of the input."""
    import select
    import subprocess

    qa_command = str(Path(sys.executable).with_name("qa"))
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
             "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}  # fmt: skip
    asked = [
        {"method": "resources/read", "params": {"uri": "qa://doc/zzsecret" + "z" * 5000}},
        {"method": "resources/read", "params": {"uri": "file:///etc/passwd#zzsecret"}},
        {"method": "prompts/get", "params": {"name": "zzsecret" * 1000}},
        {"method": "tools/call", "params": {"name": "ask", "arguments": {"question": "Who?", "zzsecret": 1}}},
    ]
    lines = [hello, {"jsonrpc": "2.0", "method": "notifications/initialized"}]
    lines += [{"jsonrpc": "2.0", "id": n, **message} for n, message in enumerate(asked, 2)]
    server = subprocess.Popen([qa_command, "mcp", "--index-dir", str(corpus_index)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    answers = {}
    try:
        server.stdin.write("".join(json.dumps(m) + "\n" for m in lines))
        server.stdin.flush()
        while not set(range(2, 2 + len(asked))) <= answers.keys() and select.select([server.stdout], [], [], 120)[0]:
            answer = json.loads(server.stdout.readline() or "{}")
            answers[answer.get("id")] = answer
    finally:
        server.stdin.close()
        logged = server.stderr.read() if server.wait(timeout=60) is not None else ""
    assert set(range(2, 2 + len(asked))) <= answers.keys(), (answers, logged[-2000:])
    for n in range(2, 2 + len(asked)):
        answer = json.dumps(answers[n])
        assert "zzsecret" not in answer and len(answer) < 300, answer
    assert answers[5]["result"]["isError"]  # an unknown argument is refused, not dropped
    assert "zzsecret" not in logged and "Traceback" not in logged, logged[-500:]


def test_lines_the_sdk_cannot_take_over_stdio_are_answered(corpus_index):
    """Over stdio the SDK logged a line it could not parse or validate and answered nothing: a client that
    sent an id waited for ever. Each is answered now (-32700 or -32600, the id when it has one), a method
    name too long to be one gets "Method not found" without repeating it, and the server goes on."""
    import select
    import subprocess

    qa_command = str(Path(sys.executable).with_name("qa"))
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
             "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}  # fmt: skip
    raw = [
        json.dumps(hello), json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        '{"jsonrpc": "2.0", "id": 30, "method": "tools/li',  # cut short
        "",  # a blank line: no message, no answer
        '{"jsonrpc": "2.0", "id": 31, "method": "tools/list", "params": [1]}',
        '{"jsonrpc": "2.0", "id": {"zzsecret": 1}, "method": "ping"}',
        '[{"jsonrpc": "2.0", "id": 33, "method": "ping"}]',
        '{"jsonrpc": "2.0", "id": 34, "method": "tools/call", "params": {"name": "ask", "arguments": {"question": "Who?", "k": '
        + "9" * 5000 + "}}}",
        json.dumps({"jsonrpc": "2.0", "id": 35, "method": "zzsecret" * 400}),
        '{"jsonrpc": "2.0", "id": null, "method": "ping"}',  # MCP's requests have ids: refused, not ignored
        '{"jsonrpc": "2.0", "id": ' + "7" * 4400 + ', "method": "ping"}',  # more digits than Python reads
        '{"jsonrpc": "2.0",\r"id": 37, "method": "ping"}',  # a CR is JSON whitespace, not the end of a line
        json.dumps({"jsonrpc": "2.0", "id": 36, "method": "ping"}),
    ]  # fmt: skip
    server = subprocess.Popen([qa_command, "mcp", "--index-dir", str(corpus_index)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    answers = []
    try:
        server.stdin.write("\n".join(raw) + "\n")
        server.stdin.flush()
        while 36 not in [a.get("id") for a in answers] and select.select([server.stdout], [], [], 120)[0]:
            answers.append(json.loads(server.stdout.readline() or '{"id": 36, "eof": true}'))
    finally:
        server.stdin.close()
        logged = server.stderr.read() if server.wait(timeout=60) is not None else ""
    by_id = {a.get("id"): a for a in answers}
    assert by_id[36] == {"jsonrpc": "2.0", "id": 36, "result": {}}, (answers, logged[-1000:])
    assert by_id[31]["error"]["code"] == -32600 and by_id[34]["error"]["code"] in (-32600, -32602)
    assert by_id[35]["error"] == {"code": -32601, "message": "Method not found"}
    nameless = [a["error"]["code"] for a in answers if a.get("id") is None]
    assert by_id[37] == {"jsonrpc": "2.0", "id": 37, "result": {}}
    assert sorted(nameless) == [-32700] + [-32600] * 4, answers  # the cut line; object, null, huge ids; the batch
    assert all("zzsecret" not in json.dumps(a) and len(json.dumps(a)) < 300 for a in answers if a.get("id") != 1)
    assert "zzsecret" not in logged and "Traceback" not in logged, logged[-500:]
