"""End to end, on this machine: uploads and the nightly schedule through the synthesized state machine.

One local cloud for the module (moto + the CDK template + the real handlers; see fleetcast.localcloud).
The scenario builds up in file order: three uploads (a generated 3-day shop access log, the real NASA
excerpt, a generated metrics file with one server heading for saturation), a duplicate delivery, a
malformed upload, a forecast shard that keeps failing, and the nightly refresh.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from unittest import mock

import polars as pl
import pytest

from fleetcast.generate.access_log import generate_access_log
from fleetcast.generate.fleet import generate_fleet
from fleetcast.lake import tables as t
from fleetcast.lake.tables import shard_of

pytestmark = pytest.mark.e2e

AT_RISK = "batch-03"  # generated class cross_90_30d: its disk I/O P95 crosses 90% within 30 days
RUN_TABLES = ("forecasts", "risk_flags", "scaling_plans", "simulations", "backtests")


@pytest.fixture(scope="module")
def files(tmp_path_factory, nasa_dir):
    folder = tmp_path_factory.mktemp("uploads")
    fleet = generate_fleet(n_servers=10, days=60, freq="1h", seed=3)
    fleet.metrics.filter(pl.col("server_id") == AT_RISK).write_csv(folder / "fleet-metrics.csv")
    generate_access_log(folder / "shop.log.gz", start="2025-03-03", days=3, base_rate_per_min=2.0, seed=1,
                        gzip=True)
    return {"shop": folder / "shop.log.gz", "nasa": nasa_dir / "access_log_sample.log",
            "metrics": folder / "fleet-metrics.csv"}


@pytest.fixture(scope="module")
def cloud(template):
    from fleetcast.localcloud import LocalCloud

    with LocalCloud(template) as running:
        yield running


@pytest.fixture(scope="module")
def uploaded(cloud, files):
    """The three uploads, one at a time (each run sees the data of the runs before it)."""
    runs = {}
    for name in ("shop", "nasa", "metrics"):
        cloud.upload(files[name], key=f"incoming/{files[name].name}")
        (execution,) = cloud.run_until_idle()
        runs[name] = execution
    return runs


def run_id(execution: dict) -> str:
    """The run id of a succeeded execution (its output carries the state, ``run`` included)."""
    assert execution.get("output"), f"{execution['executionArn']} has no output: {execution.get('status')}"
    return execution["output"]["run"]["run_id"]


def rows_of(lake, name: str, run: str | None = None) -> pl.DataFrame:
    frame = lake.read(t.TABLES[name])
    return frame.filter(pl.col("run_id") == run) if run else frame


def test_uploads_flow_through_the_state_machine_into_every_table(cloud, uploaded, files):
    # Given three uploads, each routed S3 -> EventBridge -> the synthesized state machine
    assert [e["status"] for e in uploaded.values()] == ["SUCCEEDED"] * 3
    lake, runs = cloud.lake(), {name: run_id(e) for name, e in uploaded.items()}
    # Then observations exist for the NASA excerpt, the shop log and every metric of the server
    observations = lake.read(t.OBSERVATIONS)
    assert set(observations["series_id"]) == {"access_log_sample", "shop", AT_RISK}
    staged = lake.read(t.LOG_BINS).filter(pl.col("series_id") == "access_log_sample")
    assert staged["requests"].sum() == 1880  # every request of the excerpt, binned per minute
    # and the last run forecast the server and the shop, flagged risks and planned the shop's capacity
    last = runs["metrics"]
    assert {"shop", AT_RISK} <= set(rows_of(lake, "forecasts", last)["series_id"])
    assert rows_of(lake, "risk_flags", last).filter(pl.col("series_id") == AT_RISK).height > 0
    assert set(rows_of(lake, "scaling_plans", last)["series_id"]) == {"shop"}
    # and each run has its row in `runs`, succeeded, with the file it came from
    recorded = lake.read(t.RUNS).sort("run_id")
    assert sorted(recorded["run_id"]) == sorted(runs.values()) and set(recorded["status"]) == {"succeeded"}
    by_run = {r["run_id"]: r["inputs"] for r in recorded.to_dicts()}
    assert by_run[runs["nasa"]] == [f"s3://{cloud.raw_bucket}/incoming/access_log_sample.log"]


def test_every_partition_in_s3_is_registered_in_the_glue_catalog(cloud, uploaded):
    lake, glue = cloud.lake(), cloud.session.client("glue")
    for name in ("observations", "gaps", "log_bins", "metric_samples", *RUN_TABLES):
        table = t.TABLES[name]
        keys = [c.name for c in table.partitions]
        # Given the partitions that hold rows in S3
        in_s3 = {tuple(str(v) for v in row) for row in lake.read(table).select(keys).unique().rows()}
        # Then the catalog lists every one of them (Athena sees every row)
        listed = glue.get_partitions(DatabaseName=lake.database, TableName=name)["Partitions"]
        assert {tuple(p["Values"]) for p in listed} >= in_s3 and in_s3, name


def test_an_at_risk_server_is_announced(cloud, uploaded):
    # Given the run of the metrics upload
    metrics_run = run_id(uploaded["metrics"])
    # Then CapacityRiskDetected went out for the server heading for saturation, with what to expect
    risks = [e["detail"] for e in cloud.events("CapacityRiskDetected") if e["detail"]["run_id"] == metrics_run]
    server = [r for r in risks if r["series_id"] == AT_RISK]
    assert server and {r["risk_level"] for r in server} <= {"high", "very_high"}
    assert any(r["metric"] == "disk_io" and r["risk_level"] == "very_high" for r in server)
    assert all(r["first_breach"] and 0 < r["probability"] <= 1 and r["predicted_p95"] > 0 for r in server)
    # and each announced risk reached the risk topic through the stack's rule
    assert len(cloud.notifications("RiskTopicArn")) == len(cloud.events("CapacityRiskDetected"))
    succeeded = [e["detail"]["run_id"] for e in cloud.events("PipelineRunSucceeded")]
    assert sorted(succeeded) == sorted(run_id(e) for e in uploaded.values())


def test_the_same_upload_delivered_twice_adds_no_rows(cloud, uploaded):
    # Given the lake after the uploads
    lake = cloud.lake()
    names = ("observations", "gaps", "metric_samples", "sources", "rejects", "runs", *RUN_TABLES)
    before = {name: _keys(lake.read(t.TABLES[name])) for name in names}
    # When EventBridge delivers the metrics upload's event again (it delivers at least once)
    cloud.dispatcher.redeliver()
    (again,) = cloud.run_until_idle()
    # Then it is the same run, it succeeds, and every table holds the same rows as before
    assert again["status"] == "SUCCEEDED" and run_id(again) == run_id(uploaded["metrics"])
    for name in names:
        assert _keys(lake.read(t.TABLES[name])).equals(before[name]), name


def test_a_malformed_file_is_quarantined_and_fails_its_run_without_publishing_rows(cloud, uploaded):
    lake = cloud.lake()
    before = {name: lake.read(t.TABLES[name]).height for name in ("observations", "sources", *RUN_TABLES)}
    # When a metrics file whose header names no known column is uploaded
    cloud.upload(b"when,host,colour\n2025-01-01T00:00:00Z,web-1,blue\n", key="incoming/broken.csv")
    (execution,) = cloud.run_until_idle()
    # Then the run fails on validation, is announced as failed and nothing was aggregated or forecast
    assert execution["status"] == "FAILED"
    (failed,) = [e["detail"] for e in cloud.events("PipelineRunFailed")]
    assert failed["error"] == "InputRejected"
    (rejected,) = [e["detail"] for e in cloud.events("InputRejected")]
    assert rejected["run_id"] == failed["run_id"] and "colour" in rejected["reason"]
    assert failed["run_id"] not in {e["detail"]["run_id"] for e in cloud.events("PipelineRunSucceeded")}
    assert {name: lake.read(t.TABLES[name]).height for name in before} == before
    assert failed["run_id"] not in set(lake.read(t.RUNS)["run_id"])
    # and the file sits in quarantine beside its reason, with one whole-file reject row
    s3 = cloud.session.client("s3")
    bucket, key = rejected["quarantine_uri"].removeprefix("s3://").split("/", 1)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read().startswith(b"when,host,colour")
    assert json.loads(s3.get_object(Bucket=bucket, Key=f"{key}.reason.json")["Body"].read())["reason"] == \
        rejected["reason"]
    assert lake.read(t.REJECTS).filter(pl.col("run_id") == failed["run_id"]).height == 1
    assert cloud.notifications("AlarmTopicArn")[-1].startswith(f"fleetcast run {failed['run_id']} failed")


def test_a_failing_forecast_shard_is_retried_then_named_and_the_other_shards_are_kept(cloud, uploaded):
    # Given the forecast function raising for the shop's shard, every time
    bad_shard, good_shard = shard_of("shop"), shard_of(AT_RISK)
    module = cloud.lambdas.module("forecast")
    real = module.forecast_shard

    def forecast_shard(lake, shard, run):
        if shard == bad_shard:
            raise MemoryError(f"shard {shard} does not fit in memory")
        return real(lake, shard, run)

    # When the nightly refresh runs
    with mock.patch.object(module, "forecast_shard", forecast_shard):
        cloud.fire_schedule(datetime.now(UTC))
        (execution,) = cloud.run_until_idle()
    refresh = json.loads(cloud.history(execution["executionArn"])[0]["executionStartedEventDetails"]["input"])
    # Then the shard was tried three times (the synthesized retry policy), the run failed naming it and why
    tries = [c for c in cloud.lambdas.calls("forecast") if c.event["shard"] == bad_shard
             and c.event["run"]["trigger"] == "schedule"]
    assert refresh == {"mode": "refresh", "trigger": "schedule"} and len(tries) == 3
    assert {c.error_type for c in tries} == {"MemoryError"}
    assert execution["status"] == "FAILED"
    (failed,) = [e["detail"] for e in cloud.events("PipelineRunFailed")
                 if e["detail"]["error"] == "ForecastShardsFailed"]
    shards = {s["shard"]: s for s in json.loads(failed["cause"])}
    assert shards[bad_shard]["status"] == "failed" and shards[bad_shard]["error"] == "MemoryError"
    assert "does not fit in memory" in shards[bad_shard]["cause"]
    assert all(s["status"] == "succeeded" for k, s in shards.items() if k != bad_shard) and len(shards) == t.N_SHARDS
    # and the other shards' forecasts of this run are in the lake
    forecasts = rows_of(cloud.lake(), "forecasts", failed["run_id"])
    assert set(forecasts["shard"]) == {good_shard} and AT_RISK in set(forecasts["series_id"])


def test_the_nightly_schedule_reforecasts_every_series_under_a_new_run_id(cloud, uploaded):
    # When the nightly rule fires (the schedule moto never fires; the dispatcher does)
    cloud.fire_schedule(datetime.now(UTC))
    (execution,) = cloud.run_until_idle()
    # Then a refresh run, named after its day, forecast every series that has enough history
    assert execution["status"] == "SUCCEEDED"
    refresh = run_id(execution)
    assert refresh == f"refresh-{execution['startDate'].astimezone(UTC):%Y-%m-%d}"
    assert refresh not in {run_id(e) for e in uploaded.values()}
    lake = cloud.lake()
    assert set(rows_of(lake, "forecasts", refresh)["series_id"]) == {"shop", AT_RISK}
    flags = rows_of(lake, "risk_flags", refresh)
    assert flags.height == rows_of(lake, "risk_flags", run_id(uploaded["metrics"])).height
    (row,) = lake.read(t.RUNS).filter(pl.col("run_id") == refresh).to_dicts()
    assert (row["trigger"], row["status"], row["inputs"]) == ("schedule", "succeeded", [])


def _keys(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows as identities (values that are recomputed, like timestamps of a run, are left out)."""
    volatile = {"finished_at", "started_at", "value", "yhat", "lo80", "hi80", "lo95", "hi95"}
    keys = [c for c, d in frame.schema.items() if c not in volatile and not d.is_float() and not d.is_nested()]
    return frame.select(keys).sort(keys, nulls_last=True)
