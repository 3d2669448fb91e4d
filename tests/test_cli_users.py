"""``qa user``, ``qa access check`` and ``qa ask --as``, through the CLI runner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from qa.build import build_index
from qa.cli import app
from qa.users import Users

runner = CliRunner()
RULES = "[[rule]]\npath = 'public/'\nread = ['*']\n[[rule]]\npath = 'hr/'\nread = ['hr']\nwrite = ['hr']\n"


@pytest.fixture
def logins(tmp_path, monkeypatch):
    file = tmp_path / "logins"
    monkeypatch.setenv("QA_AUTH_FILE", str(file))
    assert runner.invoke(app, ["user", "add", "alice", "--groups", "hr,staff"], input="pw-a\npw-a\n").exit_code == 0
    assert runner.invoke(app, ["user", "add", "bob", "--groups", "sales"], input="pw-b\npw-b\n").exit_code == 0
    return file


def test_user_add_stores_a_hash_and_list_shows_groups(logins):
    assert "pw-a" not in logins.read_text() and Users.load("", logins).verify("alice", "pw-a")
    listed = runner.invoke(app, ["user", "list"])
    assert listed.exit_code == 0 and listed.output == "alice: hr, staff\nbob: sales\n"
    again = runner.invoke(app, ["user", "add", "bob", "--groups", "board"], input="new\nnew\n")
    assert again.exit_code == 0 and "Updated bob" in again.output
    assert Users.load("", logins).groups("bob") == {"board"}
    mismatch = runner.invoke(app, ["user", "add", "carol"], input="one\ntwo\none\none\n")
    assert mismatch.exit_code == 0 and "do not match" in mismatch.output  # asked again, as a prompt does


def test_user_add_refuses_bad_names_and_plain_text_files(tmp_path, monkeypatch):
    bad = runner.invoke(app, ["user", "add", "no way", "--file", str(tmp_path / "f")], input="p\np\n")
    assert bad.exit_code == 1 and "user name must be letters" in bad.output
    broken = tmp_path / "broken"
    broken.write_text("not a login line\n")
    refused = runner.invoke(app, ["user", "add", "bob", "--file", str(broken)], input="p\np\n")
    assert refused.exit_code == 1 and "a login must look like" in refused.output and broken.read_text() == "not a login line\n"
    old = tmp_path / "old"  # the old format, plain text: converted one user at a time, as the error says
    old.write_text("ann:secret\nbob:hunter2\n")
    assert "plain text" in runner.invoke(app, ["user", "list", "--file", str(old)]).output
    for name in ("ann", "bob"):
        assert runner.invoke(app, ["user", "add", name, "--file", str(old)], input="new\nnew\n").exit_code == 0
    assert "secret" not in old.read_text() and Users.load("", old).verify("bob", "new")
    monkeypatch.delenv("QA_AUTH_FILE", raising=False)
    assert "--file or $QA_AUTH_FILE" in runner.invoke(app, ["user", "list"]).output


def test_access_check_says_which_rule_grants(logins, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / ".qa-access.toml").write_text(RULES)
    (corpus / "hr").mkdir()
    (corpus / "hr" / "pay.md").write_text("# Pay\n\nPay.\n")
    alice = runner.invoke(app, ["access", "check", "alice", "hr/pay.md", "--corpus", str(corpus)])
    assert alice.exit_code == 0
    assert alice.output.splitlines() == ["alice (groups: hr, staff) may read hr/pay.md: rule 2 (hr/) grants hr",
                                         "alice (groups: hr, staff) may write hr/pay.md: rule 2 (hr/) grants hr"]  # fmt: skip
    bob = runner.invoke(app, ["access", "check", "bob", "hr/pay.md", "--corpus", str(corpus)])
    assert bob.exit_code == 1 and "bob (groups: sales) may not read hr/pay.md" in bob.output
    public = runner.invoke(app, ["access", "check", "bob", str(corpus / "public" / "a.md"), "--corpus", str(corpus)])
    assert public.exit_code == 0 and "may read public/a.md: rule 1 (public/) grants everyone" in public.output
    missing = runner.invoke(app, ["access", "check", "alice", "hr/missing.md", "--corpus", str(corpus)])
    assert missing.output.startswith(f"note: {corpus / 'hr' / 'missing.md'} does not exist; the rules are checked for that path anyway")
    (corpus / "public").mkdir()
    (corpus / "public" / "link.md").symlink_to(corpus / "hr" / "pay.md")
    link = runner.invoke(app, ["access", "check", "bob", "public/link.md", "--corpus", str(corpus)])
    assert link.exit_code == 1 and f"may not read public/link.md: it is a link to {corpus / 'hr' / 'pay.md'}" in link.output
    assert runner.invoke(app, ["access", "check", "alice", "public/link.md", "--corpus", str(corpus)]).exit_code == 0
    nobody = runner.invoke(app, ["access", "check", "carol", "hr/pay.md", "--corpus", str(corpus)])
    assert nobody.exit_code == 1 and "no user 'carol'" in nobody.output


@pytest.mark.slow
def test_ask_as_a_user_searches_what_they_may_read(logins, tmp_path, real_embedder):
    corpus = tmp_path / "corpus"
    for path, text in {"public/a.md": "# Harbour\n\nThe harbour has twelve berths.\n",
                       "hr/pay.md": "# Pay\n\nThe harbour engineer earns ninety thousand crowns.\n"}.items():  # fmt: skip
        (corpus / path).parent.mkdir(parents=True, exist_ok=True)
        (corpus / path).write_text(text)
    (corpus / ".qa-access.toml").write_text(RULES)
    build_index(corpus, tmp_path / "idx", embedder=real_embedder, tune=None)

    def sources(*extra: str) -> set[str]:
        result = runner.invoke(app, ["ask", "harbour crowns", "--json", "--index-dir", str(tmp_path / "idx"), *extra])
        assert result.exit_code == 0, result.output
        return {h["source"] for h in json.loads(result.output)["hits"]}

    assert sources() == {"public/a.md", "hr/pay.md"}
    assert sources("--as", "alice") == {"public/a.md", "hr/pay.md"}
    assert sources("--as", "bob") == {"public/a.md"}
    unknown = runner.invoke(app, ["ask", "x", "--as", "carol", "--index-dir", str(tmp_path / "idx")])
    assert unknown.exit_code == 1 and "no user 'carol'" in unknown.output
