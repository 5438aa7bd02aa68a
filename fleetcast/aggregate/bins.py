"""Time bins: granularity names, bin starts, and the share of a bin that was observed."""

from __future__ import annotations

import numpy as np
import polars as pl

from fleetcast.errors import FleetcastError

GRANULARITIES = {"1min": 60, "5min": 300, "15min": 900, "1h": 3600, "1d": 86400}
DEFAULT_GRANULARITIES = ("1min", "5min", "15min", "1h", "1d")


def seconds(granularity: str) -> int:
    """Width of a granularity in seconds.

    Examples
    --------
    >>> seconds("15min")
    900
    """
    try:
        return GRANULARITIES[granularity]
    except KeyError:
        known = ", ".join(GRANULARITIES)
        raise FleetcastError(f"unknown granularity {granularity!r} (use one of {known})") from None


def parse_granularities(text: str) -> tuple[str, ...]:
    """Parse a comma-separated list such as ``"5min,1h"``, finest first.

    Examples
    --------
    >>> parse_granularities("1h, 5min,1d")
    ('5min', '1h', '1d')
    """
    names = {part.strip() for part in text.split(",") if part.strip()}
    if not names:
        raise FleetcastError("no granularity given")
    for name in names:
        seconds(name)
    return tuple(sorted(names, key=seconds))


def bin_start(ts: pl.Expr, width_s: int) -> pl.Expr:
    """The start of the ``width_s``-second bin holding ``ts`` (bins aligned on the UTC epoch)."""
    epoch = ts.dt.epoch("s")
    return pl.from_epoch(epoch - epoch % width_s, time_unit="s").cast(pl.Datetime("us"))


def covered_seconds(starts_s: np.ndarray, width_s: int, spans_s: np.ndarray) -> np.ndarray:
    """Seconds of each bin ``[start, start + width)`` inside the union of disjoint sorted ``spans``.

    ``spans_s`` is an ``(n, 2)`` array of ``[begin, end)`` epoch seconds. The covered time up to
    ``t`` is piecewise linear in ``t``, so a bin's coverage is a difference of two interpolations.

    Examples
    --------
    >>> covered_seconds(np.array([0, 60, 120]), 60, np.array([[30, 90], [150, 160]]))
    array([30., 30., 10.])
    """
    if len(spans_s) == 0:
        return np.zeros(len(starts_s))
    begins, ends = spans_s[:, 0].astype(float), spans_s[:, 1].astype(float)
    lengths = ends - begins
    xs = np.column_stack([begins, ends]).ravel()
    ys = np.column_stack([np.cumsum(lengths) - lengths, np.cumsum(lengths)]).ravel()
    starts = starts_s.astype(float)
    return np.interp(starts + width_s, xs, ys) - np.interp(starts, xs, ys)
