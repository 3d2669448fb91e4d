"""The access rules: read beside the corpus, matched like .gitignore, written into the manifest; a change
of rules is a sync that embeds nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.fakes import FakeEmbedder

import qa
from qa.build import build_index
from qa.errors import QAError
from qa.indexing.access import Rule, Rules, load_rules, readable, summary

RULES = """
[[rule]]
path = "public/"
read = ["*"]

[[rule]]
path = "hr/"
read = ["hr", "admins"]
write = ["hr"]

[[rule]]
path = "**/*.pdf"
read = ["admins"]
"""


def _corpus(root: Path, rules: str | None = RULES) -> Path:
    corpus = root / "corpus"
    for path, text in {
        "public/harbour.md": "# Harbour\n\nThe harbour master of Port Elwin is Maren Tovik.\n",
        "hr/salaries.md": "# Salaries\n\nThe chief engineer Oskar Lindqvist earns ninety thousand crowns.\n",
        "public/copy.md": "# Salaries\n\nThe chief engineer Oskar Lindqvist earns ninety thousand crowns.\n",
        "hr/copy-too.md": "# Salaries\n\nThe chief engineer Oskar Lindqvist earns ninety thousand crowns.\n",
        "secret/bluefin.md": "# Bluefin\n\nProject Bluefin is the merger with Halvard Shipping.\n",
    }.items():
        (corpus / path).parent.mkdir(parents=True, exist_ok=True)
        (corpus / path).write_text(text)
    if rules is not None:
        (corpus / ".qa-access.toml").write_text(rules)
    return corpus


def test_a_files_readers_are_every_matching_rules_groups(tmp_path):
    rules = load_rules(_corpus(tmp_path))
    assert rules.readers("public/harbour.md") == ("*",)
    assert rules.readers("hr/salaries.md") == ("admins", "hr")
    assert rules.readers("hr/deep/x.pdf") == ("admins", "hr")  # folder and glob add up
    assert rules.readers("x.pdf") == ("admins",) and rules.readers("secret/bluefin.md") == ()
    assert rules.writers("hr/new.md") == ("hr",) and rules.writers("public/x.md") == ()
    assert rules.upload_folder({"hr"}) == "hr" and rules.upload_folder({"admins"}) is None
    assert [n for n, _ in rules.granting("hr/a.pdf")] == [2, 3]


def test_paths_are_anchored_at_the_corpus_folder():
    """.gitignore would read "public/" as every folder of that name: a grant to hr/public/ nobody meant."""
    rules = Rules((Rule("public/", ("*",)), Rule("*.md", ("top",)), Rule("**/*.pdf", ("pdf",)), Rule("/hr/**", ("hr",))))
    assert rules.readers("public/a.md") == ("*",)  # "*.md": the top folder's only
    assert rules.readers("hr/public/a.md") == ("hr",)
    assert rules.readers("a.md") == ("top",) and rules.readers("docs/a.md") == ()
    assert rules.readers("docs/deep/a.pdf") == ("pdf",) and rules.readers("a.pdf") == ("pdf",)


def test_no_rules_file_means_everyone_reads_everything(tmp_path):
    corpus = _corpus(tmp_path, rules=None)
    assert load_rules(corpus) is None
    assert readable({"a.md": ()}, None, {"x"}) is None


def test_readable_files_for_groups():
    rules = Rules((Rule("public/", ("*",)),))
    readers = {"public/a.md": ("*",), "hr/b.md": ("hr",), "x.md": ()}
    assert readable(readers, rules, frozenset()) == {"public/a.md"}
    assert readable(readers, rules, {"hr"}) == {"public/a.md", "hr/b.md"}
    assert readable(readers, rules, None) is None  # the owner (the CLI)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[rule]]\npath = 'a/'\n", "rule 1: grants nothing"),
        ("[[rule]]\npath = 'a/'\nread = 'hr'\n", "rule 1: read must be a list"),
        ("[[rule]]\npath = 'a/'\nread = ['h r']\n", "group name"),
        ("[[rule]]\npath = '!a/'\nread = ['hr']\n", "rule 1: path"),
        ("[[rule]]\npath = '../etc/'\nread = ['hr']\n", "rule 1: path"),
        ("[[rule]]\npath = 'a/'\nwrite = ['*']\n", "write may not be"),
        ("[[rule]]\npath = 'a/'\nreed = ['hr']\n", "unknown key 'reed'"),
        ("[rules]\n", "unknown table"),
        ("[[rule]\n", "not valid TOML"),
    ],
)
def test_a_malformed_rules_file_is_one_line_naming_the_rule(tmp_path, text, message):
    corpus = _corpus(tmp_path, rules=text)
    with pytest.raises(QAError, match=message) as e:
        load_rules(corpus)
    assert "\n" not in str(e.value) and ".qa-access.toml" in str(e.value)


def test_the_rules_file_may_be_named_by_the_environment(tmp_path, monkeypatch):
    corpus = _corpus(tmp_path, rules=None)
    elsewhere = tmp_path / "rules.toml"
    elsewhere.write_text("[[rule]]\npath = 'hr/'\nread = ['hr']\n")
    monkeypatch.setenv("QA_ACCESS_FILE", str(elsewhere))
    assert load_rules(corpus).readers("hr/x.md") == ("hr",)
    monkeypatch.setenv("QA_ACCESS_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(QAError, match="cannot read the access rules"):
        load_rules(corpus)  # named but missing: an error, never "no rules"


def test_the_build_writes_the_rules_into_the_manifest_and_parts_copies_read_by_others(tmp_path):
    corpus, index_dir = _corpus(tmp_path), tmp_path / "idx"
    report = build_index(corpus, index_dir, embedder=FakeEmbedder(), tune=None)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["readers"] == {"hr/copy-too.md": ["admins", "hr"], "hr/salaries.md": ["admins", "hr"],
                                   "public/copy.md": ["*"], "public/harbour.md": ["*"], "secret/bluefin.md": []}  # fmt: skip
    assert [r["path"] for r in manifest["rules"]["rules"]] == ["public/", "hr/", "**/*.pdf"]
    # the same text read by other groups is indexed apart: its hits must cite a file their reader may see
    assert manifest["duplicates"] == {"hr/salaries.md": "hr/copy-too.md"}
    assert any("no rule grants 1 file" in line and "secret/bluefin.md" in line for line in report.access)
    assert "access: 3 rules" in report.summary()


def test_a_change_of_rules_is_a_sync_that_embeds_nothing(tmp_path):
    corpus, index_dir = _corpus(tmp_path), tmp_path / "idx"
    build_index(corpus, index_dir, embedder=FakeEmbedder(), tune=None)
    data = json.loads((index_dir / "manifest.json").read_text())["data"]
    assert qa.index_status(corpus, index_dir, "fake-bow") == "fresh"
    (corpus / ".qa-access.toml").write_text(RULES + "\n[[rule]]\npath = 'secret/'\nread = ['board']\n")
    assert qa.index_status(corpus, index_dir, "fake-bow") == "stale: the access rules changed"
    embedder = FakeEmbedder()
    dry = build_index(corpus, index_dir, embedder=embedder, tune=None, dry_run=True)
    assert dry.summary().startswith("Access rules changed: dry run: only the manifest would be written") and not dry.written
    assert qa.index_status(corpus, index_dir, "fake-bow") == "stale: the access rules changed"
    report = build_index(corpus, index_dir, embedder=embedder, tune=None)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert report.written and report.embedded == 0 and embedder.calls == 0 and manifest["data"] == data
    assert report.summary().startswith("Access rules changed: the manifest was written, nothing read or embedded again")
    assert manifest["readers"]["secret/bluefin.md"] == ["board"]
    assert "  readers changed for 1 file: secret/bluefin.md" in report.access
    assert qa.index_status(corpus, index_dir, "fake-bow") == "fresh"
    again = build_index(corpus, index_dir, embedder=embedder, tune=None)
    assert not again.written and "Index is up to date" in again.summary() and "access: 4 rules" in again.summary()


def test_rules_that_part_copies_sync_by_reading_them_again(tmp_path):
    corpus, index_dir = _corpus(tmp_path), tmp_path / "idx"
    build_index(corpus, index_dir, embedder=FakeEmbedder(), tune=None)
    (corpus / ".qa-access.toml").write_text(RULES + "\n[[rule]]\npath = 'hr/copy-too.md'\nread = ['board']\n")
    build_index(corpus, index_dir, embedder=FakeEmbedder(), tune=None)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["duplicates"] == {}  # now read by different groups: each indexed, under its own name
    assert manifest["readers"]["hr/copy-too.md"] == ["admins", "board", "hr"]


def test_a_malformed_rules_file_stops_the_build(tmp_path):
    corpus, index_dir = _corpus(tmp_path, rules="[[rule]]\npath = 'a/'\n"), tmp_path / "idx"
    with pytest.raises(QAError, match="grants nothing"):
        build_index(corpus, index_dir, embedder=FakeEmbedder(), tune=None)
    assert not (index_dir / "manifest.json").exists()


def test_the_summary_counts_files_per_group():
    rules = Rules((Rule("a/", ("*",)),), file="/c/.qa-access.toml")
    lines = summary(rules, {"a/x.md": ("*",), "b/y.md": ("hr",), "c/z.md": ()})
    assert lines[0] == "access: 1 rule from /c/.qa-access.toml"
    assert lines[1] == "  files readable by: everyone 1, hr 1"
    assert "c/z.md" in lines[2]
    assert summary(None, {}) == ()


def test_a_sync_keeps_the_rules_it_was_indexed_with_and_never_drops_them_silently(tmp_path, monkeypatch):
    """A server syncing its index after an upload may not see $QA_ACCESS_FILE: it reads the file the index
    names; and rules that are gone stop the sync, rather than open every document to everyone."""
    corpus, index_dir, elsewhere = _corpus(tmp_path, rules=None), tmp_path / "idx", tmp_path / "rules.toml"
    elsewhere.write_text(RULES)
    monkeypatch.setenv("QA_ACCESS_FILE", str(elsewhere))
    build_index(corpus, index_dir, embedder=FakeEmbedder(), tune=None)
    monkeypatch.delenv("QA_ACCESS_FILE")
    (corpus / "public" / "new.md").write_text("# New\n\nA new public note about the harbour.\n")
    build_index(corpus, index_dir, embedder=FakeEmbedder(), tune=None)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["rules"]["file"] == str(elsewhere.resolve()) and manifest["readers"]["hr/salaries.md"] == ["admins", "hr"]
    elsewhere.unlink()
    with pytest.raises(QAError, match="which is gone: restore it or point QA_ACCESS_FILE at it"):
        build_index(corpus, index_dir, embedder=FakeEmbedder(), tune=None)
    assert json.loads((index_dir / "manifest.json").read_text())["rules"] == manifest["rules"]  # nothing written
    assert qa.index_status(corpus, index_dir, "fake-bow") == "stale: the access rules changed"
    build_index(corpus, index_dir, embedder=FakeEmbedder(), tune=None, rebuild=True)  # on purpose: without rules
    assert "rules" not in json.loads((index_dir / "manifest.json").read_text())


def test_a_link_is_read_by_those_who_may_read_both_it_and_what_it_leads_to(tmp_path):
    corpus, index_dir = _corpus(tmp_path), tmp_path / "idx"
    (corpus / "public" / "link.md").symlink_to(corpus / "hr" / "salaries.md")
    (corpus / "hr" / "back.md").symlink_to(corpus / "public" / "harbour.md")
    build_index(corpus, index_dir, embedder=FakeEmbedder(), tune=None)
    readers = json.loads((index_dir / "manifest.json").read_text())["readers"]
    assert readers["public/link.md"] == ["admins", "hr"]  # in public/, but leads into hr/
    assert readers["hr/back.md"] == ["admins", "hr"]
    assert load_rules(corpus).readers("public/link.md") == ("*",)  # the rules alone, without the corpus
