"""Who is asking, on every way in to a server, and what they may read.

:class:`.guard.Guard` checks the login and passes the user on in two request headers it sets itself
(:data:`USER_HEADER`, :data:`GROUPS_HEADER`), after dropping any a client sent: every route -- the API,
the chat's events, MCP -- reads the asker from the same place. A visitor of a server without logins is
in no group: with access rules, they read only what is granted to everyone (``"*"``). MCP over stdio,
run by whoever owns the index, reads everything unless ``qa mcp --as USER`` says otherwise
(:data:`GROUPS`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from contextvars import ContextVar

from ..indexing.index import Index

__all__ = ["GROUPS", "GROUPS_HEADER", "USER_HEADER", "groups_from", "readable"]

USER_HEADER = "x-qa-user"
GROUPS_HEADER = "x-qa-groups"
# The asker's groups where no request headers reach the code (MCP's handlers): None, everything (stdio's owner).
GROUPS: ContextVar[frozenset[str] | None] = ContextVar("qa_asker_groups", default=None)

_cache: weakref.WeakKeyDictionary[Index, dict[frozenset[str] | None, frozenset[str] | None]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def groups_from(headers: Mapping[str, str] | None) -> frozenset[str]:
    """The groups of the user the Guard let in (no login, or no user: none)."""
    raw = (headers or {}).get(GROUPS_HEADER) or ""
    return frozenset(g for g in raw.split(",") if g)


def readable(index: Index, groups: frozenset[str] | None) -> frozenset[str] | None:
    """The files of ``index`` a member of ``groups`` may read (None: all), the same set each time for the
    same groups: the retriever keeps what it may search by it."""
    with _lock:
        known = _cache.setdefault(index, {})
        if groups not in known:
            if len(known) > 256:
                known.clear()
            known[groups] = index.readable(groups)
        return known[groups]
