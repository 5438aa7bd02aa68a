"""Plans per interval: forecasts made on a schedule, turned into demand, run through the decision loop.

No peeking: the forecast used at decision ``t`` was made at the last refresh ``r <= t`` from loads
up to ``r - 1 - metric_delay``, and the observed load a decision sees is ``load[t - 1 - metric_delay]``.
A plan for ``t`` is therefore the same whether or not anything after ``t`` exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from fleetcast.scaling.engine import Decisions, decide, servers_needed, warm_servers
from fleetcast.scaling.policy import ScalingPolicy
from fleetcast.scaling.series import LoadSeries

Forecaster = Callable[[pl.DataFrame, int, str], pl.DataFrame]
"""``forecaster(history[ts, value], horizon, freq) -> frame[ts, yhat, lo80, hi80, lo95, hi95]``."""

_COLUMNS = ("yhat", "hi80", "hi95")


@dataclass(frozen=True)
class ForecastBook:
    """Forecasts made at refresh times ``start + k * every`` (grid positions), one row per refresh.

    ``columns[c][k, j]`` is column ``c`` of refresh ``k`` for grid position ``refresh_k + j``
    (NaN where the forecaster gave nothing).
    """

    start: int
    every: int
    delay: int
    columns: dict[str, np.ndarray]

    def window_max(self, column: str, lead: int, positions: np.ndarray) -> np.ndarray:
        """For each grid position ``t``, the max of ``column`` over ``t .. t + lead`` (latest refresh)."""
        values = self.columns[column]
        k = (positions - self.start) // self.every
        offset = positions - (self.start + k * self.every)
        windows = np.lib.stride_tricks.sliding_window_view(values, lead + 1, axis=1)
        with np.errstate(invalid="ignore"):
            peaks = np.max(windows, axis=2)  # NaN anywhere in the window -> NaN (nothing planned)
        return peaks[k, offset]


def forecast_book(load: LoadSeries, start: int, forecaster: Forecaster, *, every: int, lead: int,
                  delay: int) -> ForecastBook:
    """Forecast from every refresh time in ``[start, len(load))`` with only data known then.

    Parameters
    ----------
    load
        The whole series; only positions before ``refresh - delay`` are shown to the forecaster.
    every
        Intervals between refreshes (e.g. 12 = hourly on 5-minute data).
    lead
        Largest warm-up of the policies that will read the book (they look ``lead`` steps ahead).
    delay
        Metric delay of those policies.

    Examples
    --------
    >>> from fleetcast.scaling.baseline import SeasonalBaseline
    >>> s = LoadSeries(np.datetime64("2024-01-01T00:00"), __import__("fleetcast.forecast.frequency",
    ...     fromlist=["Frequency"]).Frequency.parse("1h"), np.tile(np.r_[np.full(8, 10.0),
    ...     np.full(16, 40.0)], 10))
    >>> book = forecast_book(s, 216, SeasonalBaseline(), every=6, lead=1, delay=0)
    >>> book.columns["yhat"].shape, round(float(book.columns["yhat"][0, 0]), 1)
    ((4, 7), 10.0)
    """
    refreshes = np.arange(start, len(load), every)
    span = every + lead
    columns = {c: np.full((refreshes.size, span), np.nan) for c in _COLUMNS}
    for k, refresh in enumerate(refreshes):
        history = load.history_frame(int(refresh) - delay)
        if history.height == 0:
            continue
        last = int(round((np.datetime64(history["ts"][-1], "us") - load.start) / load.step))
        horizon = int(refresh) + span - 1 - last
        out = forecaster(history, horizon, load.freq.name)
        pos = np.rint((out["ts"].to_numpy().astype("datetime64[us]") - load.start) / load.step)
        j = pos.astype(np.int64) - int(refresh)
        keep = (j >= 0) & (j < span)
        for c in _COLUMNS:
            columns[c][k, j[keep]] = out[c].to_numpy()[keep]
    return ForecastBook(start, every, delay, columns)


@dataclass(frozen=True)
class Plan:
    """A policy's plan over the replay ``[start, start + len(servers))`` of a load series.

    ``servers`` are running (and billed) in each interval, ``warm`` of them serve; ``demand`` is
    the load the policy planned for (NaN when it knew nothing); ``action`` is out, in or hold.
    """

    name: str
    kind: str
    start: int
    demand: np.ndarray
    servers: np.ndarray
    warm: np.ndarray
    action: np.ndarray
    reason: list[str]

    @property
    def events(self) -> int:
        return int(np.sum(self.action != "hold"))


def observed_demand(load: LoadSeries, start: int, delay: int) -> np.ndarray:
    """Per replayed interval ``t``, the load a policy has seen last: ``load[t - 1 - delay]`` (NaN in gaps)."""
    positions = np.arange(start, len(load)) - 1 - delay
    seen = np.full(positions.size, np.nan)
    ok = positions >= 0
    seen[ok] = load.values[positions[ok]]
    return seen


def plan(policy: ScalingPolicy, load: LoadSeries, start: int, capacity_per_server: float,
         book: ForecastBook | None = None) -> Plan:
    """The policy's servers for every interval from ``start`` to the end of ``load``.

    Reactive policies carry the observed load (``metric_delay`` late). Predictive ones carry the
    forecast's ``quantile`` at its highest over the next ``warmup`` intervals (servers launched
    now serve then), floored by the observed load: they never scale in below what the load just
    seen needs, and the floor also scales out when the forecast falls short.

    Examples
    --------
    >>> from fleetcast.forecast.frequency import Frequency
    >>> from fleetcast.scaling.policy import PRESETS
    >>> s = LoadSeries(np.datetime64("2024-01-01"), Frequency.parse("5min"),
    ...                np.array([100.0, 100, 100, 500, 500, 500, 500, 100]))
    >>> plan(PRESETS["reactive"], s, 2, capacity_per_server=100).servers.tolist()
    [2, 2, 2, 8, 8, 8]
    """
    seen = observed_demand(load, start, policy.metric_delay)
    if policy.kind == "reactive" or book is None:
        demand = seen
    else:
        if book.delay != policy.metric_delay or book.start != start:
            raise ValueError("the forecast book was made for another start or metric delay")
        ahead = book.window_max(policy.quantile, policy.warmup, np.arange(start, len(load)))
        demand = np.fmax(ahead, seen)
    initial = _initial_servers(policy, load, start, capacity_per_server, demand)
    made: Decisions = decide(policy, demand, capacity_per_server, initial)
    warm = warm_servers(made.servers, policy.warmup, initial)
    return Plan(policy.name, policy.kind, start, demand, made.servers, warm, made.action, made.reason)


def _initial_servers(policy: ScalingPolicy, load: LoadSeries, start: int, capacity: float,
                     demand: np.ndarray) -> int:
    """The fleet at the replay's start: right-sized for the first decision's demand (known before
    ``start``), else for the last load seen before it, else the policy's minimum."""
    if demand.size and np.isfinite(demand[0]):
        return servers_needed(float(demand[0]), capacity, policy.target_utilisation)
    before = load.values[: max(start - policy.metric_delay, 0)]
    seen = before[np.isfinite(before)]
    return servers_needed(float(seen[-1]), capacity, policy.target_utilisation) if seen.size else 0
