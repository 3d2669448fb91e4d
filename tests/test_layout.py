"""The package's shape: layers import downward only, and no module grows past a screenful or two."""

from __future__ import annotations

import ast
from pathlib import Path

import qa

PACKAGE = Path(qa.__file__).parent
# Each layer may import the ones listed after it, never those before it.
LAYERS = ["cli", "evaluate", "serve", "retrieval", "indexing", "readers", "base"]
BASE = {"errors", "config", "version", "passage", "text"}


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
                wrong.append(f"{path.relative_to(PACKAGE)} imports the package itself")
            elif LAYERS.index(_layer(target)) < LAYERS.index(own):
                wrong.append(f"{path.relative_to(PACKAGE)} ({own}) imports {target}")
    assert wrong == []


def test_no_module_is_over_300_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 300}
    assert long == {}
