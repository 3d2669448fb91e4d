"""``qa.ask`` and ``qa.retrieve``: one call per question. Each index is loaded once per process and
reloaded when a newer build replaces it: a build swaps ``manifest.json``, and the next question notices
its newer modification time (the model already in memory is kept)."""

from __future__ import annotations

import os
import threading
from collections.abc import Collection
from pathlib import Path

from ..config import find_index_dir
from ..errors import QAError
from ..indexing.folder import load_index
from ..indexing.manifest import MANIFEST
from ..passage import Hit
from .answer import Answer
from .pipeline import Retriever
from .request import Request
from ..users import Users

__all__ = ["ask", "cached_retriever", "retrieve", "user_groups"]

_loaded: dict[Path, tuple[int, Retriever]] = {}
_loaded_lock = threading.Lock()


def cached_retriever(index_dir: str | os.PathLike | None = None) -> Retriever:
    """The retriever of the index in a folder, reloaded when its manifest has been replaced by a newer build."""
    path = find_index_dir(index_dir).resolve()
    with _loaded_lock:
        try:
            stamp = (path / MANIFEST).stat().st_mtime_ns
        except OSError:
            stamp = -1
        cached = _loaded.get(path)
        if cached is None or cached[0] != stamp:
            index = load_index(path)
            if cached is not None:
                index = index.sharing_model(cached[1].index)  # keep the model already in memory
            _loaded[path] = (stamp, Retriever(index))
        return _loaded[path][1]


def ask(
    question: str,
    *,
    history: list[str] | None = None,
    k: int = 5,
    index_dir: str | os.PathLike | None = None,
    sources: Collection[str] | None = None,
    user: str | None = None,
) -> Answer:
    """Answer ``question`` from the index: the best passages with highlights, and whether they answer it.
    ``sources``: search only these files (paths as in ``Hit.source``); ``user``: only among the files
    this user of the login file (``$QA_AUTH_FILE``) may read by the index's access rules (None: all).

    >>> a = qa.ask("Who won the 2018 FIFA World Cup?")   # doctest: +SKIP
    >>> a.answered
    False
    """
    request = Request.checked(question, k, history=history, sources=sources)  # bad input fails before loading
    retriever = cached_retriever(index_dir)
    return retriever.run(request, retriever.index.readable(user_groups(user)) if user is not None else None)


def user_groups(user: str, auth_file: str | os.PathLike | None = None) -> frozenset[str]:
    """The groups of ``user`` in the login file (``auth_file``, else ``$QA_AUTH_FILE``); QAError when
    there is no login file or no such user in it."""
    file = auth_file or os.environ.get("QA_AUTH_FILE")
    if not file:
        raise QAError("asking as a user needs the login file: set QA_AUTH_FILE (see 'qa user add')")
    groups = Users.load("", file).groups(user)
    if groups is None:
        raise QAError(f"no user {user[:64]!r} in the login file {file}")
    return groups


def retrieve(
    question: str,
    k: int = 5,
    *,
    history: list[str] | None = None,
    index_dir: str | os.PathLike | None = None,
    sources: Collection[str] | None = None,
    user: str | None = None,
) -> list[Hit]:
    """The ``k`` passages of the index that best answer ``question``, best first (only from the files
    in ``sources`` when given).

    >>> import qa
    >>> qa.retrieve("Where is Ardavan Hatami based?", k=1)[0].highlight.text   # doctest: +SKIP
    'Ardavan Hatami, an Iranian artist based in Germany, was deeply moved by the visit to Israel.'
    """
    return ask(question, history=history, k=k, index_dir=index_dir, sources=sources, user=user).hits
