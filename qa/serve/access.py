"""Who may use the server: the logins (``QA_AUTH``, ``QA_AUTH_FILE``), and the host names a server bound
to loopback answers to (``QA_ALLOWED_HOSTS``). :class:`.guard.Guard` enforces both."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import QAError

__all__ = ["LOOPBACK_HOSTS", "hosts_for", "load_credentials"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def load_credentials(auth: str | None = None, auth_file: str | os.PathLike | None = None) -> dict[str, str]:
    """``{user: password}`` from the arguments, else ``$QA_AUTH`` / ``$QA_AUTH_FILE``; empty: no login."""
    auth = auth if auth is not None else os.environ.get("QA_AUTH")
    auth_file = auth_file if auth_file is not None else os.environ.get("QA_AUTH_FILE")
    lines: list[tuple[str, str]] = []
    if auth:
        lines.append(("QA_AUTH", auth))
    if auth_file:
        try:
            text = Path(auth_file).read_text(encoding="utf-8")
        except OSError as e:
            raise QAError(f"cannot read the login file {auth_file}: {e.strerror or e}") from None
        lines += [(f"{auth_file}:{n}", line.strip()) for n, line in enumerate(text.splitlines(), 1)]
    users = {}
    for where, line in lines:
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user or not password:
            raise QAError(f"{where}: a login must look like user:password")
        users[user] = password
    return users


def hosts_for(bind: str) -> frozenset[str] | None:
    """The host names a server bound to ``bind`` answers to: for a loopback address, the loopback names
    and ``$QA_ALLOWED_HOSTS`` (comma-separated); None (any) for a server bound to other interfaces."""
    if bind.strip("[]").lower() not in LOOPBACK_HOSTS:
        return None
    extra = {h.strip().lower() for h in os.environ.get("QA_ALLOWED_HOSTS", "").split(",") if h.strip()}
    return LOOPBACK_HOSTS | extra
