"""Where things are by default, and the environment variables that change it.

The index a reader uses is found in this order: an explicit ``index_dir``, ``$QA_INDEX_DIR``,
``./index`` when it holds an index, and finally the ``index/`` folder of the checkout qa is installed
from (so ``import qa; qa.retrieve(...)`` works from any working directory after ``qa index``).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "DEFAULT_MODEL",
    "PROJECT_ROOT",
    "available_cores",
    "find_index_dir",
    "model_name",
    "write_index_dir",
]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MANIFEST = "manifest.json"

# The checkout this package lives in, when it is installed in editable mode (as the Makefile does).
_here = Path(__file__).resolve().parent.parent
PROJECT_ROOT: Path | None = _here if (_here / "pyproject.toml").is_file() else None


def available_cores() -> int:
    """The cores this process may run on (a container's or ``taskset``'s share, not the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def model_name(model: str | None = None) -> str:
    """The embedding model asked for: the argument, else ``$QA_MODEL``, else the shipped default."""
    return model or os.environ.get("QA_MODEL") or DEFAULT_MODEL


def write_index_dir(index_dir: str | os.PathLike | None = None) -> Path:
    """Where ``qa index`` writes: the argument, else ``$QA_INDEX_DIR``, else ``./index``."""
    return Path(index_dir or os.environ.get("QA_INDEX_DIR") or "index")


def find_index_dir(index_dir: str | os.PathLike | None = None) -> Path:
    """Where readers look for an index (see the module docstring for the order)."""
    if index_dir or os.environ.get("QA_INDEX_DIR"):
        return write_index_dir(index_dir)
    local = Path("index")
    if (local / MANIFEST).is_file() or PROJECT_ROOT is None:
        return local
    return PROJECT_ROOT / "index"

