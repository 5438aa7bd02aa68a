"""The decision loop every policy shares: hysteresis, cooldowns, step limits, min/max, warm-up.

A policy turns what it knows at each decision into a *demand*: the load the fleet must carry at the
target utilisation (the forecast's planning quantile over the warm-up window for predictive
policies, the delayed observed load for reactive ones). The loop below turns demand into a server
count per interval.

Warm-up: servers requested at decision ``t`` are billed from ``t`` but serve from ``t + warmup``.
Scale-in removes the youngest servers first, so the servers serving at ``t`` are those that
have existed since ``t - warmup``: ``warm[t] = min(servers[t - warmup .. t])``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fleetcast.scaling.policy import ScalingPolicy

_EPS = 1e-9


@dataclass(frozen=True)
class Decisions:
    """What a policy did in each replayed interval."""

    servers: np.ndarray
    action: np.ndarray
    reason: list[str]

    @property
    def events(self) -> int:
        return int(np.sum(self.action != "hold"))


def servers_needed(load: float, capacity_per_server: float, utilisation: float) -> int:
    """Fewest servers that carry ``load`` at ``utilisation`` of their capacity.

    Examples
    --------
    >>> servers_needed(700, 100, 0.7), servers_needed(701, 100, 0.7), servers_needed(0, 100, 0.7)
    (10, 11, 0)
    """
    return max(0, math.ceil(load / (capacity_per_server * utilisation) - _EPS))


def warm_servers(servers: np.ndarray, warmup: int, initial: int) -> np.ndarray:
    """Servers able to serve each interval: ``min(servers[t - warmup .. t])`` (``initial`` before 0).

    Examples
    --------
    >>> warm_servers(np.array([2, 4, 4, 4, 1, 3]), warmup=2, initial=2).tolist()
    [2, 2, 2, 4, 1, 1]
    """
    servers = np.asarray(servers, dtype=np.int64)
    if warmup == 0 or servers.size == 0:
        return servers.copy()
    padded = np.concatenate([np.full(warmup, initial, dtype=np.int64), servers])
    windows = np.lib.stride_tricks.sliding_window_view(padded, warmup + 1)
    return windows.min(axis=1)


def decide(policy: ScalingPolicy, demand: np.ndarray, capacity_per_server: float,
           initial: int) -> Decisions:
    """Run the policy's decision loop over ``demand`` (NaN: nothing known, hold).

    Parameters
    ----------
    policy
        Thresholds, periods, cooldowns, steps and bounds.
    demand
        Per interval, the load the fleet should carry at the target utilisation.
    capacity_per_server
        Load one server carries at 100%.
    initial
        Servers running (and warm) before the first interval; clipped to the policy's bounds.

    Examples
    --------
    >>> p = ScalingPolicy("p", target_utilisation=0.5, scale_in_periods=2, cooldown_in=0)
    >>> d = decide(p, np.array([100.0, 300, 300, 100, 100, 100]), 100.0, initial=2)
    >>> d.servers.tolist(), d.action.tolist()
    ([2, 6, 6, 6, 2, 2], ['hold', 'out', 'hold', 'hold', 'in', 'hold'])
    """
    p = policy
    n = demand.size
    servers = np.empty(n, dtype=np.int64)
    action = np.full(n, "hold", dtype=object)
    reason: list[str] = []
    current = _clip(initial, p)
    out_streak = in_streak = 0
    last_out = last_action = -(10**9)
    for i in range(n):
        d = float(demand[i])
        if not math.isfinite(d):
            servers[i] = current
            reason.append("hold: nothing known (no load seen: a gap or no history; no forecast)")
            continue
        raw = servers_needed(d, capacity_per_server, p.target_utilisation)
        need = _clip(raw, p)
        util = d / (current * capacity_per_server) if current else math.inf
        wants_out = need > current and util > p.scale_out_threshold + _EPS
        wants_in = need < current and util < p.scale_in_threshold - _EPS
        out_streak = out_streak + 1 if wants_out else 0
        in_streak = in_streak + 1 if wants_in else 0
        said = f"load {d:.4g} needs {need} at {p.target_utilisation:.0%} (utilisation {util:.0%})"
        if raw != need:
            said += f" [{raw} bounded by min/max servers]"
        if wants_out:
            if out_streak < p.scale_out_periods:
                why = (f"hold: {said}; above {p.scale_out_threshold:.0%} "
                       f"for {out_streak}/{p.scale_out_periods}")
            elif i - last_out < p.cooldown_out:
                why = f"hold: {said}; scale-out cooldown ({i - last_out}/{p.cooldown_out})"
            else:
                new = min(need, current + (p.step_out or need))
                why = f"out: {said}; +{new - current}"
                action[i], last_out, last_action, out_streak = "out", i, i, 0
                current = new
        elif wants_in:
            if in_streak < p.scale_in_periods:
                why = (f"hold: {said}; below {p.scale_in_threshold:.0%} "
                       f"for {in_streak}/{p.scale_in_periods}")
            elif i - last_action < p.cooldown_in:
                why = f"hold: {said}; scale-in cooldown ({i - last_action}/{p.cooldown_in})"
            else:
                new = max(need, current - (p.step_in or current))
                why = f"in: {said}; -{current - new}"
                action[i], last_action, in_streak = "in", i, 0
                current = new
        else:
            why = f"hold: {said}"
        servers[i] = current
        reason.append(why)
    return Decisions(servers, action, reason)


def _clip(count: int, p: ScalingPolicy) -> int:
    count = max(count, p.min_servers)
    return count if p.max_servers is None else min(count, p.max_servers)
