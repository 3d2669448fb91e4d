"""The host names a server bound to loopback answers to (``QA_ALLOWED_HOSTS``), which :class:`.guard.Guard`
enforces. (Who may log in: :mod:`qa.users`; what each may read: :mod:`qa.indexing.access`.)"""

from __future__ import annotations

import os

__all__ = ["LOOPBACK_HOSTS", "hosts_for"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def hosts_for(bind: str) -> frozenset[str] | None:
    """The host names a server bound to ``bind`` answers to: for a loopback address, the loopback names
    and ``$QA_ALLOWED_HOSTS`` (comma-separated); None (any) for a server bound to other interfaces."""
    if bind.strip("[]").lower() not in LOOPBACK_HOSTS:
        return None
    extra = {h.strip().lower() for h in os.environ.get("QA_ALLOWED_HOSTS", "").split(",") if h.strip()}
    return LOOPBACK_HOSTS | extra
