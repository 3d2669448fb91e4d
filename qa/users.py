"""Who may log in, and the groups they are in: the login file (``$QA_AUTH_FILE``) and ``$QA_AUTH``.

    # the login file: name:argon2id hash:groups (comma-separated; none is fine)
    alice:$argon2id$v=19$m=65536,t=3,p=4$…:hr,admins
    bob:$argon2id$v=19$m=65536,t=3,p=4$…:sales

``qa user add NAME --groups a,b`` asks for the password and writes the line (argon2id, by argon2-cffi).
A line whose password is plain text is refused, with the command that stores a hash instead.
``QA_AUTH=user:password`` stays the quick start for one user: hashed in memory, in no group. The groups
decide what each user may read (:mod:`qa.indexing.access`).
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import QAError

__all__ = ["NAME", "User", "Users", "add_user", "check_name", "hash_password"]

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")  # a user's or a group's name
MAX_FILE = 4 << 20  # bytes of a login file
MAX_PASSWORD = 1024  # characters: argon2 hashes any length, but a megabyte password is only load
_HASH = re.compile(r"\$argon2id?\$[^:\s]+")


def check_name(name: object, what: str = "user name") -> str:
    """``name`` when it is a user's or group's name (letters, digits, ``. _ @ -``; at most 64); ValueError otherwise."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        shown = repr(name)[:40] if isinstance(name, str) else type(name).__name__
        raise ValueError(f"{what} must be letters, digits and . _ @ - (at most 64, starting with a letter or digit), got {shown}")
    return name


def _hasher():
    from argon2 import PasswordHasher  # loaded when a login is first checked

    return PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (argon2-cffi's defaults: 64 MiB, 3 passes)."""
    if not password or len(password) > MAX_PASSWORD:
        raise ValueError(f"a password must have 1 to {MAX_PASSWORD} characters")
    return _hasher().hash(password)


@dataclass(frozen=True)
class User:
    name: str
    hash: str
    groups: frozenset[str] = frozenset()


class Users:
    """The users who may log in (none: no login), from a login file and ``QA_AUTH``."""

    def __init__(self, users: Iterable[User] = (), file: Path | None = None, extra: Iterable[User] = ()) -> None:
        """``users``: from the login ``file``; ``extra``: kept in memory only (``QA_AUTH``'s)."""
        self.extra = tuple(extra)
        self.users = {u.name: u for u in (*users, *self.extra)}
        self.file = file
        self._decoy: str | None = None  # a hash checked for unknown names, so timing does not tell who exists

    def __len__(self) -> int:
        return len(self.users)

    def __bool__(self) -> bool:
        return bool(self.users)

    def groups(self, name: str | None) -> frozenset[str] | None:
        """The groups of user ``name`` (None: no such user)."""
        user = self.users.get(name) if name is not None else None
        return user.groups if user is not None else None

    def verify(self, name: str, password: str) -> bool:
        """Whether ``password`` is user ``name``'s (as slow for an unknown name as for a known one)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        user = self.users.get(name)
        if len(password) > MAX_PASSWORD:  # no password is this long: not worth 64 MiB to check
            return False
        if user is None and self._decoy is None:
            self._decoy = hash_password(secrets.token_hex(16))
        try:
            return _hasher().verify(user.hash if user else self._decoy, password) and user is not None
        except (VerificationError, InvalidHashError):
            return False

    def reloaded(self) -> Users:
        """These users with the login file read again (QAError when it is malformed now)."""
        return Users(read_login_file(self.file) if self.file else (), self.file, self.extra)

    @classmethod
    def load(cls, auth: str | None = None, auth_file: str | os.PathLike | None = None) -> Users:
        """The users of ``auth`` / ``auth_file`` (default ``$QA_AUTH`` / ``$QA_AUTH_FILE``); QAError, one
        line naming the file and line, for a malformed line or a plain-text password."""
        auth = auth if auth is not None else os.environ.get("QA_AUTH")
        auth_file = auth_file if auth_file is not None else os.environ.get("QA_AUTH_FILE") or None
        extra = []
        if auth:
            name, sep, password = auth.partition(":")
            if not sep or not name or not password:
                raise QAError("QA_AUTH must look like user:password")
            try:
                extra.append(User(check_name(name, "QA_AUTH's user name"), hash_password(password)))
            except ValueError as e:
                raise QAError(str(e)) from None
        return cls(read_login_file(Path(auth_file)) if auth_file else (), Path(auth_file) if auth_file else None, extra)


def read_login_file(path: Path, plain: bool = False) -> list[User]:
    """The users of the login file ``path`` (QAError naming the line for anything malformed; with
    ``plain``, lines with a plain-text password are left out instead: ``qa user add`` converts them)."""
    try:
        if path.stat().st_size > MAX_FILE:
            raise QAError(f"the login file {path} is larger than {MAX_FILE >> 20} MB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise QAError(f"cannot read the login file {path}: {getattr(e, 'strerror', None) or e}") from None
    users = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        secret, _, groups = rest.partition(":")
        where = f"{path}:{n}"
        if not NAME.fullmatch(name):
            raise QAError(f"{where}: a login must look like name:argon2 hash:groups (the name: letters, digits, . _ @ -)")
        if not _HASH.fullmatch(secret):
            if plain:
                continue
            raise QAError(
                f"{where}: {name}'s password is in plain text, which qa no longer accepts; store a hash with "
                f"'qa user add {name} --file {path}' (it asks for the password)"
            )
        names = [g.strip() for g in groups.split(",") if g.strip()]
        if bad := [g for g in names if not NAME.fullmatch(g)]:
            raise QAError(f"{where}: group {bad[0][:40]!r} is not a group name (letters, digits, . _ @ -)")
        users.append(User(name, secret, frozenset(names)))
    return users


def add_user(path: Path, name: str, password: str, groups: Iterable[str]) -> bool:
    """Write user ``name`` with a hash of ``password`` and ``groups`` into the login file ``path`` (made
    if missing, readable by its owner only), replacing the user's line if there is one; whether it was
    there. Other lines, comments included, are kept. The file is replaced atomically."""
    check_name(name)
    groups = sorted({check_name(g, "group name") for g in groups})
    line = f"{name}:{hash_password(password)}:{','.join(groups)}"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else ["# qa logins: name:argon2id hash:groups (qa user add)"]
    found = any(old.strip().partition(":")[0] == name for old in lines)
    lines = [line if old.strip().partition(":")[0] == name else old for old in lines] + ([] if found else [line])
    folder = path.resolve().parent
    fd, tmp = tempfile.mkstemp(prefix=".qa-users-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return found
