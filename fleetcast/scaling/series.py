"""A load series on a regular time grid, with gaps kept as NaN (never zero).

The simulator and the planners index time by grid position: interval ``k`` covers
``[start + k*step, start + (k+1)*step)``. Missing rows and null values are gaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl

from fleetcast.errors import FleetcastError
from fleetcast.forecast.frequency import Frequency, infer_frequency


@dataclass(frozen=True)
class LoadSeries:
    """Load per interval on the grid ``start + k * freq`` (``values[k]`` is NaN in a gap).

    Examples
    --------
    >>> frame = pl.DataFrame({"ts": [datetime(2024, 1, 1, 0, 0), datetime(2024, 1, 1, 0, 10)],
    ...                       "value": [5.0, 7.0]})
    >>> s = LoadSeries.from_frame(frame, "5min")
    >>> s.freq.name, s.values.tolist()
    ('5min', [5.0, nan, 7.0])
    """

    start: np.datetime64
    freq: Frequency
    values: np.ndarray

    def __len__(self) -> int:
        return int(self.values.size)

    @property
    def step(self) -> np.timedelta64:
        return np.timedelta64(self.freq.seconds, "s").astype("timedelta64[us]")

    @property
    def step_hours(self) -> float:
        return self.freq.seconds / 3600.0

    def times(self, index: np.ndarray | None = None) -> np.ndarray:
        """datetime64[us] of grid positions (all of them when ``index`` is None)."""
        idx = np.arange(len(self)) if index is None else np.asarray(index, dtype=np.int64)
        return self.start.astype("datetime64[us]") + idx * self.step

    def index_of(self, when: datetime | np.datetime64) -> int:
        """Grid position of the first interval starting at or after ``when`` (may be ``len``)."""
        offset = (np.datetime64(when, "us") - self.start.astype("datetime64[us]")) / self.step
        return int(np.clip(np.ceil(offset), 0, len(self)))

    def history_frame(self, end: int) -> pl.DataFrame:
        """Observed rows ``ts, value`` strictly before grid position ``end`` (gaps left out)."""
        end = max(0, min(end, len(self)))
        vals = self.values[:end]
        keep = np.isfinite(vals)
        return pl.DataFrame({"ts": self.times(np.flatnonzero(keep)), "value": vals[keep]},
                            schema={"ts": pl.Datetime("us"), "value": pl.Float64})

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, freq: str | Frequency | None = None, *,
                   ts: str = "ts", value: str = "value") -> LoadSeries:
        """Put ``ts, value`` rows on their grid; the step is inferred when ``freq`` is None.

        Duplicate timestamps are summed (two files sharing a bin add up); null values are gaps.
        """
        if frame.height == 0:
            raise FleetcastError("the load series has no rows")
        summed = pl.when(pl.col("value").count() > 0).then(pl.col("value").sum())
        rows = (frame.select(pl.col(ts).cast(pl.Datetime("us")).alias("ts"),
                             pl.col(value).cast(pl.Float64).alias("value"))
                .drop_nulls("ts").group_by("ts").agg(summed).sort("ts"))
        t = rows["ts"].to_numpy().astype("datetime64[us]")
        step = Frequency.parse(freq) if freq is not None else infer_frequency(t)
        if step is None:
            if t.size < 2:
                raise FleetcastError("the load series needs at least two timestamps to infer its step")
            raise FleetcastError("timestamps are not on a regular grid (every gap must be a whole "
                                 "number of steps)")
        us = step.seconds * 1_000_000
        offsets = (t - t[0]).astype(np.int64)
        if np.any(offsets % us):
            raise FleetcastError(f"timestamps are not on the {step.name} grid starting at {t[0]}")
        values = np.full(int(offsets[-1] // us) + 1, np.nan)
        values[offsets // us] = rows["value"].to_numpy().astype(float)
        return cls(t[0], step, values)
