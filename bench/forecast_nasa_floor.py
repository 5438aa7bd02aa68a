"""How low can RMSE go on the NASA protocols of issue 3? Linear references, hindsight fits, noise.

For each protocol one linear regression (least squares) uses only what a forecaster has at the
origin: for a target ``t`` forecast from origin ``o``, values up to ``o`` (the same slot on the
latest days and weeks at or before ``o``, slot means over 7 days and 4 weeks, the previous day's
mean, the last value) and the calendar of ``t`` (hour and weekday dummies). Its RMSE on the test
period is printed twice:

- ``linear``: fitted on the training period, the same protocol repeated from each training day's
  00:00 (an honest forecaster);
- ``hindsight``: fitted *on the test period itself*. Its coefficients are chosen knowing the
  answers, so this is optimistic; a goal at or below it asks for more than this information gives
  a linear model even in hindsight. It is not a strict bound for other models: with only 9 origins,
  origin-level features (previous day, last value) can absorb each test day's level in hindsight,
  which is why the hourly protocol's hindsight figure is far below its honest one.

The noise of the 5-minute counts is estimated from second differences (``y[t-1] - 2 y[t] + y[t+1]``
has variance ``6 sigma^2`` where the underlying rate is locally linear), and a hindsight regression
that also sees the *next* 12 bins shows what interpolation, not forecasting, reaches.

    .venv/bin/python bench/forecast_nasa_floor.py
"""

from __future__ import annotations

import numpy as np
from forecast_nasa import REFERENCE, TEST_END, TEST_START, load

from fleetcast.forecast.features import History, Layout
from fleetcast.forecast.frequency import Frequency

DAY_5MIN, WEEK_5MIN = 288, 2016


def dummies(codes: np.ndarray, n: int) -> np.ndarray:
    return (codes[:, None] == np.arange(n)[None, :]).astype(np.float64)


def fit_rmse(X: np.ndarray, actual: np.ndarray, fit_rows: np.ndarray, score_rows: np.ndarray) -> float:
    """RMSE on ``score_rows`` of least squares fitted on ``fit_rows`` (rows with a NaN are skipped)."""
    ok = ~np.isnan(X).any(axis=1) & ~np.isnan(actual)
    fit, score = fit_rows & ok, score_rows & ok
    coef, *_ = np.linalg.lstsq(X[fit], actual[fit], rcond=None)
    return float(np.sqrt(np.mean((X[score] @ coef - actual[score]) ** 2)))


