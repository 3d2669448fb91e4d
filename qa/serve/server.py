"""One server for people and programs: the web chat at ``/``, the HTTP API at ``/api/…`` and MCP at ``/mcp``
(gradio is mounted on the API's FastAPI app), behind :class:`.guard.Guard` (optional login, bounded queue).

It binds 127.0.0.1 unless told otherwise. Gradio serves files only from its own upload cache; the
corpus and index folders are blocked outright. Uploads are capped in size and by extension. A gradio
event may carry only files gradio received itself (see :mod:`.guard`, and gradio's own check, which
is switched on here).
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.routing import Route

from ..config import find_index_dir
from ..errors import QAError
from ..indexing.manifest import read_manifest
from ..retrieval.rerank import reranker
from ..users import Users
from .access import hosts_for
from .chat import PAGE_CSS, build_app
from .guard import Guard
from .http_api import build_api
from .indexer import DEFAULT_MAX_UPLOAD_MB, Indexer
from .logins import Logins
from .mcp_http import http_app as mcp_http_app

__all__ = ["create_app", "serve"]

FILES_PER_UPLOAD = 10  # an upload request may carry this many files at the size cap


def create_app(
    index_dir: str | os.PathLike | None = None,
    *,
    corpus_dir: str | os.PathLike | None = None,
    uploads: bool = True,
    sync_on_start: bool = False,
    users: Users | None = None,
    max_pending: int | None = None,
    max_upload_mb: float | None = None,
    allowed_hosts: frozenset[str] | None = None,
):
    """The whole app as an ASGI application. ``corpus_dir`` (default: the folder the index was built
    from) receives uploads and is synced in the background; ``sync_on_start`` brings the index up to
    date at once (the chat says so while it runs); ``users``: who must log in (none: no login; each
    reads what the index's access rules grant their groups); ``allowed_hosts``: the host names it answers
    to (see :func:`.access.hosts_for`)."""
    import gradio as gr

    # A bad $QA_RERANK, or the re-ranker's model missing or damaged: one line now, not at the first question.
    warm = getattr(reranker(), "warm_up", None)
    if callable(warm):
        warm()
    index_dir = find_index_dir(index_dir).resolve()
    max_upload_mb = float(os.environ.get("QA_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB)) if max_upload_mb is None else max_upload_mb
    if max_upload_mb <= 0:
        raise ValueError(f"max_upload_mb must be > 0, got {max_upload_mb}")
    if corpus_dir is None:
        try:
            corpus_dir = read_manifest(index_dir).corpus or None
        except QAError:
            corpus_dir = None
    corpus = Path(corpus_dir).resolve() if corpus_dir else None
    indexer = None
    if corpus is not None and corpus.is_dir() and (uploads or sync_on_start):
        indexer = Indexer(corpus, index_dir)
    if indexer is None and sync_on_start:
        raise QAError(f"corpus folder not found: {corpus_dir}")
    demo = build_app(index_dir, indexer=indexer, uploads=uploads, max_upload_mb=max_upload_mb)
    mcp, mcp_lifespan = mcp_http_app(index_dir)
    api = build_api(index_dir, lifespan=mcp_lifespan)
    api.router.routes.append(Route("/mcp", mcp))  # before the chat, which takes every path left
    app = gr.mount_gradio_app(
        api,
        demo,
        path="/",
        max_file_size=f"{max_upload_mb:g}mb",
        blocked_paths=[str(p) for p in (index_dir, corpus) if p is not None],
        show_error=False,
        footer_links=["api"],
        css=PAGE_CSS,
    )
    # gradio checks that an event's files lie in its upload cache only once the app "has launched",
    # which mounting never sets: without it any server path in an event payload would be read.
    demo.has_launched = True
    if sync_on_start and indexer is not None:
        indexer.sync(str(corpus))
    return Guard(
        app,
        logins=Logins(users) if users else None,
        max_pending=max_pending,
        upload_folder=gr.utils.get_upload_folder(),
        max_upload_body=int(max_upload_mb * FILES_PER_UPLOAD * 1024 * 1024) + (1 << 20),  # + form overhead
        allowed_hosts=allowed_hosts,
    )


def serve(
    index_dir: str | os.PathLike | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    corpus_dir: str | os.PathLike | None = None,
    uploads: bool = True,
    sync_on_start: bool = False,
    auth: str | None = None,
    auth_file: str | None = None,
) -> None:
    import uvicorn

    if not 0 < port < 65536:
        raise ValueError(f"port must be between 1 and 65535, got {port}")
    users = Users.load(auth, auth_file)
    if users.file is not None and not users:  # a login file that lets no one in is a mistake, not "no login"
        raise QAError(f"the login file {users.file} has no users: add one with 'qa user add NAME --file {users.file}'")
    app = create_app(
        index_dir, corpus_dir=corpus_dir, uploads=uploads, sync_on_start=sync_on_start, users=users,
        allowed_hosts=hosts_for(host),
    )  # fmt: skip
    login = f", login required ({len(users)} user{'s' * (len(users) != 1)})" if users else ""
    try:
        rules = read_manifest(find_index_dir(index_dir).resolve()).rules
    except QAError:
        rules = None
    if rules is not None:  # who reads what: said once, where the person starting it looks
        login += f"; access rules from {rules.file}" + ("" if users else ": without logins, visitors read only what is granted to everyone")
        named = os.environ.get("QA_ACCESS_FILE", "").strip()
        if named and str(Path(named).resolve()) != rules.file:  # the next sync (an upload) will read that one
            login += f" (but QA_ACCESS_FILE names {named}: the next sync reads the rules there)"
    elif users:
        login += "; no access rules: every user reads every document"
    print(f"qa: web chat on http://{host}:{port}/, API on http://{host}:{port}/api (docs: /docs), MCP on /mcp{login}", flush=True)
    # X-Forwarded-For is believed only from the proxies $QA_FORWARDED_ALLOW_IPS names (uvicorn's default
    # believes 127.0.0.1: any local process could pass for any address and dodge the login throttle)
    proxies = os.environ.get("QA_FORWARDED_ALLOW_IPS", "").strip()
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5,
                proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None)  # fmt: skip
