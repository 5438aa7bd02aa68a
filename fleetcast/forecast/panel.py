"""Long series data on one regular time grid: a matrix with NaN where data is missing.

The forecaster works on a *panel*: one row per series, one column per time step of a grid shared by
all series. Missing rows and null values both become NaN; nothing is ever filled with zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np
import polars as pl

from fleetcast.forecast.features import Layout, guard_spikes, local_scale
from fleetcast.forecast.frequency import Frequency, infer_frequency


class PanelError(ValueError):
    """The long data cannot be put on a regular grid (irregular times, wrong columns...)."""


@dataclass
class Panel:
    """Series on a shared grid ``start + k * freq``.

    ``values[i, k]`` is series ``ids[i]`` at step ``k`` (NaN = gap). ``last[i]`` is the index of the
    last row given for series ``i`` (its forecasts start at ``last[i] + 1``), ``first[i]`` the first.
    """

    ids: list[str]
    start: np.datetime64
    freq: Frequency
    values: np.ndarray
    first: np.ndarray
    last: np.ndarray

    @property
    def n_series(self) -> int:
        return len(self.ids)

    @property
    def length(self) -> int:
        return self.values.shape[1]

    @cached_property
    def guarded(self) -> np.ndarray:
        """``values`` with one-off bursts capped (see :func:`~fleetcast.forecast.features.guard_spikes`):
        what models learn from and read. Computed once per panel (about 0.6 s for 1,000 x 4,320)."""
        return guard_spikes(self.values, self.freq.week)

    def scale_at(self, rows: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """The local scale at each origin (:func:`~fleetcast.forecast.features.local_scale` of the
        :attr:`guarded` values): what residuals and intervals are measured in."""
        return local_scale(self.guarded, rows, origins, self.freq.week)

    @cached_property
    def last_observed(self) -> np.ndarray:
        """Index of each series' last value that is not a gap (``first - 1`` when there is none)."""
        seen = ~np.isnan(self.values[:, ::-1])
        return np.where(seen.any(axis=1), self.length - 1 - np.argmax(seen, axis=1), self.first - 1)

    def times(self, index: np.ndarray) -> np.ndarray:
        """The datetime64[us] of grid indexes."""
        step = np.timedelta64(self.freq.seconds, "s").astype("timedelta64[us]")
        return self.start + np.asarray(index, dtype=np.int64) * step

    def values_after(self, rows: np.ndarray, origins: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """The values ``steps`` after each of ``origins`` (rows x steps), NaN past each series' last one."""
        t = origins[:, None] + steps[None, :]
        inside = t <= self.last[rows][:, None]
        return np.where(inside, self.values[rows[:, None], np.minimum(t, self.length - 1)], np.nan)

    def subset(self, rows: np.ndarray) -> Panel:
        """The panel of series ``rows`` only."""
        return Panel([self.ids[i] for i in rows], self.start, self.freq, self.values[rows], self.first[rows],
                     self.last[rows])

    def truncated(self, cutoff: np.ndarray) -> Panel:
        """The same panel with every value after ``cutoff[i]`` masked (for honest backtests)."""
        values = self.values.copy()
        cols = np.arange(self.length)
        values[cols[None, :] > np.asarray(cutoff)[:, None]] = np.nan
        last = np.minimum(self.last, cutoff)
        return Panel(self.ids, self.start, self.freq, values, np.minimum(self.first, last), last)

    def fingerprint_parts(self) -> tuple[bytes, ...]:
        return (
            "\x1f".join(self.ids).encode(), str(self.start).encode(), self.freq.name.encode(),
            np.ascontiguousarray(self.values).tobytes(), self.last.tobytes(),
        )


class InsufficientHistory(ValueError):
    """No series has enough history for the requested horizon (``skipped``: why, per series)."""

    def __init__(self, message: str, skipped: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.skipped = skipped or {}


def min_history(horizon: int, layout: Layout) -> int:
    """Steps of history a series needs before a forecast of ``horizon`` steps can be backtested."""
    return horizon + max(2 * layout.day, 28)


def first_origins(panel: Panel, layout: Layout) -> np.ndarray:
    """Each series' first origin with history enough before it for a backtest window."""
    return panel.first + min_history(0, layout) - 1


def usable_series(panel: Panel, horizon: int, layout: Layout) -> tuple[Panel, dict[str, str]]:
    """The panel without the series too short for ``horizon`` (:func:`min_history`, half of it
    observed) or whose last values are missing for longer than the horizon, and why each was left
    out; raises :class:`InsufficientHistory` when none is left.

    A series whose last ``k`` rows are gaps is forecast ``k`` steps further ahead, from its last value
    (see :func:`fleetcast.forecast.engine.fit_forecast`), so it needs the history of a ``horizon + k``
    step forecast.
    """
    silent = panel.last - panel.last_observed
    late = np.where(silent <= horizon, silent, 0)  # the gaps forecast over; longer silences are left out
    need = min_history(horizon + late, layout)
    observed = np.sum(~np.isnan(panel.values), axis=1)
    span = panel.last - panel.first + 1
    long_enough = (span >= need) & (observed >= need // 2)
    ok = long_enough & (silent <= horizon)
    skipped = {
        sid: (f"its last {int(gap)} steps are gaps, more than the horizon: nothing recent to forecast from"
              if enough else
              f"too little history for a {horizon}-step forecast at {panel.freq.name}: {int(obs)} values over "
              f"{int(sp)} steps (needs {int(nd)} steps, half of them observed"
              + (f", counting the {int(k)} gaps at its end)" if k else ")"))
        for sid, good, enough, obs, sp, nd, gap, k in zip(panel.ids, ok, long_enough, observed, span, need, silent,
                                                          late, strict=True)
        if not good
    }
    if not ok.any():
        listed = list_reasons(skipped)
        raise InsufficientHistory(listed if len(skipped) == 1 else f"all {len(skipped)} series: {listed}", skipped)
    return (panel if ok.all() else panel.subset(np.flatnonzero(ok))), skipped


def list_reasons(reasons: dict[str, str], most: int = 5) -> str:
    """``'a': why; 'b': why; and 3 more`` for messages.

    Examples
    --------
    >>> list_reasons({"a": "short", "b": "empty"}, most=1)
    "'a': short; and 1 more"
    """
    shown = "; ".join(f"{sid!r}: {why}" for sid, why in list(reasons.items())[:most])
    return shown + (f"; and {len(reasons) - most} more" if len(reasons) > most else "")


def to_panel(history: pl.DataFrame, freq: str | Frequency | None = None, *, series: str = "series_id",
             ts: str = "ts", value: str = "value", snap: bool = False) -> Panel:
    """Put long data ``series_id, ts, value`` on a regular grid.

    Parameters
    ----------
    history
        One row per series and time; ``series`` may be absent (one series named ``"series"``).
        Null values and absent rows are gaps.
    freq
        The grid step; inferred when None (every time gap must be a multiple of the smallest one).
    snap
        Floor times that are off the grid onto it (otherwise they are an error).

    Examples
    --------
    >>> from datetime import datetime
    >>> df = pl.DataFrame({"ts": [datetime(2024, 1, 1, 0, m) for m in (0, 5, 15)],
    ...                    "value": [1.0, None, 3.0]})
    >>> p = to_panel(df)
    >>> p.freq.name, p.values.tolist(), p.last.tolist()
    ('5min', [[1.0, nan, nan, 3.0]], [3])
    """
    for column in (ts, value):
        if column not in history.columns:
            raise PanelError(f"missing column {column!r}")
    frame = history.select(
        (pl.col(series).cast(pl.String) if series in history.columns else pl.lit("series")).alias("sid"),
        pl.col(ts).cast(pl.Datetime("us")).alias("ts"),
        pl.col(value).cast(pl.Float64).fill_nan(None).alias("value"),
    ).drop_nulls("ts")
    if frame.height == 0:
        raise PanelError("no rows")
    stamps = frame["ts"].to_numpy().astype("datetime64[us]")
    if freq is None:
        inferred = _infer_per_series(frame)
        if inferred is None:
            raise PanelError("the times are not on a regular grid; give the frequency (e.g. --freq 5min)")
        freq = inferred
    freq = Frequency.parse(freq)
    start = stamps.min()
    offset = (stamps - start).astype("timedelta64[s]").astype(np.int64)
    if not snap and np.any(offset % freq.seconds):
        raise PanelError(f"some times are not on the {freq.name} grid starting at {start}")
    index = offset // freq.seconds
    codes = (frame["sid"].rank("dense").cast(pl.Int64) - 1).to_numpy()  # ids in sorted order
    ids = frame["sid"].unique().sort().to_list()
    n, length = len(ids), int(index.max()) + 1
    values = _mean_into(codes, index, frame["value"].to_numpy(), n, length)
    first = np.full(n, length, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    np.minimum.at(first, codes, index)
    np.maximum.at(last, codes, index)
    return Panel(ids, start, freq, values, first, last)


def _infer_per_series(frame: pl.DataFrame) -> Frequency | None:
    steps = set()
    for _, group in frame.group_by("sid"):
        found = infer_frequency(group["ts"].to_numpy())
        if found is None and group.height > 1:
            return None
        if found is not None:
            steps.add(found.seconds)
    return Frequency(min(steps)) if steps else None


def _mean_into(codes: np.ndarray, index: np.ndarray, value: np.ndarray, n: int, length: int) -> np.ndarray:
    """Average the values that land in the same cell; cells with no non-null value are NaN."""
    value = np.asarray(value, dtype=np.float64)
    ok = ~np.isnan(value)
    flat = codes[ok].astype(np.int64) * length + index[ok]
    sums = np.bincount(flat, weights=value[ok], minlength=n * length)
    counts = np.bincount(flat, minlength=n * length)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return out.reshape(n, length)


def panel_frame(panel: Panel, rows: np.ndarray, index: np.ndarray, columns: dict[str, np.ndarray]) -> pl.DataFrame:
    """A long frame ``series_id, ts, <columns>`` for (series row, grid index) pairs."""
    ids = np.asarray(panel.ids, dtype=object)[rows]
    return pl.DataFrame({
        "series_id": pl.Series(ids.tolist(), dtype=pl.String),
        "ts": pl.Series(panel.times(index)).cast(pl.Datetime("us")),
        **{name: pl.Series(np.asarray(v, dtype=np.float64)) for name, v in columns.items()},
    })


def as_datetime(value: np.datetime64) -> datetime:
    return value.astype("datetime64[us]").item()
