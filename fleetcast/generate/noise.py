"""Random parts of the server series: correlated noise, busy and quiet days, short spikes.

Noise on a server metric is the sum of three unit-variance AR(1) processes: one shared by every
server of the archetype (a traffic surprise hits all web servers), one shared by the server's own
metrics (a busy server is busy on cpu and network at once) and one of its own. Day-to-day
variation (a busier Tuesday) is a separate AR(1) over days with the same three-way sharing.
"""

from __future__ import annotations

import numpy as np

SHARED_BY_ARCHETYPE = 0.55
SHARED_BY_SERVER = 0.6


def ar1(rng: np.random.Generator, n_series: int, n_steps: int, phi: float) -> np.ndarray:
    """Stationary unit-variance AR(1) paths, shape ``(n_series, n_steps)``.

    The recursion runs over time with all series at once, in plain float arithmetic, so the result
    is identical on every machine for the same generator state.

    Examples
    --------
    >>> paths = ar1(np.random.default_rng(0), 200, 400, 0.9)
    >>> round(float(paths.std()), 1)
    1.0
    >>> round(float(np.corrcoef(paths[:, 1:].ravel(), paths[:, :-1].ravel())[0, 1]), 1)
    0.9
    """
    shocks = rng.standard_normal((n_steps, n_series)) * np.sqrt(1.0 - phi * phi)
    shocks[0] = rng.standard_normal(n_series)
    for t in range(1, n_steps):  # in place: shocks[t] becomes the path's value at t
        shocks[t] += phi * shocks[t - 1]
    return np.ascontiguousarray(shocks.T)


def mixed(rng: np.random.Generator, groups: np.ndarray, n_metrics: int, n_steps: int,
          phi: float) -> np.ndarray:
    """Correlated noise ``(servers, n_metrics, n_steps)`` for servers in archetype ``groups``.

    Examples
    --------
    >>> z = mixed(np.random.default_rng(0), np.array([0, 0, 1]), 2, 3000, 0.8)
    >>> corr = np.corrcoef(z.reshape(6, -1))
    >>> bool(corr[0, 1] > corr[0, 2] > corr[0, 4])   # same server > same archetype > others
    True
    """
    n_servers = len(groups)
    by_group = ar1(rng, int(groups.max()) + 1, n_steps, phi)[groups][:, None, :]
    by_server = ar1(rng, n_servers, n_steps, phi)[:, None, :]
    out = ar1(rng, n_servers * n_metrics, n_steps, phi).reshape(n_servers, n_metrics, n_steps)
    out *= np.sqrt(1.0 - SHARED_BY_ARCHETYPE**2 - SHARED_BY_SERVER**2)
    out += SHARED_BY_ARCHETYPE * by_group
    out += SHARED_BY_SERVER * by_server
    return out


def step_phi(phi_per_hour: float, minutes: int) -> float:
    """The AR(1) coefficient per step that gives ``phi_per_hour`` after one hour.

    Examples
    --------
    >>> round(step_phi(0.8, 15), 4)
    0.9457
    """
    return phi_per_hour ** (minutes / 60.0)


def spikes(rng: np.random.Generator, n_series: int, n_steps: int, minutes: int,
           per_day: float) -> np.ndarray:
    """Short additive spikes (10–60 minutes, height 0.25–0.7) at ``per_day`` spikes a day per series.

    At most an hour long, a lone spike barely moves a daily P95: it is noise, not a trend.

    Examples
    --------
    >>> bumps = spikes(np.random.default_rng(1), 4, 24 * 60, 60, per_day=0.1)
    >>> bool((bumps > 0).any()), float(bumps.max()) <= 0.7
    (True, True)
    """
    out = np.zeros((n_series, n_steps))
    counts = rng.poisson(per_day * n_steps * minutes / 1440.0, n_series)
    for series, count in enumerate(counts):
        starts = rng.integers(0, n_steps, count)
        lengths = np.maximum(1, np.round(rng.uniform(10, 60, count) / minutes)).astype(int)
        heights = rng.uniform(0.25, 0.7, count)
        for at, length, height in zip(starts, lengths, heights, strict=True):
            out[series, at:at + length] += height
    return out