def calendar(ts: np.ndarray) -> np.ndarray:
    """Hour-of-day and day-of-week (Monday 0) dummies of the wall-clock times ``ts``."""
    days = ts.astype("datetime64[D]")
    hours = ((ts - days) // np.timedelta64(1, "h")).astype(np.int64)
    return np.hstack([dummies(hours, 24), dummies((days.astype(np.int64) + 3) % 7, 7)])


def grid(resolution: str) -> tuple[History, np.ndarray, int, int]:
    """The series as fleetcast's feature :class:`History` (its lags and slot means are reused here),
    its times, and where the test period starts and ends."""
    data = load(resolution)
    ts = data["ts"].to_numpy().astype("datetime64[us]")
    freq = Frequency.parse(resolution)
    hist = History(data["value"].to_numpy().astype(np.float64)[None, :], Layout.for_freq(freq), ts[0], freq)
    return hist, ts, int(np.searchsorted(ts, TEST_START)), int(np.searchsorted(ts, TEST_END))


def lagged(hist: History, t: np.ndarray, back: np.ndarray | int) -> np.ndarray:
    """``y[t - back]`` (NaN outside the series)."""
    return hist.value_at(np.zeros(t.size, np.int64), t - back)


def one_step_features(hist: History, ts: np.ndarray, t: np.ndarray, ahead: int = 0) -> np.ndarray:
    """Lags 1-12, the day and week lags and the calendar; ``ahead`` > 0 adds the next bins too."""
    return np.column_stack([*(lagged(hist, t, k) for k in range(1, 13)), lagged(hist, t, DAY_5MIN),
                            lagged(hist, t, WEEK_5MIN), *(lagged(hist, t, -k) for k in range(1, ahead + 1)),
                            calendar(ts[t])])


def origin_features(hist: History, ts: np.ndarray, t: np.ndarray, o: np.ndarray) -> np.ndarray:
    """What is known at origin ``o`` about target ``t``: the same slot on the latest days and weeks,
    slot means over 7 days and 4 weeks, the previous day's mean, the last value; and the calendar."""
    day, week = hist.layout.day, hist.layout.week
    rows = np.zeros(t.size, np.int64)
    back_day, back_week = -(-(t - o) // day), -(-(t - o) // week)
    return np.column_stack([
        lagged(hist, t, day * back_day), lagged(hist, t, day * (back_day + 1)), lagged(hist, t, week * back_week),
        lagged(hist, t, week * (back_week + 1)), hist.slot_mean(rows, t, back_week, week, 4),
        hist.slot_mean(rows, t, back_day, day, 7), hist.rolling(rows, o, day)[0], lagged(hist, o, 0),
        calendar(ts[t])])


def daily_pairs(first: int, end: int, day: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(target, origin) of every step forecast from each day's 00:00 in ``[first, end)``, keeping
    targets before ``end``."""
    origins = np.arange(first, end, day) - 1
    t = (origins[:, None] + np.arange(1, horizon + 1)[None, :]).ravel()
    o = np.repeat(origins, horizon)
    keep = t < end
    return t[keep], o[keep]


def protocol_rmse(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray
                  ) -> tuple[float, float]:
    """(fitted on the training period, fitted on the test period itself) RMSE on the test period."""
    X, actual = np.vstack([X_train, X_test]), np.r_[y_train, y_test]
    test = np.r_[np.zeros(y_train.size, bool), np.ones(y_test.size, bool)]
    return fit_rmse(X, actual, ~test, test), fit_rmse(X, actual, test, test)


def print_daily_totals(y: np.ndarray, ts: np.ndarray, start: int, end: int) -> None:
    """Requests per test day, and their range on the fully logged weekdays of the 3 weeks before."""
    days = ts.astype("datetime64[D]")
    test_days = np.unique(days[start:end])
    before = [d for d in np.arange(test_days[0] - 21, test_days[0])
              if (d.astype(np.int64) + 3) % 7 < 5 and not np.isnan(y[days == d]).any()]
    usual = [y[days == d].sum() for d in before]
    print(f"\nrequests a day on {len(before)} fully logged weekdays of the 3 weeks before the test: "
          f"{min(usual):,.0f} - {max(usual):,.0f}; test days: "
          + ", ".join(f"{str(d)[5:]} {np.nansum(y[days == d]):,.0f}" for d in test_days))


def main() -> None:
    hist, ts, start, end = grid("5min")
    y = hist.y[0]
    test = y[start:end]
    second = test[:-2] - 2 * test[1:-1] + test[2:]
    print(f"NASA 5-min test period: mean {np.nanmean(test):.1f} requests per bin; noise sd from second "
          f"differences {np.sqrt(np.nanmean(second**2) / 6):.1f}\n")
    warm = 2 * WEEK_5MIN  # training targets start once two weeks of history exist
    results = {}
    tt, ot = daily_pairs(warm, start, DAY_5MIN, DAY_5MIN)
    t, o = daily_pairs(start, end, DAY_5MIN, DAY_5MIN)
    results["da"] = protocol_rmse(origin_features(hist, ts, tt, ot), y[tt], origin_features(hist, ts, t, o), y[t])
    tt, ot = daily_pairs(warm, start, DAY_5MIN, end - start)
    t = np.arange(start, end)
    o = np.full(t.size, start - 1)
    results["so"] = protocol_rmse(origin_features(hist, ts, tt, ot), y[tt], origin_features(hist, ts, t, o), y[t])
    tt = np.arange(warm, start)
    results["os"] = protocol_rmse(one_step_features(hist, ts, tt), y[tt], one_step_features(hist, ts, t), y[t])
    every = np.ones(t.size, bool)
    interpolation = fit_rmse(one_step_features(hist, ts, t, ahead=12), y[t], every, every)
    hourly, hts, hstart, hend = grid("1h")
    hy = hourly.y[0]
    tt, ot = daily_pairs(2 * 168, hstart, 24, 48)
    t, o = daily_pairs(hstart, hend, 24, 48)
    results["h48"] = protocol_rmse(origin_features(hourly, hts, tt, ot), hy[tt], origin_features(hourly, hts, t, o),
                                   hy[t])
    print(f"{'protocol':45s} {'goal':>6s} {'MSTL':>6s} {'linear':>7s} {'hindsight':>9s}")
    for key, (honest, hindsight) in results.items():
        name, goal, mstl = REFERENCE[key][:3]
        print(f"{name:45s} {goal:6.0f} {mstl:6.1f} {honest:7.1f} {hindsight:9.1f}")
    print_daily_totals(hy, hts, hstart, hend)
    print(f"\none step ahead, hindsight regression that also sees the next 12 bins (interpolation): "
          f"{interpolation:.1f}")


if __name__ == "__main__":
    main()
