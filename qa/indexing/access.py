"""Who may read which documents: the access rules beside the corpus, read when it is indexed.

    # corpus/.qa-access.toml (or the file $QA_ACCESS_FILE names)
    [[rule]]
    path = "public/"            # .gitignore patterns, from the corpus folder: public/ there, not a/public/
    read = ["*"]                # "*": everyone, logged in or not
    [[rule]]
    path = "hr/"
    read = ["hr", "admins"]
    write = ["hr"]              # may upload into hr/

A rule's path is a .gitignore pattern anchored at the corpus folder: ``hr/`` is the corpus's hr folder
(not ``a/hr/``), ``*.pdf`` its PDFs at the top, ``**/*.pdf`` every PDF. (Unanchored, as .gitignore reads
them, ``public/`` would grant every folder of that name, ``hr/public/`` too.)
A file's readers are the groups of every rule whose path matches it: rules add up, none takes away. With
a rules file, what no rule grants nobody reads (the CLI, run by whoever owns the files, aside); without
one, everyone reads everything, as before. The rules and each file's readers go into the manifest, so a
change of rules is a cheap sync (nothing is read or embedded again) and a server enforces what was indexed.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

import pathspec

from ..errors import QAError
from ..users import check_name

__all__ = ["ACCESS_FILE", "EVERYONE", "Rule", "Rules", "file_readers", "grants", "load_rules", "readable", "rules_path", "summary"]

ACCESS_FILE = ".qa-access.toml"
EVERYONE = "*"  # in ``read``: every visitor, with or without a login
MAX_RULES_BYTES = 1 << 20
MAX_RULES = 10_000
MAX_PATTERN = 1024
_KEYS = frozenset({"path", "read", "write"})


@dataclass(frozen=True)
class Rule:
    path: str  # a .gitignore pattern, anchored at the corpus: "hr/" (a folder), "**/*.pdf", "reports/2024-*.md"
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()

    def matches(self, source: str) -> bool:
        return _spec(self.path).match_file(source)

    @property
    def folder(self) -> str | None:
        """The folder this rule is about (``hr/``, ``hr/**``: ``hr``; the whole corpus: ``""``), else None."""
        path = self.path.strip("/")
        path = path[:-3] if path.endswith("/**") else "" if path == "**" else path
        if any(c in path for c in "*?[\\") or not (self.path.endswith("/") or self.path.endswith("**")):
            return None
        return path


@dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...]
    file: str = ""  # where they were read from
    sha256: str = ""

    def granting(self, source: str) -> list[tuple[int, Rule]]:
        """The rules (numbered from 1) whose path matches ``source``."""
        return [(n, r) for n, r in enumerate(self.rules, 1) if r.matches(source)]

    def readers(self, source: str, corpus: str | os.PathLike | None = None) -> tuple[str, ...]:
        """The groups that may read ``source``; for a link in the ``corpus`` folder, those that may read
        both it and the file it leads to (a link in public/ to a file in hr/ opens nothing)."""
        own = tuple(sorted({g for _, r in self.granting(source) for g in r.read}))
        path = Path(corpus) / source if corpus is not None else None
        if path is None or not path.is_symlink():
            return own
        try:
            target = path.resolve().relative_to(Path(corpus).resolve()).as_posix()
        except ValueError:  # leads outside: the corpus reader skips it anyway
            return ()
        theirs = self.readers(target)
        return theirs if EVERYONE in own else own if EVERYONE in theirs else tuple(sorted(set(own) & set(theirs)))

    def writers(self, source: str) -> tuple[str, ...]:
        return tuple(sorted({g for _, r in self.granting(source) for g in r.write}))

    def upload_folder(self, groups: Collection[str]) -> str | None:
        """Where an upload by a member of ``groups`` goes: the first folder a rule lets them write
        (``""``: the corpus folder itself); None when they may write nowhere."""
        for rule in self.rules:
            if rule.folder is not None and grants(rule.write, groups):
                return rule.folder
        return None

    def to_json(self) -> dict:
        return {"file": self.file, "sha256": self.sha256, "rules": [{"path": r.path, "read": list(r.read), "write": list(r.write)} for r in self.rules]}

    @classmethod
    def from_json(cls, data: dict) -> Rules:
        rules = tuple(Rule(r["path"], tuple(r.get("read", ())), tuple(r.get("write", ()))) for r in data.get("rules", ()))
        return cls(rules, data.get("file", ""), data.get("sha256", ""))


def rules_path(corpus_dir: str | os.PathLike) -> Path:
    """The rules file of ``corpus_dir``: ``$QA_ACCESS_FILE`` when set, else ``.qa-access.toml`` in it."""
    named = os.environ.get("QA_ACCESS_FILE", "").strip()
    return Path(named) if named else Path(corpus_dir) / ACCESS_FILE


def load_rules(corpus_dir: str | os.PathLike, previous: Rules | None = None) -> Rules | None:
    """The access rules of ``corpus_dir`` (None: no rules file, everyone reads everything); QAError, one
    line naming the file and the rule, when it cannot be read or a rule is malformed. ``previous``: the
    rules an index was built with -- their file is read when ``$QA_ACCESS_FILE`` is not set and the corpus
    has none (a server syncing the index it serves keeps the rules it was indexed with, wherever they are)."""
    path = rules_path(corpus_dir)
    if not path.exists() and not os.environ.get("QA_ACCESS_FILE", "").strip():
        if previous is None or not previous.file or not Path(previous.file).is_file():
            return None
        path = Path(previous.file)
    try:
        if path.stat().st_size > MAX_RULES_BYTES:
            raise QAError(f"{path}: the access rules file is larger than {MAX_RULES_BYTES >> 20} MB")
        raw = path.read_bytes()
    except OSError as e:
        raise QAError(f"cannot read the access rules {path}: {e.strerror or e}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise QAError(f"{path}: not valid TOML ({str(e).splitlines()[0][:120]})") from None
    try:
        rules = _parse(data)
    except ValueError as e:
        raise QAError(f"{path}: {e}") from None
    return Rules(rules, str(path.resolve()), hashlib.sha256(raw).hexdigest())


def _parse(data: dict) -> tuple[Rule, ...]:
    extra = sorted(set(data) - {"rule"})
    if extra:
        raise ValueError(f"unknown table {extra[0][:40]!r} (rules are [[rule]] tables)")
    items = data.get("rule", [])
    if not isinstance(items, list):
        raise ValueError("rules must be [[rule]] tables")
    if len(items) > MAX_RULES:
        raise ValueError(f"{len(items):,} rules, the limit is {MAX_RULES:,}")
    rules = []
    for n, item in enumerate(items, 1):
        where = f"rule {n}"
        if not isinstance(item, dict):
            raise ValueError(f"{where} must be a table")
        if unknown := sorted(set(item) - _KEYS):
            raise ValueError(f"{where}: unknown key {unknown[0][:40]!r} (a rule has path, read and write)")
        path = item.get("path")
        if not isinstance(path, str) or not path.strip() or len(path) > MAX_PATTERN or path.lstrip().startswith("!") or ".." in path.split("/"):
            raise ValueError(f"{where}: path must be a file or folder pattern like \"hr/\" or \"*.pdf\" (no '!', no '..')")
        read, write = (_groups(item.get(key, []), f"{where}: {key}") for key in ("read", "write"))
        if not read and not write:
            raise ValueError(f"{where}: grants nothing (give it read or write groups)")
        if EVERYONE in write:
            raise ValueError(f"{where}: write may not be \"*\" (name the groups that may upload)")
        rules.append(Rule(path.strip(), read, write))
    return tuple(rules)


def _groups(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{where} must be a list of group names")
    return tuple(g if g == EVERYONE else check_name(g, f"{where}: group name") for g in value)


def grants(granted: Iterable[str], groups: Collection[str]) -> bool:
    """Whether readers or writers ``granted`` include a member of ``groups`` (``"*"``: everyone)."""
    return any(g == EVERYONE or g in groups for g in granted)


def readable(readers: dict[str, Collection[str]], rules: Rules | None, groups: Collection[str] | None) -> frozenset[str] | None:
    """The files a member of ``groups`` may read, of an index whose files have ``readers`` (its manifest's);
    None -- every file -- when the index has no ``rules`` or ``groups`` is None (the files' owner)."""
    if rules is None or groups is None:
        return None
    return frozenset(source for source, granted in readers.items() if grants(granted, groups))


def file_readers(rules: Rules | None, files: Iterable[str], corpus: str | os.PathLike | None = None) -> dict[str, tuple[str, ...]]:
    """Each of ``files`` (of the ``corpus`` folder) with the groups that may read it (nothing without rules)."""
    return {source: rules.readers(source, corpus) for source in files} if rules is not None else {}


def summary(rules: Rules | None, readers: dict[str, Collection[str]], before: dict[str, Collection[str]] | None = None) -> tuple[str, ...]:
    """What the rules grant, for ``qa index``: how many files each group reads, the files no rule grants,
    and (given the readers ``before``) the files whose readers changed."""
    if rules is None:
        return ()
    counts: dict[str, int] = {}
    for granted in readers.values():
        for group in granted:
            counts[group] = counts.get(group, 0) + 1
    by = ", ".join(f"{'everyone' if g == EVERYONE else g} {n}" for g, n in sorted(counts.items()))
    lines = [f"access: {len(rules.rules)} rule{'s' * (len(rules.rules) != 1)} from {rules.file}", f"  files readable by: {by or 'no one'}"]
    nobody = sorted(s for s, granted in readers.items() if not granted)
    if nobody:
        more = f" and {len(nobody) - 10} more" if len(nobody) > 10 else ""
        lines.append(f"  no rule grants {len(nobody)} file{'s' * (len(nobody) != 1)} (only the CLI reads them): {', '.join(nobody[:10])}{more}")
    moved = sorted(s for s, granted in readers.items() if before is not None and tuple(granted) != tuple(before.get(s, ())))
    if moved:
        more = f" and {len(moved) - 10} more" if len(moved) > 10 else ""
        lines.append(f"  readers changed for {len(moved)} file{'s' * (len(moved) != 1)}: {', '.join(moved[:10])}{more}")
    return tuple(lines)


_SPECS: dict[str, pathspec.PathSpec] = {}


def _spec(pattern: str) -> pathspec.PathSpec:
    spec = _SPECS.get(pattern)
    if spec is None:
        if len(_SPECS) > MAX_RULES:
            _SPECS.clear()
        anchored = pattern if pattern.startswith(("/", "**")) else "/" + pattern  # see the module docstring
        spec = _SPECS[pattern] = pathspec.GitIgnoreSpec.from_lines([anchored])
    return spec
