"""Progress of a long build step: a tqdm bar on a terminal, plain lines in logs and CI."""

from __future__ import annotations

import sys
import time

from tqdm.auto import tqdm

__all__ = ["page_progress", "progress_bar"]


class _LineProgress:
    """Progress for logs and CI, where a redrawn bar is noise: one line every ``every`` seconds."""

    def __init__(self, total: int, desc: str, every: float = 10.0):
        self.total, self.desc, self.every = total, desc, every
        self.done = 0
        self.began = self.last = time.monotonic()

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.every or self.done >= self.total:
            self.last = now
            rate = self.done / max(now - self.began, 1e-9)
            eta = (self.total - self.done) / rate if rate else 0.0
            print(
                f"{self.desc}: {self.done}/{self.total} passages ({100 * self.done / max(self.total, 1):.0f}%), "
                f"{rate:.1f} passages/s, ETA {eta:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    def __enter__(self) -> _LineProgress:
        return self

    def __exit__(self, *exc) -> None:
        pass


def progress_bar(total: int, desc: str, *, enabled: bool = True):
    """A tqdm bar (passages/s, ETA) on a terminal; plain progress lines when stderr is not one."""
    if enabled and not sys.stderr.isatty():
        return _LineProgress(total, desc)
    return tqdm(total=total, unit="passage", desc=desc, disable=not enabled)


def page_progress(every: float = 1.0):
    """A function that prints "OCR: page 3/40 of scan.pdf" lines to stderr: a file's first and last
    page, and at most one line every ``every`` seconds between."""
    last = [float("-inf")]

    def told(line: str) -> None:
        now = time.monotonic()
        done, _, rest = line.partition("/")
        first_or_last = done.endswith(" 1") or rest.split(" ", 1)[0] == done.rsplit(" ", 1)[-1]
        if first_or_last or now - last[0] >= every:
            last[0] = now
            print(line, file=sys.stderr, flush=True)

    return told
