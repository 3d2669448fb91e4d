"""Who may read what, tried to break on a running server: two users, three groups, a corpus where each
reads a different part. Every way in -- the API, the chat's events, MCP over HTTP and stdio, resources,
file routes, uploads, health -- is asked by each user, and every byte that comes back is searched for the
names, titles and text of the documents that user may not read. Real model, real faiss, real processes."""

from __future__ import annotations

import base64
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError
from support.documents import pdf_bytes

from qa.build import build_index
from qa.users import add_user

pytestmark = pytest.mark.slow

# source → (title, text). Every word that marks a document is in it alone: in no other document, no
# question, no page of the chat.
DOCS = {
    "public/harbour.md": ("Harbour", "The harbour master of Port Elwin is Maren Tovik. She has run the harbour since 2011."),
    "hr/lindqvist-salaries.md": ("Lindqvist salaries", "The chief engineer Oskar Lindqvist earns ninety-four thousand crowns a year."),
    "sales/zephyr-contract.md": ("Zephyr contract", "The Zephyr fishing contract with Nordvik Fisheries is worth three million crowns."),
    "shared/roster.md": ("Roster", "The staff roster puts Ingrid Solberg on the night shift at the harbour office."),
    "board/bluefin-merger.md": ("Bluefin merger", "Project Bluefin is the codename of the merger with Halvard Shipping."),
    "vault/obsidian-keys.md": ("Obsidian keys", "The Obsidian vault keys are kept by Tamsin Crowe in the strongroom."),
}
PDF = ("hr/kestrel-berths.pdf", "Kestrel berths", "The Kestrel berth plan gives pier nine to the Marlowe tankers.")
RULES = """
rule = [  # the same as [[rule]] tables, written inline
  {path = "public/", read = ["*"]},
  {path = "hr/", read = ["hr"], write = ["hr"]},
  {path = "sales/", read = ["sales"]},
  {path = "shared/", read = ["staff"]},
  {path = "board/", read = ["board"]},
]
"""
USERS = {"alice": ("alice-pw", ["hr", "staff"]), "bob": ("bob-pw", ["sales", "staff"])}
READS = {
    "alice": {"public/harbour.md", "hr/lindqvist-salaries.md", PDF[0], "shared/roster.md"},
    "bob": {"public/harbour.md", "sales/zephyr-contract.md", "shared/roster.md"},
}
MEMO = ("hr/memo.md", "The Quillfeather memo says the night ferry leaves at eleven.")  # alice uploads it
QUESTIONS = [
    "How much does the chief engineer earn?", "What is the fishing contract worth?", "Who is the harbour master?",
    "Which company is part of the merger?", "Who keeps the vault keys?", "Which pier goes to the tankers?",
    "Who works the night shift?", "When does the night ferry leave?",
]  # fmt: skip


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]*", text)}


def _forbidden(everything: dict[str, tuple[str, str]], reads: set[str]) -> dict[str, set[str]]:
    """For each file not in ``reads``, what must not come back: its path, name, title, each sentence,
    and each word of six letters or more that no readable file, question or page of the chat has."""
    common = set().union(*(_words(f"{s} {t} {x}") for s, (t, x) in everything.items() if s in reads), *map(_words, QUESTIONS))
    return {
        source: {source.lower(), Path(source).name.lower(), title.lower(), *(p.strip(" .").lower() for p in text.split(". ")),
                 *(w for w in _words(f"{title} {text} {source}") - common if len(w) >= 6)}  # fmt: skip
        for source, (title, text) in everything.items() if source not in reads
    }


def _leaks(bodies: list[bytes], forbidden: dict[str, set[str]]) -> list[str]:
    found = []
    for body in bodies:
        text = body.decode("utf-8", "replace").lower()
        plain = text.replace("\\", "")  # markdown's escapes and JSON's: hr\/x\.md is hr/x.md
        for source, marks in forbidden.items():
            for mark in marks:
                hit = next((h for t in (text, plain) if (h := re.search(rf"(?<![a-z0-9]){re.escape(mark)}(?![a-z0-9])", t))), None)
                if hit:  # where it was, to find the way out it took
                    found.append(f"{source}: {mark!r} in …{hit.string[max(0, hit.start() - 80) : hit.end() + 40]!r}")
    return sorted(set(found))


@pytest.fixture(scope="module")
def site(tmp_path_factory, real_embedder, serving):
    root = tmp_path_factory.mktemp("access")
    corpus = root / "corpus"
    for source, (title, text) in DOCS.items():
        (corpus / source).parent.mkdir(parents=True, exist_ok=True)
        (corpus / source).write_text(f"# {title}\n\n{text}\n")
    (corpus / PDF[0]).write_bytes(pdf_bytes([[PDF[2]]], title=PDF[1]))
    (corpus / ".qa-access.toml").write_text(RULES)
    logins = root / "logins"
    for user, (password, groups) in USERS.items():
        add_user(logins, user, password, groups)
    build_index(corpus, root / "idx", embedder=real_embedder)
    env = {"QA_AUTH_FILE": str(logins), "QA_SERVER_TIMING": "1", "GRADIO_TEMP_DIR": str(root / "cache")}
    with serving(root / "idx", "--corpus", str(corpus), env=env, log=root / "server.log") as url:
        yield {"url": url, "root": root, "corpus": corpus, "logins": logins, "index": root / "idx"}


