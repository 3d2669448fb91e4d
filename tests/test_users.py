"""The login file: argon2id hashes and groups, written by ``qa user add``; plain text refused."""

from __future__ import annotations

import stat

import pytest

from qa.errors import QAError
from qa.users import Users, add_user, hash_password


def test_a_user_added_is_stored_as_a_hash_with_groups(tmp_path):
    logins = tmp_path / "logins"
    assert add_user(logins, "alice", "correct horse", ["hr", "admins", "hr"]) is False
    text = logins.read_text()
    assert "correct horse" not in text and "alice:$argon2id$" in text and text.rstrip().endswith(":admins,hr")
    assert stat.S_IMODE(logins.stat().st_mode) == 0o600  # hashes are for the owner's eyes too
    users = Users.load("", logins)
    assert users.groups("alice") == {"hr", "admins"} and users.groups("bob") is None
    assert users.verify("alice", "correct horse") and not users.verify("alice", "wrong")
    assert not users.verify("bob", "correct horse")
    assert not users.verify("alice", "correct horse" + "x" * 2000)  # over the length limit: no check at all


def test_adding_a_user_again_replaces_their_line_and_keeps_the_rest(tmp_path):
    logins = tmp_path / "logins"
    logins.write_text(f"# our team\nbob:{hash_password('b')}:sales\n")
    add_user(logins, "alice", "one", ["hr"])
    assert add_user(logins, "alice", "two", []) is True
    lines = logins.read_text().splitlines()
    assert lines[0] == "# our team" and len(lines) == 3 and lines[2].startswith("alice:") and lines[2].endswith(":")
    users = Users.load("", logins)
    assert users.verify("alice", "two") and not users.verify("alice", "one") and users.groups("alice") == frozenset()


def test_a_plain_text_password_is_refused_with_how_to_convert(tmp_path):
    logins = tmp_path / "logins"
    logins.write_text("# old style\nann:correct horse\n")
    with pytest.raises(QAError) as e:
        Users.load("", logins)
    message = str(e.value)
    assert "\n" not in message and f"{logins}:2" in message and "plain text" in message
    assert f"qa user add ann --file {logins}" in message and "correct horse" not in message


@pytest.mark.parametrize(
    "line, message",
    [("bad name:$argon2id$v=19$x:hr", "a login must look like"), ("ann:$argon2id$v=19$x:h r", "group 'h r'")],
)
def test_malformed_lines_are_named(tmp_path, line, message):
    logins = tmp_path / "logins"
    logins.write_text(line + "\n")
    with pytest.raises(QAError, match=message):
        Users.load("", logins)


def test_qa_auth_is_one_user_in_memory(tmp_path):
    users = Users.load("ann:s3cret:with:colons", None)
    assert len(users) == 1 and users.verify("ann", "s3cret:with:colons") and users.groups("ann") == frozenset()
    assert not Users.load("", None)
    with pytest.raises(QAError, match="user:password"):
        Users.load("no-colon", None)
    with pytest.raises(QAError, match="cannot read the login file"):
        Users.load("", tmp_path / "missing")
