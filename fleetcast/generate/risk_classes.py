"""The risk classes a generated fleet holds by construction, and how each is built.

A server metric is ``floor + scale * y(t)``, clipped to 0–100, where ``y`` is the archetype shape
times growth, with noise and spikes. Its daily P95 is then exactly ``floor + scale * Q[d]`` (``Q``
= daily P95 of ``y``) until the clip at 100 matters. So a class ("first crosses 80% between day 3
and day 29 of the future, not before") is an interval of scales, computed from ``Q`` of the realised
noise: the class holds for this very draw, not only on average. Must-cross bounds use ``Q``
without spikes, so the crossing comes from trend and seasonality, not from a lucky spike;
must-not-cross bounds use ``Q`` with spikes, so a spike cannot break them. When a draw leaves no
room on the preferred metric (a busy spell at the end of the history as high as anything ahead),
the server's other metrics are tried; if none fits, the nearest scale is kept and the truth, as
always, says what happened (about 1 server in 3,000 over seeds 0–99).

Classes (``driver`` = the one metric that carries the risk; the server's other metrics stay below
``NORMAL_CAP``):

========================  ==========================================================================
``cross_90_30d``          driver's daily P95 first above 90% on future day 3–29 (so also above 80%)
``cross_80_30d``          above 80% first on day 3–29, not above 90% within 30 days, not above 80%
                          in the last 2 weeks of history
``cross_80_90d``          above 80% first on day 30–89 (mostly 35 or later), not in the last 2 weeks
``saturated``             daily P95 already ~92–97% over the last two weeks of history, still rising
``cooling``               above 80% in the last month of history, shrinking, never above 80% again
``incident``              normal, but one multi-hour cpu incident above 84% in the last month
``idle``                  every metric's mean below 40% (cpu 8–30%)
``very_idle``             cpu mean 1–4.5%, other metrics low too
``normal``                every metric's daily P95 below 68–78% over history and future (idle: 50%)
========================  ==========================================================================
"""

from __future__ import annotations

import numpy as np

SHARES = {
    "cross_90_30d": 0.10, "cross_80_30d": 0.10, "cross_80_90d": 0.10, "saturated": 0.07,
    "cooling": 0.07, "incident": 0.07, "idle": 0.10, "very_idle": 0.07,
}
CLASSES = (*SHARES, "normal")
MIN_SERVERS = 10
NORMAL_CAP = (68.0, 78.0)
# load growth per year by class; memory has its own (slower) growth unless it is the driver
GROWTH = {
    "cross_90_30d": (0.6, 1.3), "cross_80_30d": (0.6, 1.3), "cross_80_90d": (0.6, 1.2),
    "saturated": (0.0, 0.3), "cooling": (-2.5, -1.6), "incident": (-0.25, 0.3), "normal": (-0.25, 0.3),
    "idle": (-0.3, 0.1), "very_idle": (-0.3, 0.1),
}
MEMORY_DRIVER_GROWTH = {"cross_90_30d": (0.3, 0.6), "cross_80_30d": (0.3, 0.6), "cross_80_90d": (0.25, 0.5),
                        "saturated": (0.0, 0.15)}
DRIVERS = {
    "web": (("cpu", "network"), (0.7, 0.3)),
    "database": (("memory", "cpu", "disk_io"), (0.6, 0.25, 0.15)),
    "batch": (("cpu", "disk_io"), (0.7, 0.3)),
}
DRIVEN = ("cross_90_30d", "cross_80_30d", "cross_80_90d", "saturated", "cooling")


def plan(n_servers: int) -> list[str]:
    """How many servers of each class a fleet of ``n_servers`` gets, as a list of class names.

    Every class gets at least one server; ``normal`` takes the rest.

    Examples
    --------
    >>> from collections import Counter
    >>> Counter(plan(30))["normal"], Counter(plan(30))["cross_80_30d"]
    (10, 3)
    """
    if n_servers < MIN_SERVERS:
        raise ValueError(f"n_servers must be at least {MIN_SERVERS} to hold every risk class")
    counts = {name: max(1, round(share * n_servers)) for name, share in SHARES.items()}
    counts["normal"] = n_servers - sum(counts.values())
    return [name for name in CLASSES for _ in range(counts[name])]


