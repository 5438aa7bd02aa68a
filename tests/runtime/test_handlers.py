"""The Lambda handlers (moto): typed events in, one domain call, Powertools logs/metrics with the run id."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from fleetcast.lake import tables as t
from fleetcast.localcloud.lambdas import LAMBDAS_DIR, HandlerRef, LambdaContext, _load
from fleetcast.pipeline.events import read_events
from fleetcast.pipeline.ingest import ingest

from .conftest import LAKE_BUCKET, event

LOCATIONS = json.dumps({name: f"s3://{LAKE_BUCKET}/{name}/" for name in t.TABLES})


@pytest.fixture
def function_env(monkeypatch, tmp_path, aws, catalog):
    """The environment infra/stack.py gives the functions, pointing at this moto world."""
    for key, value in {"LAKE_TABLE_LOCATIONS": LOCATIONS, "LAKE_DATABASE": catalog, "CURATED_BUCKET": LAKE_BUCKET,
                       "QUARANTINE_PREFIX": "quarantine/", "FLEETCAST_EVENTS_FILE": str(tmp_path / "events.jsonl"),
                       "POWERTOOLS_SERVICE_NAME": "fleetcast", "POWERTOOLS_METRICS_NAMESPACE": "fleetcast",
                       "POWERTOOLS_TRACE_DISABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    return tmp_path / "events.jsonl"


def handler(folder: str):
    """A fresh import of the handler module, as in a new container (its logger writes to this test's stdout)."""
    logging.Logger.manager.loggerDict.pop("fleetcast", None)  # else Powertools reuses it, and its old stream
    return _load(HandlerRef(folder).path(), f"test_{folder}").handler


def context(name: str) -> LambdaContext:
    return LambdaContext(name, f"arn:aws:lambda:us-east-1:123456789012:function:{name}")


def validate_task(aws, raw_bucket: str, key: str, body: bytes) -> dict:
    version = aws.client("s3").put_object(Bucket=raw_bucket, Key=key, Body=body)["VersionId"]
    task = event("validate_task.json")
    task["event"]["detail"]["object"].update({"key": key, "size": len(body), "version-id": version})
    return task


def test_validate_answers_what_the_state_machine_selects(function_env, aws, raw_bucket, nasa_dir, capsys):
    body = (nasa_dir / "access_log_sample.log").read_bytes()
    answer = handler("validate")(validate_task(aws, raw_bucket, "logs/nasa.log", body), context("validate"))
    assert set(answer) == {"source_id", "uri", "kind", "format", "size_bytes"}
    assert (answer["kind"], answer["format"], answer["size_bytes"]) == ("access_log", "clf", len(body))
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert metrics[-1]["UploadsAccepted"] == [1.0]


def test_validate_rejection_is_logged_with_the_run_id_and_raised_by_name(function_env, aws, raw_bucket, capsys):
    task = validate_task(aws, raw_bucket, "bad.csv", b"\x00\x00 not text")
    with pytest.raises(Exception) as raised:
        handler("validate")(task, context("validate"))
    # the state machine does not retry an error of this name
    assert type(raised.value).__name__ == "InputRejected"
    logs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    warning = next(entry for entry in logs if entry.get("message") == "upload rejected")
    assert warning["correlation_id"] == task["run"]["run_id"] and warning["function_name"] == "validate"
    assert [e["detail-type"] for e in read_events(function_env)] == ["InputRejected"]


def test_handlers_build_nothing_at_import_and_zip_handlers_import_no_polars():
    # Given a process without AWS credentials, region or lake settings
    code = (
        "import sys, importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('h', {str(LAMBDAS_DIR / 'validate' / 'handler.py')!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "heavy = sorted(m for m in ('polars', 'duckdb', 'lightgbm', 'awswrangler', 'pandas') if m in sys.modules)\n"
        "print(heavy, module.validator.cache_info().currsize)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "POWERTOOLS_TRACE_DISABLED": "true"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    # Then the validate handler imports (no client, no environment read) and pulls in none of them
    assert out.split() == ["[]", "0"]


@pytest.mark.parametrize("folder", ["validate", "forecast", "risk_plan", "api"])
def test_every_function_of_the_stack_has_a_handler_module(folder):
    assert HandlerRef(folder).path().is_file()
    assert (Path(LAMBDAS_DIR) / folder / "handler.py").read_text().count("def handler(event, context)") == 1


# -- waits on the lead's stage functions (fleetcast.pipeline.forecast / fleetcast.pipeline.risk_plan) --------------

def test_forecast_writes_one_shard_of_forecasts_and_answers_its_summary(function_env, s3_lake, nab_dir):
    # Given observations of a real saturated EC2 CPU series in the S3 lake
    ingest([nab_dir / "ec2_cpu_utilization_825cc2.csv"], s3_lake, "upload-1")
    shard = int(s3_lake.read(t.OBSERVATIONS)["shard"][0])
    task = {**event("forecast_task.json"), "shard": shard}
    # When the forecast function gets that shard
    answer = handler("forecast")(task, context("forecast"))
    # Then it answers for the shard and its forecasts are in the lake under the run and shard
    assert answer["shard"] == shard and answer["series"] >= 1
    written = s3_lake.read(t.FORECASTS)
    assert written.height > 0 and set(written["run_id"]) == {task["run"]["run_id"]} and set(written["shard"]) == {shard}


def test_risk_plan_records_the_run_and_publishes_new_risks(function_env, s3_lake, nab_dir):
    ingest([nab_dir / "ec2_cpu_utilization_825cc2.csv"], s3_lake, "refresh-2024-05-02")
    shard = int(s3_lake.read(t.OBSERVATIONS)["shard"][0])
    handler("forecast")({**event("forecast_task.json"), "shard": shard}, context("forecast"))
    # When the run is finished
    answer = handler("risk_plan")(event("risk_plan_task.json"), context("risk_plan"))
    # Then the run is recorded and the saturated server's risk was announced
    (run,) = s3_lake.read(t.RUNS).to_dicts()
    assert (run["run_id"], run["status"], run["trigger"]) == ("refresh-2024-05-02", "succeeded", "schedule")
    assert run["message"].endswith("; 1 series too short to forecast: web-02/cpu_mean"), run["message"]
    risks = [e for e in read_events(function_env) if e["detail-type"] == "CapacityRiskDetected"]
    assert answer["capacity_risk_events"] == len(risks) >= 1
    assert risks[0]["detail"]["series_id"] == "ec2_cpu_utilization_825cc2"
