"""Embedding with Ray Data (``qa index --ray [ADDRESS]``; needs ``pip install qa[ray]``).

Passages are a Ray dataset; ``map_batches`` runs them through a pool of actors, each holding the model
once. With no address a local Ray instance is started (one actor per core); with an address
(``ray://head:10001`` or ``auto``) qa joins that cluster and the actors run on its workers, which need qa
and the model installed too. Only passage embedding goes to Ray; questions, token counting and the
short abstention probes stay in this process, with the very same model, so vectors agree.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from ..errors import QAError
from .embed import Embedder

__all__ = ["RayEmbedder"]

BATCH = 256


class _Encode:
    """A Ray actor: loads the model once, then embeds batch after batch."""

    def __init__(self, model: str, precision: str, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)  # actors share the machine's cores: no oversubscription
        self.embedder = Embedder(model, precision=precision)

    def __call__(self, batch: dict) -> dict:
        vectors = self.embedder.encode_document(list(batch["text"]))
        return {"row": batch["row"], "vector": vectors}


class RayEmbedder:
    """A :class:`~qa.indexing.embed.TextEncoder` whose passages are embedded by Ray; everything else --
    questions, token counts, the model's name and precision -- is the ``local`` embedder's."""

    def __init__(self, local: Embedder, address: str | None = None, actors: int | None = None) -> None:
        self.local, self.address = local, address
        self.rows_embedded = 0  # by Ray, for the report and tests
        if actors is not None and actors <= 0:
            raise ValueError(f"actors must be > 0, got {actors}")
        self.actors = actors or max(1, (os.cpu_count() or 1))
        self.threads = max(1, (os.cpu_count() or 1) // self.actors) if not address else 1
        self._started = False

    # What the local embedder answers, declared one by one (a TextEncoder, not whatever it happens to have).
    model_id = property(lambda self: self.local.model_id)
    precision = property(lambda self: self.local.precision)
    dimension = property(lambda self: self.local.dimension)
    max_tokens = property(lambda self: self.local.max_tokens)

    def count_tokens(self, text: str) -> int:
        return self.local.count_tokens(text)

    def adopt(self, precision: str) -> None:
        self.local.adopt(precision)

    def encode_query(self, texts: list[str]) -> np.ndarray:
        return self.local.encode_query(texts)

    def _start(self):
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # Ray's C++ core logs warnings as errors
        # Ray gives its GCS server 30 s to start; a busy 2-core machine (CI) once needed more.
        os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "120")
        try:
            import ray
        except ImportError:
            raise QAError("qa index --ray needs Ray: pip install 'qa[ray]'") from None
        if not self._started:
            try:
                ray.init(address=self.address or None, ignore_reinit_error=True, include_dashboard=False,
                         log_to_driver=False, logging_level="ERROR")  # fmt: skip
            except Exception as e:  # no cluster at that address, …
                raise QAError(f"cannot start or join Ray{f' at {self.address}' if self.address else ''}: {e}") from None
            self._started = True
            context = ray.data.DataContext.get_current()
            context.enable_progress_bars = False  # qa prints its own progress
            for name in ("ray", "ray.data"):
                logging.getLogger(name).setLevel(logging.ERROR)
        return ray

    def encode_document(self, texts: list[str], *, progress: bool = False, bar=None) -> np.ndarray:
        if not texts:
            return self.local.encode_document(texts)
        ray = self._start()
        rows = ray.data.from_items([{"row": i, "text": t} for i, t in enumerate(texts)], override_num_blocks=self.actors * 4)
        embedded = rows.map_batches(
            _Encode,
            fn_constructor_args=(self.local.model_id, self.local.precision, self.threads),
            batch_size=BATCH,
            batch_format="numpy",
            concurrency=self.actors,
            num_cpus=1,
        )
        out = np.empty((len(texts), self.local.dimension), dtype=np.float32)
        for batch in embedded.iter_batches(batch_format="numpy", batch_size=None):
            out[batch["row"]] = np.stack(batch["vector"])
            if bar is not None:
                bar.update(len(batch["row"]))
        self.rows_embedded += len(texts)
        return out

    def shutdown(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