class Visitor:
    """One user's requests, every response body kept."""

    def __init__(self, url: str, user: str) -> None:
        self.url, self.user, self.bodies = url, user, []
        token = base64.b64encode(f"{user}:{USERS[user][0]}".encode()).decode()
        self.auth = {"Authorization": f"Basic {token}"}

    def call(self, path: str, data: object = None, raw: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes, dict]:
        body = raw if raw is not None else None if data is None else json.dumps(data).encode()
        request = urllib.request.Request(self.url + path, data=body, headers={"Content-Type": "application/json", **self.auth, **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status, content, got = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as e:
            status, content, got = e.code, e.read(), dict(e.headers)
        self.bodies.append(content)
        self.bodies.append(json.dumps(got).encode())
        return status, content, got

    def mcp(self, method: str, params: dict) -> dict:
        status, body, _ = self.call("/mcp", {"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                                    headers={"Accept": "application/json, text/event-stream"})  # fmt: skip
        assert status == 200, body
        return json.loads(body)

    def event(self, gradio, fn_index: int, data: list) -> dict:
        status, done = gradio.event(self.url, fn_index, data, headers=self.auth)
        self.bodies.append(json.dumps(done).encode())
        assert status == 200, done
        return done


def _every_way_in(visitor: Visitor, gradio, site) -> None:
    """Everything a user can ask the server, answered into ``visitor.bodies``."""
    forbidden_names = sorted({*DOCS, PDF[0]} - READS[visitor.user])
    for question in QUESTIONS:
        for route in ("/api/ask", "/api/retrieve"):
            assert visitor.call(route, {"question": question, "k": 10})[0] == 200
        assert visitor.call("/api/ask", {"question": "and who else?", "history": [question], "k": 10})[0] == 200
    for name in forbidden_names:
        status, body, _ = visitor.call("/api/ask", {"question": "What is it about?", "sources": [name]})
        assert status == 404 and json.loads(body)["detail"] == "sources: 1 of the files named is not in the index"
        for path in (f"/api/page?source={urllib.parse.quote(name)}&page=1", f"/gradio_api/file={site['corpus'] / name}",
                     f"/file={site['corpus'] / name}"):  # fmt: skip
            status, body, _ = visitor.call(path)
            # refused alike whether the file is there or not: no route tells which files exist
            assert status in (403, 404) and (status, body) == visitor.call(path.replace(name, "nothing/here.md"))[:2], path
        error = visitor.mcp("resources/read", {"uri": "qa://doc/" + urllib.parse.quote(name)})["error"]
        assert error["message"] == "no such document in the index (list_documents names them)"
    for path in ("/api/documents", "/api/health", "/config", "/", "/openapi.json", "/gradio_api/info"):
        assert visitor.call(path)[0] == 200, path
    visitor.mcp("resources/list", {})
    visitor.mcp("tools/call", {"name": "list_documents", "arguments": {}})
    for question in QUESTIONS:
        for tool in ("ask", "search_documents"):
            visitor.mcp("tools/call", {"name": tool, "arguments": {"question": question, "k": 10}})
    config = gradio.config(visitor.url, headers=visitor.auth)
    visitor.bodies.append(json.dumps(config).encode())
    chat = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "chat")
    status_id = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "qa-status")
    for dep in config["dependencies"]:  # the page's load and its timer: the status line and the document picker
        if status_id in dep["outputs"]:
            visitor.event(gradio, dep["id"], [[], None])
    for question in QUESTIONS:
        visitor.event(gradio, chat, [question, [], 10, []])


def _upload(visitor: Visitor, gradio, name: str, content: bytes) -> dict:
    boundary = uuid.uuid4().hex
    form = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: text/plain\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()  # fmt: skip
    status, body, _ = visitor.call("/gradio_api/upload", raw=form, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 200, body
    [received] = json.loads(body)
    config = gradio.config(visitor.url, headers=visitor.auth)
    upload = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "upload")
    return visitor.event(gradio, upload, [[gradio.file_data(received, name)]])


def test_no_response_holds_a_byte_of_what_its_user_may_not_read(site, gradio):
    url = site["url"]
    alice, bob = Visitor(url, "alice"), Visitor(url, "bob")
    # uploads go where the rules let the user write: alice (hr) into hr/; bob may write nowhere
    refused = _upload(bob, gradio, "plan.md", b"# Plan\n\nA plan.\n")
    assert "the access rules let none of your groups add documents" in json.dumps(refused)
    added = _upload(alice, gradio, "memo.md", f"# Memo\n\n{MEMO[1]}\n".encode())
    assert added["output"]["data"][0].startswith("Added hr\\/memo\\.md") and (site["corpus"] / MEMO[0]).is_file()
    deadline = time.monotonic() + 120
    while MEMO[0] not in {d["source"] for d in json.loads(alice.call("/api/documents")[1])["documents"]}:
        assert time.monotonic() < deadline, "the upload was not indexed"
        time.sleep(1)

    for visitor in (alice, bob):
        _every_way_in(visitor, gradio, site)
    everything = {**DOCS, PDF[0]: (PDF[1], PDF[2]), MEMO[0]: ("Memo", MEMO[1])}
    reads = {"alice": READS["alice"] | {MEMO[0]}, "bob": READS["bob"]}
    for visitor in (alice, bob):
        forbidden = _forbidden(everything, reads[visitor.user])
        assert forbidden and _leaks(visitor.bodies, forbidden) == [], visitor.user
        # ... and what they may read does come back (the check above is not vacuous)
        seen = b"".join(visitor.bodies).decode("utf-8", "replace")
        assert all(everything[s][1].split(". ")[0] in seen for s in reads[visitor.user] if not s.endswith(".pdf"))
    found = _leaks([b'"hr\\/lindqvist-salaries\\.md"', b"LINDQVIST"], _forbidden(everything, reads["bob"]))
    assert {"hr/lindqvist-salaries.md: 'hr/lindqvist-salaries.md'", "hr/lindqvist-salaries.md: 'lindqvist'"} <= {
        f.split(" in …")[0] for f in found}  # the search finds what it looks for, escaped or in capitals
    documents = {u: json.loads(v.call("/api/documents")[1]) for u, v in (("alice", alice), ("bob", bob))}
    assert {d["source"] for d in documents["alice"]["documents"]} == reads["alice"]
    assert {d["source"] for d in documents["bob"]["documents"]} == reads["bob"]
    health = json.loads(bob.call("/api/health")[1])
    assert health["documents"] == 3 and health["passages"] == 3
    assert alice.call(f"/api/page?source={urllib.parse.quote(PDF[0])}&page=1")[0] == 200  # hers to see


def _embed_and_rerank_ms(visitor: Visitor, question: str) -> tuple[float, float]:
    _, _, headers = visitor.call("/api/ask", {"question": question})
    timing = dict(re.findall(r"(\w+);dur=([\d.]+)", headers.get("Server-Timing") or headers.get("server-timing")))
    return float(timing["embed"]), float(timing.get("rerank", 0.0))


def test_a_question_cached_for_one_user_is_not_for_another(site):
    """Timing: the question's vector and its re-ranking are cached per set of readable files, so
    another reader's question is as slow as a new one -- it cannot tell what was asked by whom."""
    alice, bob = Visitor(site["url"], "alice"), Visitor(site["url"], "bob")
    question = f"Who runs the harbour at Port Elwin, asked at {uuid.uuid4().hex[:6]}?"
    first = _embed_and_rerank_ms(alice, question)
    cached = _embed_and_rerank_ms(alice, question)
    other = _embed_and_rerank_ms(bob, question)
    assert cached[0] * 5 < first[0] and cached[1] * 5 < first[1]  # the same user: both cached
    assert cached[0] * 5 < other[0] and cached[1] * 5 < other[1]  # another's: neither
    assert _embed_and_rerank_ms(bob, question)[0] * 5 < other[0]  # ... until bob asked it himself


def test_mcp_over_stdio_reads_as_the_user_named(site):
    qa_command = str(Path(sys.executable).with_name("qa"))
    env = {"HF_HUB_OFFLINE": "1", "QA_AUTH_FILE": str(site["logins"])}
    params = StdioServerParameters(command=qa_command, args=["mcp", "--index-dir", str(site["index"]), "--as", "bob"], env=env)

    async def main():
        async with Client(params) as client:
            listed = (await client.call_tool("list_documents", {})).structured_content
            resources = [r.name for r in (await client.list_resources()).resources]
            answers = [(await client.call_tool("ask", {"question": q, "k": 10})).structured_content for q in QUESTIONS]
            with pytest.raises(MCPError, match="no such document"):
                await client.read_resource("qa://doc/hr/lindqvist-salaries.md")
            return listed, resources, answers

    listed, resources, answers = anyio.run(main)
    assert {d["source"] for d in listed["documents"]} == set(resources) == READS["bob"]
    everything = {**DOCS, PDF[0]: (PDF[1], PDF[2]), MEMO[0]: ("Memo", MEMO[1])}
    forbidden = _forbidden(everything, READS["bob"])
    assert _leaks([json.dumps([listed, resources, answers]).encode()], forbidden) == []
    assert any(h["source"] == "sales/zephyr-contract.md" for a in answers for h in a["hits"])
