"""``qa user`` and ``qa access``: the login file and the access rules, from the command line (added to
the ``qa`` command by :mod:`qa.cli`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from qa import QAError, Users, add_user, load_rules
from qa.indexing.access import grants
from qa.users import read_login_file

__all__ = ["access_app", "fail", "user_app"]

user_app = typer.Typer(help="The users who may log in to 'qa serve', and their groups (the login file).", no_args_is_help=True)
access_app = typer.Typer(help="Who may read which documents (the access rules).", no_args_is_help=True)

AuthFile = Annotated[
    Optional[Path], typer.Option("--file", help="The login file. Default: $QA_AUTH_FILE.", show_default=False)
]


def fail(message: str, code: int = 1) -> typer.Exit:
    """The one-line error every qa command ends with (exit ``code``)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _login_file(file: Path | None) -> Path:
    named = file or (Path(os.environ["QA_AUTH_FILE"]) if os.environ.get("QA_AUTH_FILE") else None)
    if named is None:
        raise fail("name the login file with --file or $QA_AUTH_FILE")
    return named


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="The user's name (letters, digits, . _ @ -).")],
    groups: Annotated[str, typer.Option("--groups", help="The user's groups, comma-separated.")] = "",
    file: AuthFile = None,
) -> None:
    """Add NAME to the login file, or set their password and groups: asks for the password and stores
    its argon2id hash, never the password."""
    path = _login_file(file)
    try:
        if path.exists():  # a malformed file is said now, before the password is asked for (plain text: converted)
            read_login_file(path, plain=True)
        password = typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
        replaced = add_user(path, name, password, [g.strip() for g in groups.split(",") if g.strip()])
    except (QAError, ValueError, OSError) as e:
        raise fail(str(e)) from None
    typer.echo(f"{'Updated' if replaced else 'Added'} {name} in {path}" + (f" (groups: {groups})" if groups else " (no groups)"))


@user_app.command("list")
def user_list(file: AuthFile = None) -> None:
    """The users of the login file and their groups (no passwords, no hashes)."""
    try:
        users = Users.load("", _login_file(file))
    except QAError as e:
        raise fail(str(e)) from None
    for user in sorted(users.users.values(), key=lambda u: u.name):
        typer.echo(f"{user.name}: {', '.join(sorted(user.groups)) or '(no groups)'}")


@access_app.command("check")
def access_check(
    user: Annotated[str, typer.Argument(help="A user of the login file.")],
    path: Annotated[str, typer.Argument(help="A file, relative to the corpus folder (as cited).")],
    corpus: Annotated[Path, typer.Option("--corpus", help="The corpus folder whose rules to read.")] = Path("corpus"),
    file: AuthFile = None,
) -> None:
    """Whether USER may read (and upload to) PATH by the corpus's access rules as the file is now (a
    server enforces them once 'qa index' has read them), and which rule says so. Exits 1 when they may not read it."""
    try:
        users, rules = Users.load("", _login_file(file)), load_rules(corpus)
    except QAError as e:
        raise fail(str(e)) from None
    groups = users.groups(user)
    if groups is None:
        raise fail(f"no user {user[:64]!r} in the login file")
    source = Path(path).as_posix()
    if Path(path).is_absolute() and Path(path).resolve().is_relative_to(corpus.resolve()):
        source = Path(path).resolve().relative_to(corpus.resolve()).as_posix()
    member = f"{user} (groups: {', '.join(sorted(groups)) or 'none'})"
    if not (corpus / source).exists():
        typer.echo(f"note: {corpus / source} does not exist; the rules are checked for that path anyway")
    if rules is None:
        typer.echo(f"{member} may read {source}: there are no access rules (no {corpus / '.qa-access.toml'}), so everyone reads everything")
        return
    granting, code = rules.granting(source), 0
    # a link is read by those who may read both ends (as the index records it)
    target = (corpus / source).resolve() if (corpus / source).is_symlink() else None
    blocked = target is not None and not grants(rules.readers(source, corpus), groups)
    for verb in ("read", "write"):
        found = [(n, r, by) for n, r in granting if (by := _by(getattr(r, verb), groups))]
        why = "; ".join(f"rule {n} ({r.path}) grants {by}" for n, r, by in found)
        if verb == "read" and found and blocked:
            found, why = [], f"it is a link to {target}, which their groups may not read"
        typer.echo(f"{member} may {verb} {source}: {why}" if found else f"{member} may not {verb} {source}: {why or f'no rule of {rules.file} grants it to their groups'}")
        code = code or int(verb == "read" and not found)
    raise typer.Exit(code)


def _by(granted: tuple[str, ...], groups: frozenset[str]) -> str:
    """Which of ``granted`` the user is in, for people ("everyone" for "*")."""
    return ", ".join("everyone" if g == "*" else g for g in sorted(set(granted) & (groups | {"*"})))
