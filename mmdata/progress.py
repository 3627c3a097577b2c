"""Progress of long work: a tqdm bar on a terminal, periodic log lines anywhere else.

tqdm draws nothing when stderr is not a terminal (a cluster job's log file, a pipe, a CI run), which
left hour-long jobs silent. :func:`progress_bar` returns a tqdm bar when stderr is a terminal and a
:class:`LogProgress` otherwise: it logs one INFO line (through :mod:`logging`, so ``-q`` silences it)
each time another ``every_percent`` of the work is done or ``every_seconds`` have passed since the
last line, whichever comes first, and a last line when the work ends::

    INFO mmdata.progress: render: 12/40 samples (30%), 2.4 samples/s, about 12 s left

Example:
    >>> import logging, sys
    >>> logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s", force=True)
    >>> with LogProgress(total=4, desc="demo", unit="item", every_percent=50, clock=iter(range(100)).__next__) as bar:
    ...     for _ in range(4):
    ...         bar.update(1)
    demo: 2/4 items (50%), 1 items/s, about 2 s left
    demo: 4/4 items (100%), 1 items/s, about 0 s left
    demo: done, 4 items in 5 s
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, Callable, Iterable, Iterator, Protocol

__all__ = ["ProgressLike", "LogProgress", "progress_bar"]

log = logging.getLogger(__name__)


class ProgressLike(Protocol):
    """What callers use of a progress bar (tqdm's names)."""

    def update(self, n: int = 1) -> Any: ...

    def close(self) -> None: ...


class LogProgress:
    """A progress 'bar' that writes log lines: every ``every_percent`` % of ``total`` or every ``every_seconds``.

    Args:
        total: units of work (None or 0: unknown; lines then come by time only, without a percentage).
        desc: what is being done, first word of every line (``render``, ``magnify``).
        unit: the unit's name (``sample``, ``frame``); an ``s`` is added for the plural.
        every_percent: log when another this many percent are done.
        every_seconds: log when this long has passed since the last line.
        logger: where the lines go (default this module's logger).
        clock: seconds, monotonic (tests give a fake one).
    """

    def __init__(self, total: int | None, *, desc: str, unit: str, every_percent: float = 10.0, every_seconds: float = 10.0,
                 logger: logging.Logger | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.desc, self.unit = total or None, desc, unit
        self.every_percent, self.every_seconds = every_percent, every_seconds
        self.log = logger or log
        self.clock = clock
        self.n = 0
        self.started = self.last_time = clock()
        self.last_percent = 0.0
        self.closed = False

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done; log a line when a step of percent or time is reached."""
        self.n += n
        now = self.clock()
        percent = 100.0 * self.n / self.total if self.total else 0.0
        if (self.total and percent >= self.last_percent + self.every_percent) or now - self.last_time >= self.every_seconds:
            self._line(now, percent)

    def _line(self, now: float, percent: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.n / elapsed
        text = f"{self.desc}: {self.n}"
        if self.total:
            left = (self.total - self.n) / rate if rate > 0 else float("inf")
            text += f"/{self.total} {self.unit}s ({percent:.0f}%), {rate:.3g} {self.unit}s/s, about {left:.0f} s left"
            self.last_percent = percent - percent % self.every_percent
        else:
            text += f" {self.unit}s, {rate:.3g} {self.unit}s/s"
        self.log.info("%s", text)
        self.last_time = now

    def close(self) -> None:
        """Log the final line (once)."""
        if not self.closed:
            self.closed = True
            self.log.info("%s: done, %d %ss in %.0f s", self.desc, self.n, self.unit, self.clock() - self.started)

    def __enter__(self) -> "LogProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Iterated:
    """Iterate over ``iterable`` while advancing ``bar`` by one per item (like ``tqdm(iterable)``)."""

    def __init__(self, iterable: Iterable[Any], bar: LogProgress) -> None:
        self.iterable, self.bar = iterable, bar

    def __iter__(self) -> Iterator[Any]:
        try:
            for item in self.iterable:
                yield item
                self.bar.update(1)
        finally:
            self.bar.close()


def progress_bar(total: int | None = None, *, desc: str, unit: str, enabled: bool = True, iterable: Iterable[Any] | None = None,
                 every_percent: float = 10.0, every_seconds: float = 10.0) -> Any:
    """A progress display for long work: tqdm on a terminal, :class:`LogProgress` lines otherwise.

    Args:
        total: units of work.  desc, unit: as tqdm's.
        enabled: False (``-q``): nothing is shown.
        iterable: wrap it (progress advances per item), as ``tqdm(iterable)``.
        every_percent, every_seconds: how often lines are logged when stderr is not a terminal.

    Returns:
        A tqdm bar (``update``, ``close``, a context manager) or, with ``iterable``, an iterable.
    """
    from tqdm import tqdm

    if not enabled or _is_terminal():
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not enabled)
    bar = LogProgress(total, desc=desc, unit=unit, every_percent=every_percent, every_seconds=every_seconds)
    return bar if iterable is None else _Iterated(iterable, bar)


def _is_terminal() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False
