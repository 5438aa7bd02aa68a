"""Progress on stderr for steps that take more than a moment; quiet for quick ones."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

SHOW_AFTER_S = 1.0


class Progress:
    """Reports steps as ``label ... done (2.3 s)``; byte counts as a live percentage on a terminal.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with Progress(out).step("parsing x.log", total=100) as advance:
    ...     advance(100)
    >>> out.getvalue()
    ''
    """

    def __init__(self, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.live = enabled and getattr(self.stream, "isatty", lambda: False)()

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator:
        """A step; yields ``advance(n)`` to report ``n`` more units of ``total`` done."""
        start = time.perf_counter()
        done = 0
        shown = False

        def advance(n: int) -> None:
            nonlocal done, shown
            done += n
            elapsed = time.perf_counter() - start
            if not self.enabled or elapsed < SHOW_AFTER_S:
                return
            if self.live:
                share = f" {100 * done / total:3.0f}%" if total else ""
                self.stream.write(f"\r  {label}…{share} ({elapsed:.0f} s)")
                self.stream.flush()
                shown = True
            elif not shown:
                self.stream.write(f"  {label}…\n")
                shown = True

        yield advance
        elapsed = time.perf_counter() - start
        if self.enabled and (shown or elapsed >= SHOW_AFTER_S):
            prefix = "\r" if self.live else ""
            self.stream.write(f"{prefix}  {label}: done in {elapsed:.1f} s{' ' * 12}\n")
            self.stream.flush()


QUIET = Progress(enabled=False)
