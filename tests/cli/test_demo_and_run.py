"""`fleetcast demo` and `fleetcast run` end to end on generated data."""

from __future__ import annotations

import polars as pl

from fleetcast.cli import main
from fleetcast.generate import add_defects, generate_access_log, generate_fleet, write_metrics
from fleetcast.lake import tables as t
from fleetcast.lake.local import LocalLake


def test_demo_runs_and_explains_itself(tmp_path, capsys):
    # When the demo runs on a small fleet
    assert main(["demo", "--out", str(tmp_path), "--servers", "10", "--days", "60"]) == 0
    out = capsys.readouterr().out
    # Then it says what it ingested, the planted outage is found, and bad rows are accounted for
    assert "ingested fleet-metrics.csv" in out and "ingested shop-access.log.gz: 591,376 lines" in out
    assert "outage found in the access log: Thu 14:37:12 → 17:59:53 UTC (planted Thu 14:37:12 → 17:59:53)" in out
    assert "rejects (7 bad values were planted)" in out
    lake = LocalLake(tmp_path / "lake")
    assert lake.read(t.OBSERVATIONS)["series_id"].n_unique() == 11
    assert lake.read(t.RUNS).select("trigger", "status").rows() == [("demo", "succeeded")]
    # and it forecast, flagged, planned and reported
    assert "risk flags, 30 days (server x metric):" in out and "static_peak" in out
    assert {"forecasts", "risk_flags", "scaling_plans", "simulations"} <= {p.name for p in lake.root.iterdir()}
    assert (tmp_path / "report.html").stat().st_size > 20_000


def test_ingest_generated_metrics_long_and_wide(tmp_path, capsys):
    # Given a generated fleet exported twice: wide CSV with defects, and long Parquet
    fleet = generate_fleet(n_servers=10, days=60, seed=3)
    damaged, injected = add_defects(fleet.metrics, seed=3)
    wide = write_metrics(damaged, tmp_path / "wide.csv")
    long = write_metrics(fleet.metrics, tmp_path / "long.parquet", layout="long")
    # When each is run through the pipeline into its own lake
    assert main(["ingest", str(wide), "--lake", str(tmp_path / "a"), "--quiet"]) == 0
    assert main(["ingest", str(long), "--lake", str(tmp_path / "b"), "--quiet"]) == 0
    a, b = LocalLake(tmp_path / "a"), LocalLake(tmp_path / "b")
    assert not (tmp_path / "a" / "forecasts").exists()  # ingest only: no forecasting
    # Then daily P95 agrees wherever no defect was planted, and each defect is accounted for
    key = ["series_id", "metric", "ts"]
    daily = [x.read(t.OBSERVATIONS, {"granularity": "1d"}).select(*key, "value").sort(key) for x in (a, b)]
    joined = daily[0].join(daily[1], on=key, suffix="_b")
    damaged_servers = injected["server_id"].unique().to_list()
    clean = joined.filter(~pl.col("series_id").is_in(damaged_servers))
    assert clean.height > 0 and (clean["value"] == clean["value_b"]).all()
    source = a.read(t.SOURCES).row(0, named=True)
    assert source["lines_read"] == damaged.height
    assert source["lines_parsed"] + source["lines_rejected"] == damaged.height
    gaps = a.read(t.GAPS)
    gap = injected.filter(pl.col("kind") == "gap").row(0, named=True)
    assert gaps.filter(pl.col("series_id") == gap["server_id"]).height == 4  # every metric of that server


def test_ingest_a_generated_access_log(tmp_path):
    truth = generate_access_log(tmp_path / "shop.log", days=2, seed=1, outage=None)
    assert main(["ingest", str(truth.path), "--lake", str(tmp_path / "lake"), "--quiet", "--granularity", "1min"]) == 0
    counts = LocalLake(tmp_path / "lake").read(t.OBSERVATIONS).filter(pl.col("metric") == "request_count")
    joined = counts.join(truth.minutes.rename({"minute": "ts"}), on="ts")
    assert joined.height >= 2 * 1440 - 2 and (joined["value"] == joined["lines"]).all()


def test_a_run_on_too_little_history_names_the_series_it_could_not_forecast(tmp_path, capsys):
    # Given two days of metrics from ten servers: too little for a 48-hour forecast
    metrics = generate_fleet(n_servers=10, days=60, seed=3).metrics
    recent = metrics.filter(pl.col("timestamp") >= pl.col("timestamp").max() - pl.duration(days=2))
    path = write_metrics(recent, tmp_path / "recent.csv")
    # When they are run through the pipeline
    assert main(["run", str(path), "--lake", str(tmp_path / "lake"), "--quiet"]) == 0
    # Then the run succeeds, and says which series it could not forecast and why (none silently lost)
    err = capsys.readouterr().err
    assert ("note: not forecast, 40 series: 'batch-01/cpu_mean': too little history for a 48-step forecast at 1h: "
            "49 values over 49 steps (needs 96 steps") in err, err
    message = LocalLake(tmp_path / "lake").read(t.RUNS)["message"][0]
    assert message.endswith("; 40 series too short to forecast: batch-01/cpu_mean, batch-01/disk_io_mean, "
                            "batch-01/memory_mean, batch-01/network_mean, batch-02/cpu_mean and 35 more"), message
