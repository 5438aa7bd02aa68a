"""The whole local pipeline on generated inputs: forecasts, risk flags, plans, events and the report."""

from __future__ import annotations

import subprocess
from pathlib import Path

import polars as pl
import pytest

from fleetcast.generate import generate_access_log, generate_fleet, write_metrics
from fleetcast.lake import tables as t
from fleetcast.lake.local import LocalLake
from fleetcast.pipeline.events import read_events
from fleetcast.pipeline.run import EVENTS_FILE, run_pipeline
from fleetcast.report import build_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A lake after one full run on 12 servers x 60 days of hourly metrics and 3 days of access log."""
    folder = tmp_path_factory.mktemp("full-run")
    fleet = generate_fleet(n_servers=12, days=60, seed=2)
    metrics = write_metrics(fleet.metrics, folder / "fleet.csv")
    log = generate_access_log(folder / "shop.log", days=3, seed=2, outage=None)
    lake = LocalLake(folder / "lake")
    result = run_pipeline([metrics, log.path], lake, trigger="test", run_id="20250101T000000Z-first")
    return lake, result, fleet


def counts(lake: LocalLake, run_id: str) -> dict[str, int]:
    tables = (t.FORECASTS, t.BACKTESTS, t.RISK_FLAGS, t.SCALING_PLANS, t.SIMULATIONS)
    return {table.name: lake.read(table, {"run_id": run_id}).height for table in tables}


def test_a_run_writes_forecasts_flags_plans_and_records_itself(run):
    lake, result, _ = run
    # Then every run-scoped table has rows for the run, and the run's row says what it did
    written = counts(lake, result.run_id)
    assert all(n > 0 for n in written.values()), written
    forecasts = lake.read(t.FORECASTS, {"run_id": result.run_id})
    per_kind = dict(forecasts.group_by("granularity").agg(pl.col("series_id").n_unique()).rows())
    assert per_kind == {"5min": 1, "1h": 12, "1d": 12}
    assert (forecasts["lo95"] <= forecasts["lo80"]).all() and (forecasts["hi80"] <= forecasts["hi95"]).all()
    flags = lake.read(t.RISK_FLAGS, {"run_id": result.run_id})
    assert flags.height == 12 * 4 * 2 and set(flags["horizon_days"]) == {30, 90}
    (record,) = lake.read(t.RUNS).rows(named=True)
    assert record["status"] == "succeeded" and record["series"] == 13
    assert "trend-weekly" in record["model_version"] and "lgbm" in record["model_version"]


def test_flags_agree_with_the_generated_truth(run):
    lake, result, fleet = run
    flags = lake.read(t.RISK_FLAGS, {"run_id": result.run_id}).filter(pl.col("horizon_days") == 30)
    joined = fleet.truth.join(flags.rename({"series_id": "server_id"}), on=["server_id", "metric"])
    flagged = joined["level"].is_in(["high", "very_high"])
    crosses = joined["crosses_80_within_30d"]
    rule = joined["history_max_p95_30d"] > 80  # "last month's worst daily P95 was over 80%"

    def f1(predicted):
        tp = int((predicted & crosses).sum())
        return 2 * tp / max(int(predicted.sum()) + int(crosses.sum()), 1)

    # Then (a small fleet, 60 days of history) the flags find the crossings better than the rule
    assert crosses.sum() >= 3
    assert f1(flagged) >= 0.8 and f1(flagged) > f1(rule), (f1(flagged), f1(rule))


def test_new_high_risks_become_events_once(run):
    lake, result, _ = run
    events = read_events(lake.root / EVENTS_FILE)
    risky = {(e["detail"]["series_id"], e["detail"]["metric"]) for e in events
             if e["detail-type"] == "CapacityRiskDetected"}
    flags = lake.read(t.RISK_FLAGS, {"run_id": result.run_id}).filter(pl.col("level").is_in(["high", "very_high"]))
    assert risky == set(flags.select("series_id", "metric").unique().rows()) and result.events == len(risky)
    # When the nightly refresh runs (no new input) under a new run id
    again = run_pipeline([], lake, trigger="schedule", run_id="20250102T000000Z-second")
    # Then it re-forecasts everything, but risks already announced are not announced again
    assert counts(lake, again.run_id)[t.RISK_FLAGS.name] == counts(lake, result.run_id)[t.RISK_FLAGS.name]
    assert again.events == 0 and len(read_events(lake.root / EVENTS_FILE)) == len(events)


def test_rerunning_a_run_replaces_its_rows(run, tmp_path):
    lake, result, _ = run
    before = counts(lake, result.run_id)
    run_pipeline([], lake, trigger="test", run_id=result.run_id)
    assert counts(lake, result.run_id) == before


def test_report_draws_every_view_in_headless_chromium(run, tmp_path):
    lake, result, _ = run
    page = tmp_path / "report.html"
    page.write_text(build_report(lake, result.run_id), encoding="utf-8")
    html = page.read_text()
    assert "<script src" not in html and 'src="http' not in html and 'href="http' not in html  # opens offline
    # When Chromium (Debian's package, installed by `make test`) loads it headless
    dom = subprocess.run([str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    # Then the page's own check found all five charts laid out with marks in them
    assert 'data-views-drawn="5"' in dom
    assert dom.count('data-drawn="yes"') == 5 and "Most at risk" in dom


def test_dashboard_views_answer_locally_from_the_same_sql_athena_gets(run):
    lake, result, _ = run
    from fleetcast.lake.query import query

    # Then each view serves the latest successful run
    (latest,) = query(lake, "SELECT run_id FROM latest_run").rows()
    assert latest[0] >= result.run_id
    heat = query(lake, "SELECT level, level_rank, count(*) AS n FROM risk_heatmap GROUP BY 1, 2 ORDER BY 2 DESC")
    assert heat["n"].sum() == 12 * 4 * 2 and heat["level_rank"].to_list() == sorted(heat["level_rank"], reverse=True)
    for view in ("forecast_vs_actual", "scaling_plan", "cost_vs_sla"):
        assert query(lake, f"SELECT count(*) AS n FROM {view}").item() > 0, view
    costs = query(lake, "SELECT policy, cost FROM cost_vs_sla WHERE policy IN ('static_peak', 'balanced')")
    by_policy = dict(costs.rows())
    assert by_policy["balanced"] < by_policy["static_peak"]
