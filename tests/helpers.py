"""Small builders for test inputs (importable as ``tests.helpers``)."""

from __future__ import annotations

from datetime import datetime, timedelta

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def clf(ts: datetime, *, host: str = "h1", request: str = "GET / HTTP/1.0", status: int = 200,
        size: str = "100", offset: str = "+0000", combined: tuple[str, str] | None = None) -> str:
    """One Common (or Combined) Log Format line at local time ``ts`` with UTC ``offset``."""
    stamp = f"{ts.day:02d}/{MONTHS[ts.month - 1]}/{ts.year}:{ts:%H:%M:%S} {offset}"
    line = f'{host} - - [{stamp}] "{request}" {status} {size}'
    if combined:
        line += f' "{combined[0]}" "{combined[1]}"'
    return line


def every(start: datetime, step_s: float, n: int) -> list[datetime]:
    return [start + timedelta(seconds=step_s * k) for k in range(n)]
