"""Logins: checked against the hashes once, remembered, and failures rate-limited per client and per user."""

from __future__ import annotations

import base64

import anyio
import pytest

from qa.serve.logins import Logins, Throttle
from qa.users import Users, add_user


def _basic(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


def test_the_throttle_counts_failures_in_a_sliding_window():
    throttle = Throttle(3, window=60)
    for t in (0, 1, 2):
        assert throttle.wait("a", now=t) == 0
        throttle.failed("a", now=t)
    assert throttle.wait("a", now=3) == pytest.approx(57)
    assert throttle.wait("b", now=3) == 0  # another key is not held back
    assert throttle.wait("a", now=60.5) == 0  # the first failure has left the window


def test_asking_about_many_keys_does_not_push_out_those_that_failed():
    """A flood of refused requests with fresh names must not evict the counter of the name being guessed."""
    throttle = Throttle(2, tracked=100)
    throttle.failed("alice", now=0)
    throttle.failed("alice", now=1)
    for n in range(10_000):
        assert throttle.wait(f"name{n}", now=2) == 0
    throttle.failed("other", now=2)
    assert throttle.wait("alice", now=3) > 0 and len(throttle._failed) == 2


def test_a_name_that_cannot_be_one_costs_no_check_and_keeps_nothing(users):
    logins = Logins(users, per_client=3)

    async def main():
        for name in ("x" * 10_000, "bad name", "alice"):
            password = "y" * 5000 if name == "alice" else "pw"
            assert await logins.check(_basic(name, password), "10.3.0.1") == (None, 0.0)
        assert len(logins.names._failed) == 0  # no name kept: only the address's three failures
        assert (await logins.check(_basic("alice", "right"), "10.3.0.1"))[1] > 0

    anyio.run(main)


def test_the_throttle_tracks_a_bounded_number_of_keys():
    throttle = Throttle(1, tracked=100)
    for n in range(1000):
        throttle.failed(f"k{n}", now=0)
    assert len(throttle._failed) == 100


@pytest.fixture(scope="module")
def users(tmp_path_factory):
    logins = tmp_path_factory.mktemp("logins") / "logins"
    add_user(logins, "alice", "right", ["hr"])
    add_user(logins, "bob", "right", [])
    return Users.load("", logins)


def test_right_credentials_log_in_and_wrong_ones_do_not(users):
    logins = Logins(users)

    async def main():
        assert await logins.check(_basic("alice", "right"), "1.2.3.4") == ("alice", 0.0)
        assert await logins.check(_basic("alice", "wrong"), "1.2.3.4") == (None, 0.0)
        assert await logins.check(_basic("nobody", "right"), "1.2.3.4") == (None, 0.0)
        assert await logins.check(None, "1.2.3.4") == (None, 0.0)
        assert await logins.check(b"Basic %%%", "1.2.3.4") == (None, 0.0)
        assert logins.groups("alice") == {"hr"}

    anyio.run(main)


def test_failures_are_rate_limited_per_client_and_per_user(users):
    logins = Logins(users, per_client=3, per_user=4)

    async def main():
        assert (await logins.check(_basic("alice", "right"), "10.0.0.1"))[0] == "alice"  # remembered from now on
        for _ in range(3):
            assert await logins.check(_basic("alice", "guess"), "10.0.0.2") == (None, 0.0)
        user, wait = await logins.check(_basic("bob", "right"), "10.0.0.2")
        assert user is None and 0 < wait <= 60  # this client is held back, even with a right password
        assert await logins.check(_basic("alice", "guess"), "10.0.0.4") == (None, 0.0)  # alice's 4th failure
        user, wait = await logins.check(_basic("alice", "another"), "10.0.0.5")
        assert user is None and wait > 0  # alice's name is held back from anywhere
        assert (await logins.check(_basic("bob", "right"), "10.0.0.5"))[0] == "bob"  # other names are not
        # ... and a session already open (credentials that passed before) is not locked out
        assert await logins.check(_basic("alice", "right"), "10.0.0.1") == ("alice", 0.0)

    anyio.run(main)


def test_unknown_names_are_held_back_alike(users):
    """A name that does not exist meets the limit as one that does: a 429 does not tell which exist."""
    logins = Logins(users, per_client=100, per_user=3)

    async def main():
        for name in ("alice", "mallory"):
            for n in range(3):
                assert await logins.check(_basic(name, "guess"), f"10.1.{n}.1") == (None, 0.0)
        waits = [(await logins.check(_basic(name, "guess"), "10.2.0.1"))[1] for name in ("alice", "mallory")]
        assert all(w > 0 for w in waits)

    anyio.run(main)


def test_attempts_sent_all_at_once_are_counted_as_they_arrive(users):
    """Fifty wrong passwords sent together from one address: only as many are checked as the limit lets
    through, and the right one sent with them is held back too (the limit was met before it came)."""
    logins = Logins(users, per_client=5, per_user=1000)

    async def main():
        results = []

        async def attempt(password: str) -> None:
            results.append((password, *(await logins.check(_basic("bob", password), "10.9.9.9"))))

        async with anyio.create_task_group() as tasks:
            for n in range(50):
                tasks.start_soon(attempt, f"guess-{n}")
            tasks.start_soon(attempt, "right")
        checked = [r for r in results if r[2] == 0.0]
        assert len(checked) == 5 and all(user is None for _, user, _ in checked)
        assert ("right", None) in [(p, u) for p, u, w in results if w > 0]

    anyio.run(main)


def test_the_login_file_is_read_again_when_it_changes(tmp_path, monkeypatch):
    monkeypatch.setattr("qa.serve.logins.RELOAD_EVERY", 0.0)
    file = tmp_path / "logins"
    add_user(file, "alice", "old", [])
    logins = Logins(Users.load("", file))

    async def main():
        assert (await logins.check(_basic("alice", "old"), "c"))[0] == "alice"
        add_user(file, "alice", "new", ["hr"])
        add_user(file, "bob", "pw", [])
        assert (await logins.check(_basic("alice", "old"), "c"))[0] is None  # remembered logins are forgotten
        assert (await logins.check(_basic("alice", "new"), "c"))[0] == "alice" and logins.groups("alice") == {"hr"}
        assert (await logins.check(_basic("bob", "pw"), "c"))[0] == "bob"
        file.write_text("alice:plain text\n")  # made malformed: the users stay as they were
        assert (await logins.check(_basic("bob", "pw"), "c"))[0] == "bob"
        file.write_text("# nobody\n")  # emptied: no one gets in (the server never turns the login off)
        assert (await logins.check(_basic("bob", "pw"), "c"))[0] is None and not logins.users

    anyio.run(main)
