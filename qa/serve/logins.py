"""Checking logins: HTTP Basic credentials against the users' argon2 hashes (:mod:`qa.users`), with failed
attempts rate-limited per client and per user.

A hash takes about 0.15 s and 64 MiB to check, so it is checked once: credentials that passed are
remembered (by a keyed hash, never in the clear) and a browser's later requests, which repeat them, pass at
once. At most :data:`CHECKS_AT_ONCE` hashes are checked at a time, on worker threads, and at most
:data:`WAITING` wait for it (429 beyond). After :data:`PER_CLIENT` failures from one address, or
:data:`PER_USER` for one user name (known or not: a refusal must not tell which names exist), within
:data:`WINDOW` seconds, further attempts are refused with 429 and ``Retry-After`` without being checked.
An attempt counts as failed from the moment it is let through until its check passes, so attempts sent
all at once are counted as they arrive, not after their checks. Credentials that passed before still
pass, so a user whose name is being guessed is not locked out of a session already open. The login file
is read again when it changes (``qa user add`` on a running server takes effect; a file made malformed
or unreadable meanwhile keeps the users it had, and says so on stderr; one emptied leaves no one able
to log in, never the server open).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import sys
import time
from collections import OrderedDict, deque
from pathlib import Path

import anyio

from ..errors import QAError
from ..users import MAX_PASSWORD, NAME, Users

__all__ = ["CHECKS_AT_ONCE", "Logins", "PER_CLIENT", "PER_USER", "Throttle", "WAITING", "WINDOW"]

WINDOW = 60.0  # seconds over which failed logins are counted
PER_CLIENT = 10  # failed logins from one address per window
PER_USER = 20  # failed logins for one user name per window (from anywhere)
CHECKS_AT_ONCE = 2  # hashes checked at the same time (each takes 64 MiB)
WAITING = 32  # logins waiting for a check, all clients together (429 beyond)
REMEMBERED = 4096  # credentials that passed, kept
TRACKED = 10_000  # addresses and names whose failures are counted (the oldest forgotten first)
RELOAD_EVERY = 1.0  # seconds between looks at the login file


class Throttle:
    """Failures per key within ``window`` seconds; :meth:`wait` says how long a key must wait."""

    def __init__(self, limit: int, window: float = WINDOW, tracked: int = TRACKED) -> None:
        if limit <= 0:
            raise ValueError(f"limit must be > 0, got {limit}")
        self.limit, self.window, self.tracked = limit, window, tracked
        self._failed: OrderedDict[str, deque[float]] = OrderedDict()

    def wait(self, key: str, now: float | None = None) -> float:
        """Seconds until ``key`` may try again (0: now). Only looks: a key is tracked once it fails, so
        asking about many keys cannot push out the ones that failed."""
        now = time.monotonic() if now is None else now
        times = self._failed.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - self.window:
            times.popleft()
        return 0.0 if len(times) < self.limit else max(times[0] + self.window - now, 0.001)

    def failed(self, key: str, now: float | None = None) -> float:
        """Count a failure of ``key`` (at ``now``, which it returns for :meth:`forgive`)."""
        now = time.monotonic() if now is None else now
        self._recent(key, now).append(now)
        self._failed.move_to_end(key)
        while len(self._failed) > self.tracked:
            self._failed.popitem(last=False)
        return now

    def forgive(self, key: str, when: float) -> None:
        """Take back the failure counted at ``when`` (the attempt passed after all)."""
        times = self._failed.get(key)
        if times is not None and when in times:
            times.remove(when)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failed.setdefault(key, deque(maxlen=self.limit))
        while times and times[0] <= now - self.window:
            times.popleft()
        return times


class Logins:
    """Who a request's ``Authorization`` header logs in as (see the module docstring)."""

    def __init__(self, users: Users, *, per_client: int = PER_CLIENT, per_user: int = PER_USER) -> None:
        self.users = users
        self.clients, self.names = Throttle(per_client), Throttle(per_user)
        self._key = secrets.token_bytes(32)  # remembered credentials are kept as HMACs under it
        self._passed: OrderedDict[bytes, str] = OrderedDict()
        self._checking: anyio.Semaphore | None = None  # made in the server's event loop, on first use
        self._waiting = 0  # logins let through and not yet checked (the event loop is one thread: no lock)
        self._looked, self._stamp = time.monotonic(), _stamp(users.file)

    def groups(self, name: str) -> frozenset[str]:
        return self.users.groups(name) or frozenset()

    async def check(self, header: bytes | None, client: str) -> tuple[str | None, float]:
        """(the user, 0) for credentials that are right; (None, 0) for none or wrong ones; (None,
        seconds to wait) when the client or the user name has failed too often lately."""
        self._reload()
        try:
            scheme, _, token = (header or b"").partition(b" ")
            if scheme.lower() != b"basic":
                return None, 0.0
            name, _, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, 0.0
        if not NAME.fullmatch(name) or len(password) > MAX_PASSWORD:  # never a login: no check, no name kept
            wait = self.clients.wait(client)
            if not wait:
                self.clients.failed(client)
            return None, wait
        mac = hmac.new(self._key, f"{name}\0{password}".encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        if self._passed.get(mac) == name:
            self._passed.move_to_end(mac)
            return name, 0.0
        wait = max(self.clients.wait(client), self.names.wait(name))
        if wait or self._waiting >= WAITING:
            return None, wait or 1.0
        # counted as failed until it passes: attempts sent all at once meet the limit as they arrive
        counted = self.clients.failed(client), self.names.failed(name)
        if self._checking is None:
            self._checking = anyio.Semaphore(CHECKS_AT_ONCE)
        self._waiting += 1
        try:
            async with self._checking:
                ok = await anyio.to_thread.run_sync(self.users.verify, name, password)
        finally:
            self._waiting -= 1
        if not ok:
            return None, 0.0
        self.clients.forgive(client, counted[0])
        self.names.forgive(name, counted[1])
        self._passed[mac] = name
        while len(self._passed) > REMEMBERED:
            self._passed.popitem(last=False)
        return name, 0.0

    def _reload(self) -> None:
        """Read the login file again when it changed (looked at once a second at most)."""
        file = self.users.file
        if file is None or time.monotonic() - self._looked < RELOAD_EVERY:
            return
        self._looked = time.monotonic()
        stamp = _stamp(file)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            fresh = self.users.reloaded()
        except QAError as e:
            print(f"qa: the login file changed but cannot be used, the users stay as they were: {e}", file=sys.stderr, flush=True)
            return
        self.users, self._passed = fresh, OrderedDict()  # changed passwords and removed users take effect


def _stamp(file: Path | None) -> tuple[int, int] | None:
    try:
        st = file.stat() if file is not None else None
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size) if st else None
