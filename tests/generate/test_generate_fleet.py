"""The synthetic fleet: determinism, archetype shapes, ground truth and the risk classes it holds."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from fleetcast.generate import generate_fleet
from fleetcast.generate.risk_classes import CLASSES

METRICS = ["cpu", "memory", "disk_io", "network"]


@pytest.fixture(scope="module")
def fleet():
    return generate_fleet(seed=0)


def per_server(fleet) -> pl.DataFrame:
    """One row per server: what the truth says about it, with its intended class."""
    return fleet.truth.group_by("server_id").agg(
        c90_30=pl.col("crosses_90_within_30d").any(), c80_30=pl.col("crosses_80_within_30d").any(),
        c80_90=pl.col("crosses_80_within_90d").any(), c90_90=pl.col("crosses_90_within_90d").any(),
        recent=pl.col("history_max_p95_30d").max(), all_under=pl.col("underutilised").all(),
        cpu_mean=pl.col("history_mean").filter(pl.col("metric") == "cpu").first(),
    ).join(fleet.servers.select("server_id", "archetype", "risk_class"), on="server_id").sort("server_id")


REALISED = {  # what each intended class must look like in the truth
    "cross_90_30d": pl.col("c90_30"),
    "cross_80_30d": pl.col("c80_30") & ~pl.col("c90_30"),
    "cross_80_90d": pl.col("c80_90") & ~pl.col("c80_30"),
    "saturated": pl.col("c90_30") & (pl.col("recent") > 90),
    "cooling": ~pl.col("c80_90") & (pl.col("recent") > 80),
    "incident": ~pl.col("c80_90") & (pl.col("recent") > 80),
    "idle": pl.col("all_under") & ~pl.col("c80_90"),
    "very_idle": pl.col("all_under") & (pl.col("cpu_mean") < 5),
    "normal": ~pl.col("c80_90") & (pl.col("recent") <= 80),
}


def with_local_time(frame: pl.DataFrame, servers: pl.DataFrame) -> pl.DataFrame:
    offsets = servers.select("server_id", "utc_offset_h", "archetype", "risk_class")
    return frame.join(offsets, on="server_id").with_columns(
        local=pl.col("timestamp") + pl.duration(hours=pl.col("utc_offset_h")))


def test_same_seed_same_fleet_other_seed_other_fleet():
    # Given two fleets from seed 3 and one from seed 4
    a, b, c = generate_fleet(n_servers=12, days=60, seed=3), generate_fleet(n_servers=12, days=60, seed=3), \
        generate_fleet(n_servers=12, days=60, seed=4)
    # Then the same seed gives identical frames, another seed other values
    for name in ("metrics", "future", "truth", "servers"):
        assert getattr(a, name).equals(getattr(b, name)), name
    assert not a.metrics.equals(c.metrics)


def test_layout_grid_and_range(fleet):
    # Given the default fleet (30 servers, 180 days of hourly history, 90 days of future)
    history, future = fleet.metrics, fleet.future
    # Then the history is wide, naive UTC, one row per server and hour, all values in 0-100
    assert history.columns == ["timestamp", "server_id", *METRICS]
    assert history.schema["timestamp"] == pl.Datetime("us")
    assert history.height == 30 * 180 * 24 and future.height == 30 * 90 * 24
    assert history.select(pl.struct("timestamp", "server_id").is_unique().all()).item()
    assert history["timestamp"].min() == datetime(2024, 11, 15) == fleet.history_start
    assert history["timestamp"].max() == datetime(2025, 5, 13, 23)
    assert fleet.history_end == datetime(2025, 5, 14)
    assert future["timestamp"].min() == fleet.history_end
    assert future["timestamp"].max() == fleet.history_end + timedelta(days=90) - timedelta(hours=1)
    for frame in (history, future):
        assert frame.select(pl.min_horizontal(METRICS).min()).item() >= 0.0
        assert frame.select(pl.max_horizontal(METRICS).max()).item() <= 100.0
        assert frame.select(pl.all_horizontal(pl.col(METRICS).is_not_nan()).all()).item()


def test_truth_matches_a_recomputation_from_the_future(fleet):
    # Given the truth, and the daily P95 recomputed with numpy straight from Fleet.future
    truth = fleet.truth.sort("server_id", "metric")
    assert truth.height == 30 * 4
    for row in truth.iter_rows(named=True):
        future = fleet.future.filter(pl.col("server_id") == row["server_id"])[row["metric"]].to_numpy()
        history = fleet.metrics.filter(pl.col("server_id") == row["server_id"])[row["metric"]].to_numpy()
        p95 = np.percentile(future.reshape(90, 24), 95, axis=1)
        recent = np.percentile(history.reshape(180, 24)[-30:], 95, axis=1)
        # Then every column agrees
        for level in (80, 90):
            above = np.flatnonzero(p95 > level)
            first = fleet.history_end.date() + timedelta(days=int(above[0])) if len(above) else None
            assert row[f"first_cross_{level}"] == first
            assert row[f"crosses_{level}_within_30d"] == bool(len(above) and above[0] < 30)
            assert row[f"crosses_{level}_within_90d"] == bool(len(above))
        assert row["history_mean"] == pytest.approx(history.mean(), abs=1e-6)
        assert row["underutilised"] == (history.mean() < 40)
        assert row["history_max_p95_30d"] == pytest.approx(recent.max(), abs=1e-9)
        assert row["future_max_p95"] == pytest.approx(p95.max(), abs=1e-9)


def test_fleet_holds_every_risk_class(fleet):
    # Given the default fleet, seen server by server through its truth
    servers = per_server(fleet)
    # Then it holds, by construction, at least:
    assert servers.filter("c90_30").height >= 5                                   # > 90% within 30 d
    assert servers.filter(pl.col("c80_30") & ~pl.col("c90_30")).height >= 3      # > 80% only, within 30 d
    assert servers.filter(pl.col("c80_90") & ~pl.col("c80_30")).height >= 3      # only within 90 d
    assert servers.filter(pl.col("recent") > 90).height >= 4                      # near saturation already
    assert servers.filter("all_under").height >= 5                                # idle / underutilised
    assert servers.filter(pl.col("cpu_mean") < 5).height >= 2                     # nearly idle
    normal = servers.filter(~pl.col("c80_90") & (pl.col("recent") < 80) & (pl.col("cpu_mean") >= 40))
    assert normal.height >= 4                                                     # plain normal
    # and risk sits on every archetype
    assert servers.filter("c80_90")["archetype"].n_unique() == 3


def test_crossings_are_not_visible_to_a_last_month_rule(fleet):
    # Given the rule "flag when last month's worst daily P95 was above 80%"
    truth = fleet.truth
    flagged, crosses = truth["history_max_p95_30d"] > 80, truth["crosses_80_within_30d"]
    # Then it misses growing servers and flags shrinking / incident ones: a forecast must do better
    assert (crosses & ~flagged).sum() >= 3
    assert (flagged & ~crosses).sum() >= 3


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_every_server_realises_its_intended_class(seed):
    # Given fleets from several seeds
    fleet = generate_fleet(seed=seed)
    servers = per_server(fleet)
    # Then each server's truth is what its class promises
    assert sorted(set(servers["risk_class"])) == sorted(CLASSES)
    for name, expected in REALISED.items():
        assert servers.filter(pl.col("risk_class") == name).select(expected.all()).item(), (seed, name)


def test_crossings_come_days_after_the_history_on_growing_servers(fleet):
    # Given each risk server's driver metric in the truth
    drivers = fleet.truth.join(fleet.servers, on="server_id").filter(
        pl.col("metric") == pl.col("driver_metric"))
    day = {level: (pl.col(f"first_cross_{level}") - pl.lit(fleet.history_end.date())).dt.total_days()
           for level in (80, 90)}
    windows = {"cross_80_30d": (80, 3, 29), "cross_90_30d": (90, 3, 29), "cross_80_90d": (80, 30, 89)}
    for name, (level, lo, hi) in windows.items():
        part = drivers.filter(pl.col("risk_class") == name).with_columns(day=day[level])
        # Then the first crossing falls in the class's window, not on the first future day
        assert part.height == 3 and part["day"].is_between(lo, hi).all(), name
        # and it comes from growth (memory grows slowly, load faster)
        rate = pl.when(pl.col("metric") == "memory").then("memory_growth_per_year").otherwise(
            "growth_per_year")
        assert part.select(rate.min()).item() >= 0.25, name


def test_web_has_strong_daily_and_weekly_cycles(fleet):
    # Given the busy web servers' cpu by local hour and day
    web = with_local_time(fleet.metrics, fleet.servers).filter(
        (pl.col("archetype") == "web") & ~pl.col("risk_class").is_in(["idle", "very_idle"]))
    weekdays = web.filter(pl.col("local").dt.weekday() <= 5)
    hourly = weekdays.group_by("server_id", pl.col("local").dt.hour()).agg(pl.col("cpu").mean()).group_by(
        "server_id").agg(ratio=pl.col("cpu").max() / pl.col("cpu").min(),
                         peak=pl.col("local").sort_by("cpu").last())
    weekly = web.group_by("server_id").agg(
        ratio=pl.col("cpu").filter(pl.col("local").dt.weekday() <= 5).mean()
        / pl.col("cpu").filter(pl.col("local").dt.weekday() > 5).mean())
    # Then peak hours are 2x the trough, in the afternoon, and weekdays are busier than weekends
    assert hourly.height >= 5
    assert hourly["ratio"].min() >= 2.0
    assert hourly["peak"].is_between(12, 19).all()
    assert weekly["ratio"].min() >= 1.1 and weekly["ratio"].median() >= 1.15


def test_databases_are_steady_with_high_slowly_growing_memory(fleet):
    # Given database servers
    frame = with_local_time(fleet.metrics, fleet.servers)
    busy = ~pl.col("risk_class").is_in(["idle", "very_idle"])
    db = frame.filter((pl.col("archetype") == "database") & busy)
    first_month = db.filter(pl.col("timestamp") < fleet.history_start + timedelta(days=30))
    last_month = db.filter(pl.col("timestamp") >= fleet.history_end - timedelta(days=30))
    growth = first_month.group_by("server_id").agg(a=pl.col("memory").mean()).join(
        last_month.group_by("server_id").agg(b=pl.col("memory").mean()), on="server_id")
    daily_range = db.group_by("server_id", pl.col("timestamp").dt.date()).agg(
        r=pl.col("memory").max() - pl.col("memory").min())
    # Then memory is high, moves little within a day, and grows over the history
    assert (growth["b"] > growth["a"]).all() and growth["b"].min() > 50
    assert daily_range["r"].median() < 6
    # and their cpu cycle is flatter than the web servers'
    def cycle(kind: str) -> float:
        part = frame.filter(pl.col("archetype") == kind).group_by("server_id", pl.col("local").dt.hour()).agg(
            pl.col("cpu").mean()).group_by("server_id").agg(ratio=pl.col("cpu").max() / pl.col("cpu").min())
        return part["ratio"].median()
    assert cycle("database") < cycle("web") * 0.8


def test_batch_runs_at_night_and_peaks_at_month_and_quarter_end(fleet):
    # Given batch servers' cpu by local date and hour
    batch = with_local_time(pl.concat([fleet.metrics, fleet.future]), fleet.servers).filter(
        (pl.col("archetype") == "batch") & ~pl.col("risk_class").is_in(["idle", "very_idle"]))
    day = pl.col("local").dt.date()
    left = pl.col("local").dt.month_end().dt.day() - pl.col("local").dt.day()
    kind = (pl.when((left < 3) & pl.col("local").dt.month().is_in([3, 6, 9, 12])).then(pl.lit("quarter_end"))
            .when(left < 2).then(pl.lit("month_end")).when(left >= 3).then(pl.lit("ordinary")))
    daily = batch.group_by("server_id", day, kind.alias("kind")).agg(pl.col("cpu").mean())
    means = daily.drop_nulls("kind").group_by("server_id", "kind").agg(pl.col("cpu").median()).pivot(
        on="kind", index="server_id", values="cpu")
    hours = batch.group_by("server_id", pl.col("local").dt.hour()).agg(pl.col("cpu").mean()).group_by(
        "server_id").agg(peak=pl.col("local").sort_by("cpu").last())
    # Then the busiest hour is in the night job window, month ends are busier, quarter ends more so
    assert means.height >= 4
    assert hours["peak"].is_between(0, 6).all()
    assert (means["month_end"] > 1.25 * means["ordinary"]).all()
    assert (means["quarter_end"] > 1.1 * means["month_end"]).all()
    assert calendar.monthrange(2025, 6)[1] == 30  # the quarter end in the future is June 28-30


def test_growth_trends_are_mixed(fleet):
    # Given the per-server growth parameters
    growth = fleet.servers["growth_per_year"]
    # Then some servers grow, some are flat and a few shrink
    assert (growth > 0.5).sum() >= 6
    assert (growth.abs() < 0.15).sum() >= 4
    assert 2 <= (growth < -0.2).sum() <= 10


def test_noise_is_correlated_within_a_server_and_within_an_archetype(fleet):
    # Given the residuals of each web server's cpu and network against their own hour-of-week mean
    hour_of_week = pl.col("timestamp").dt.weekday() * 24 + pl.col("timestamp").dt.hour()
    frame = fleet.metrics.with_columns(how=hour_of_week)
    resid = frame.with_columns(
        [(pl.col(m) - pl.col(m).mean().over("server_id", "how")).alias(m) for m in ("cpu", "network")]
    ).join(fleet.servers.select("server_id", "archetype"), on="server_id")
    web = resid.filter(pl.col("archetype") == "web").pivot(on="server_id", index="timestamp", values="cpu")
    same_server = resid.filter(pl.col("archetype") == "web").group_by("server_id").agg(
        c=pl.corr("cpu", "network"))["c"].median()
    ids = web.columns[1:]
    across = np.corrcoef(web.select(ids).to_numpy().T)[np.triu_indices(len(ids), 1)]
    # Then cpu and network move together on a server, and web servers move together
    assert same_server > 0.3
    assert np.median(across) > 0.1


def test_finer_frequency_and_bad_arguments():
    # Given a 15-minute fleet
    fleet = generate_fleet(n_servers=10, days=60, freq="15min", seed=2)
    # Then it has 96 rows per server and day, and its truth uses those samples
    assert fleet.metrics.height == 10 * 60 * 96 and fleet.freq == "15min"
    assert fleet.truth.height == 40
    # And arguments that cannot work are refused
    with pytest.raises(ValueError, match="n_servers"):
        generate_fleet(n_servers=5)
    with pytest.raises(ValueError, match="midnight"):
        generate_fleet(start="2025-01-01T06:00:00")
    with pytest.raises(ValueError, match="freq"):
        generate_fleet(freq="10min")
    with pytest.raises(ValueError, match="horizon_days"):
        generate_fleet(horizon_days=30)
