"""validate (moto): accept usable uploads with the local engine's fingerprint; quarantine the rest, with reasons."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from fleetcast.errors import InputError
from fleetcast.generate import generate_fleet, write_metrics
from fleetcast.ingest.metrics import read_metrics
from fleetcast.lake import tables as t
from fleetcast.pipeline.events import JsonLinesPublisher, RunContext, read_events
from fleetcast.pipeline.sources import read_source
from fleetcast.pipeline.validate import InputRejected, Limits, Upload, Validator, metrics_layout

from .conftest import LAKE_BUCKET, event

RUN = RunContext("upload-0123", "s3-upload", "2024-05-01T12:00:01.250Z")


@pytest.fixture
def validator(aws, raw_bucket, s3_lake, tmp_path) -> Validator:
    return Validator(s3_lake, JsonLinesPublisher(tmp_path / "events.jsonl"), f"s3://{LAKE_BUCKET}/quarantine/",
                     boto3_session=aws)


def put(aws, raw_bucket: str, key: str, body: bytes) -> Upload:
    """Upload ``body`` and describe it as the S3 Object Created event would (tests/events shape)."""
    answer = aws.client("s3").put_object(Bucket=raw_bucket, Key=key, Body=body)
    detail = event("s3_object_created.json")
    detail["detail"]["object"].update({"key": key, "size": len(body), "version-id": answer["VersionId"]})
    return Upload.from_event(detail)


def test_an_access_log_is_accepted_with_the_local_engines_fingerprint(validator, aws, raw_bucket, nasa_dir):
    path = nasa_dir / "access_log_sample.log"
    accepted = validator.validate(put(aws, raw_bucket, "logs/nasa.log", path.read_bytes()), RUN)
    assert accepted.as_dict() == {"source_id": read_source(path).source_id, "uri": f"s3://{raw_bucket}/logs/nasa.log",
                                  "kind": "access_log", "format": "clf", "size_bytes": path.stat().st_size}


def test_a_gzip_log_is_the_same_source_as_its_text(validator, aws, raw_bucket, nasa_dir, tmp_path):
    text = (nasa_dir / "access_log_sample.log").read_bytes()
    (tmp_path / "nasa.log.gz").write_bytes(gzip.compress(text, mtime=0))
    accepted = validator.validate(put(aws, raw_bucket, "nasa.log.gz", gzip.compress(text, mtime=0)), RUN)
    assert accepted.source_id == read_source(nasa_dir / "access_log_sample.log").source_id
    assert accepted.source_id == read_source(tmp_path / "nasa.log.gz").source_id
    assert (accepted.kind, accepted.format) == ("access_log", "clf")


def test_metrics_files_are_accepted_with_their_layout(validator, aws, raw_bucket, nab_dir, tmp_path):
    # Given a real single-series CloudWatch export, a generated wide fleet CSV and the same as Parquet
    fleet = generate_fleet(n_servers=10, days=60, seed=1).metrics.head(2000)
    wide_csv = write_metrics(fleet, tmp_path / "fleet.csv")
    fleet.write_parquet(tmp_path / "fleet.parquet")
    nab = nab_dir / "ec2_cpu_utilization_825cc2.csv"
    # When validated (the Parquet one with a head too small for its footer: read through the footer range)
    small_head = Validator(validator.lake, validator.publisher, validator.quarantine, validator.boto3_session,
                           Limits(head_bytes=4096))
    results = [validator.validate(put(aws, raw_bucket, nab.name, nab.read_bytes()), RUN),
               validator.validate(put(aws, raw_bucket, "fleet.csv", wide_csv.read_bytes()), RUN),
               small_head.validate(put(aws, raw_bucket, "fleet.parquet",
                                       (tmp_path / "fleet.parquet").read_bytes()), RUN)]
    # Then each has the local engine's format name and fingerprint
    assert [r.format for r in results] == ["csv-single", "csv-wide", "parquet-wide"]
    assert [r.source_id for r in results] == [read_metrics(p).source_id
                                              for p in (nab, wide_csv, tmp_path / "fleet.parquet")]


@pytest.mark.parametrize(("body", "reason"), [
    (b"", "file is empty"),
    (b"\x00\x01\x02 binary" * 50, "file is binary, not text (it contains NUL bytes)"),
    (b'{"timestamp": "2024-01-01", "cpu": 5}\n', "looks like JSON"),
    (b"timestamp,server_id,colour\n2024-01-01T00:00:00Z,web-1,blue\n", "unknown column(s) colour"),
    (b"timestamp,server_id,cpu\n", "file has a header but no data rows"),
    (b"time,cpu,cpu\n2024-01-01,1,2\n", "column(s) cpu appear more than once in the header"),
])
def test_unusable_uploads_are_quarantined_recorded_and_announced(validator, aws, raw_bucket, tmp_path, body, reason):
    upload = put(aws, raw_bucket, "in/bad file.csv", body)
    # When validated
    with pytest.raises(InputRejected, match=reason.replace("(", r"\(").replace(")", r"\)")) as rejected:
        validator.validate(upload, RUN)
    # Then the object is in quarantine with its reason, one rejects row says why, and the event went out
    s3 = aws.client("s3")
    copy = f"quarantine/{RUN.run_id}/in/bad file.csv"
    assert s3.get_object(Bucket=LAKE_BUCKET, Key=copy)["Body"].read() == body
    note = json.loads(s3.get_object(Bucket=LAKE_BUCKET, Key=f"{copy}.reason.json")["Body"].read())
    assert note["reason"] == rejected.value.problem and note["version_id"] == upload.version_id
    (row,) = validator.lake.read(t.REJECTS).to_dicts()
    assert (row["file"], row["reason"], row["line"], row["run_id"]) == (upload.uri, rejected.value.problem, None,
                                                                          RUN.run_id)
    (published,) = read_events(tmp_path / "events.jsonl")
    assert published["detail-type"] == "InputRejected"
    assert published["detail"]["quarantine_uri"] == f"s3://{LAKE_BUCKET}/{copy}"
    assert published["detail"]["source_id"] == row["source_id"]


def test_an_upload_over_the_size_limit_is_rejected_without_reading_it(validator, aws, raw_bucket, nasa_dir):
    capped = Validator(validator.lake, validator.publisher, validator.quarantine, validator.boto3_session,
                       Limits(max_bytes=1000))
    upload = put(aws, raw_bucket, "big.log", (nasa_dir / "access_log_sample.log").read_bytes())
    with pytest.raises(InputRejected, match="over the 0.0 GiB limit of one upload: split it"):
        capped.validate(upload, RUN)
    assert validator.lake.read(t.REJECTS)["source_id"].str.len_chars().to_list() == [16]


def test_a_deleted_object_is_rejected_but_nothing_is_copied(validator, aws, raw_bucket, tmp_path):
    upload = put(aws, raw_bucket, "gone.log", b"x")
    aws.client("s3").delete_object(Bucket=raw_bucket, Key="gone.log", VersionId=upload.version_id)
    with pytest.raises(InputRejected, match="no longer exists"):
        validator.validate(upload, RUN)
    assert "Contents" not in aws.client("s3").list_objects_v2(Bucket=LAKE_BUCKET, Prefix="quarantine/")
    assert [e["detail"]["quarantine_uri"] for e in read_events(tmp_path / "events.jsonl")] == [None]


def test_url_encoded_keys_from_the_event_are_found(validator, aws, raw_bucket, nasa_dir):
    upload = put(aws, raw_bucket, "logs/nasa sample.log", (nasa_dir / "access_log_sample.log").read_bytes())
    encoded = Upload(upload.bucket, "logs/nasa+sample.log", upload.version_id)
    assert validator.validate(encoded, RUN).uri == f"s3://{raw_bucket}/logs/nasa sample.log"


@pytest.mark.parametrize("header", [
    "timestamp,server_id,cpu,memory", "timestamp,value", "ts,host,metric,value", "time,cpu",
    "timestamp,server_id,colour", "date,server,cpu_pct,net_bytes_in", "server_id,cpu", "timestamp,server_id",
])
def test_header_checks_agree_with_the_metrics_reader(tmp_path: Path, header: str):
    # Given a file with this header and one plausible row
    path = tmp_path / "m.csv"
    path.write_text(header + "\n" + ",".join("web-1" if "server" in c or "host" in c else
                                            "cpu" if c == "metric" else
                                            "2024-01-01T00:00:00Z" if c in ("timestamp", "ts", "time", "date")
                                            else "5" for c in header.split(",")) + "\n")
    # When the header alone is checked and the whole file is read
    try:
        expected = read_metrics(path).format
    except InputError as exc:
        expected = exc.problem
    try:
        got = f"csv-{metrics_layout(header.split(','), str(path))}"
    except InputError as exc:
        got = exc.problem
    # Then both say the same (format, or the same problem)
    assert got == expected
    assert pl.read_csv(path).height == 1
