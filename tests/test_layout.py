"""The package's shape: layers import downward only, and no module grows past a screenful or two."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import qa

PACKAGE = Path(qa.__file__).parent
# Each layer may import the ones listed after it, never those before it.
LAYERS = ["cli", "cli_users", "evaluate", "serve", "build", "retrieval", "indexing", "readers", "base"]
BASE = {"errors", "config", "version", "passage", "text", "timing", "users"}


def _layer(module: str) -> str:
    top = module.split(".")[1] if module.startswith("qa.") else module
    return "base" if top in BASE else top


def _imports(path: Path) -> set[str]:
    """The qa modules ``path`` imports, absolute."""
    name = "qa." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "qa" or target.startswith("qa."):
                found.add(target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name == "qa" or a.name.startswith("qa."))
    return found


def test_layers_import_downward_only():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "__init__.py":
            continue  # the public face gathers every layer
        own = _layer("qa." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        for target in _imports(path):
            if target == "qa":
                if own not in ("cli", "cli_users"):  # the CLI is a client of the public API; nothing else may lean on it
                    wrong.append(f"{path.relative_to(PACKAGE)} imports the package itself")
            elif LAYERS.index(_layer(target)) < LAYERS.index(own):
                wrong.append(f"{path.relative_to(PACKAGE)} ({own}) imports {target}")
    assert wrong == []


def test_no_module_is_over_300_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 300}
    assert long == {}


# The index's parts (and anything private of it) reached from the layers that should only use its
# read-only interface (qa.indexing.index.Index): passages handed whole to a stage that samples or looks
# them up by position, and tuning's model for its copy, are the only reaches left.
REACH = re.compile(r"\bindex\.(_\w+|store|bm25|passages|embedder|manifest|ids)\b")
MAX_REACHES = 4


def test_retrieval_and_serve_use_the_index_through_its_interface():
    reaches = [
        f"{path.relative_to(PACKAGE)}:{n}: {match.group(0)}"
        for path in [*(PACKAGE / "retrieval").rglob("*.py"), *(PACKAGE / "serve").rglob("*.py"), PACKAGE / "cli.py"]
        for n, line in enumerate(path.read_text().splitlines(), 1)
        for match in REACH.finditer(line)
    ]
    assert len(reaches) <= MAX_REACHES, "\n".join(reaches)


def test_the_cli_is_a_client_of_the_public_api():
    """qa/cli.py imports qa's public names only (and the serving layer, lazily, for the commands that serve)."""
    inside = {t for t in _imports(PACKAGE / "cli.py") if t not in ("qa", "qa.cli_users") and not t.startswith("qa.serve.")}
    assert inside == set()