def driver_candidates(rng: np.random.Generator, archetype: str, risk_class: str) -> list[str]:
    """Metrics that may carry the class's risk on a server of ``archetype``, preferred first.

    Empty for classes without a driver. The first is drawn with the archetype's weights (web: cpu
    or network; database: mostly memory; batch: cpu or disk I/O); the others are fall-backs
    (memory only on databases, and never for ``cooling``).

    Examples
    --------
    >>> driver_candidates(np.random.default_rng(0), "web", "normal")
    []
    >>> sorted(driver_candidates(np.random.default_rng(0), "database", "cooling"))
    ['cpu', 'disk_io', 'network']
    """
    names, weights = DRIVERS[archetype]
    first = str(rng.choice(names, p=weights))
    if risk_class not in DRIVEN:
        return []
    others = [name for name in (*names, "cpu", "network", "disk_io") if name != first]
    ordered = list(dict.fromkeys([first, *others]))
    return [name for name in ordered if not (risk_class == "cooling" and name == "memory")]


def _need(q: np.ndarray, floor: float, threshold: float, lo: int, hi: int) -> float:
    """The smallest scale at which some day in ``[lo, hi)`` has a daily P95 above ``threshold``."""
    return (threshold - floor) / max(float(q[lo:hi].max()), 1e-9)


def _between(lo: float, hi: float, u: float, *, keep: str = "lo") -> tuple[float, bool]:
    """A scale inside ``(lo, hi)`` (geometric position ``u``) and True; without room, one just past
    the ``keep`` bound and False."""
    if hi > lo * 1.015:
        return lo * (hi / lo) ** u, True
    return (lo * 1.02 if keep == "lo" else hi * 0.98), False


def driver_scale(risk_class: str, q_base: np.ndarray, q_full: np.ndarray, floor: float, history_days: int,
                 rng: np.random.Generator) -> tuple[float, bool]:
    """Scale of the driver metric that puts it in ``risk_class``, and whether this draw allows it.

    ``q_base`` and ``q_full`` are the daily P95 of the unscaled series without and with spikes,
    history days first; day ``history_days`` is the first future day. When the noise of this draw
    leaves no room (say, a busy week just before the end of history is as high as anything in the
    future), the scale returned is the nearest one and the flag is False: try another metric.

    Examples
    --------
    >>> q = np.linspace(0.5, 1.0, 300)          # steady growth, 180 days of history
    >>> scale, ok = driver_scale("cross_80_30d", q, q, 0.0, 180, np.random.default_rng(0))
    >>> first = int(np.flatnonzero(scale * q > 80)[0]) - 180
    >>> ok, 3 <= first < 30
    (True, True)
    """
    h, u = history_days, rng.uniform(0.3, 0.7)
    target = rng.uniform(92.0, 97.0)
    if risk_class == "cross_90_30d":
        lo = _need(q_base, floor, 90, h + 5, h + 30)
        return _between(lo, _need(q_full, floor, 90, h - 14, h + 3), u)
    if risk_class == "cross_80_30d":
        lo = _need(q_base, floor, 80, h + 3, h + 30)
        hi = min(_need(q_full, floor, 90, h, h + 30), _need(q_full, floor, 80, h - 14, h + 3))
        return _between(lo, hi, u)
    if risk_class == "cross_80_90d":
        lo = _need(q_base, floor, 80, h + 35, h + 90)
        return _between(lo, _need(q_full, floor, 80, h - 14, h + 30), u)
    if risk_class == "saturated":
        return (target - floor) / float(np.median(q_base[h - 14:h])), True
    if risk_class == "cooling":
        lo = _need(q_base, floor, 80, h - 30, h)
        return _between(lo, _need(q_full, floor, 80, h, len(q_full)), u, keep="hi")
    raise ValueError(f"{risk_class!r} has no driver metric")


def capped_scale(natural: float, q_full: np.ndarray, floor: float, cap: float) -> float:
    """``natural``, lowered where needed so that no daily P95 ever goes above ``cap``.

    Examples
    --------
    >>> capped_scale(100.0, np.array([0.5, 0.9]), 5.0, 50.0)
    50.0
    """
    return min(natural, (cap - floor) / max(float(q_full.max()), 1e-9))
