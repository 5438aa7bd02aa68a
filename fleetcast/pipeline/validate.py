"""Check an uploaded object before any work is spent on it: format, size and schema; quarantine if unusable.

What is read: the object's metadata, its first megabyte (format detection and the CSV header, with
:func:`fleetcast.ingest.detect.detect`, the same rules as the local path), the Parquet footer, and
then the whole object once, streamed, for its content fingerprint (``source_id``: sha256 of the bytes,
of the decompressed text for gzip access logs, exactly as the local engine computes it). Nothing is
parsed line by line here: that is the aggregation's job; the checks reject what the aggregation
would reject as a whole file, cheaply, and with the same messages.

An unusable upload is copied to ``quarantine/<run_id>/<key>`` in the curated bucket beside a
``.reason.json``, recorded as a whole-file row of ``rejects`` (keyed by its fingerprint, so a
re-delivery replaces it), announced with an ``InputRejected`` event, and then :class:`InputRejected`
is raised: the state machine does not retry it and the run ends as failed.

Uses boto3 and the standard library only (no polars): the validate function is a zip function.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn
from urllib.parse import unquote_plus

import pyarrow as pa

from fleetcast.errors import FleetcastError, InputError
from fleetcast.ingest import columns as cols
from fleetcast.ingest.detect import ACCESS_LOG, csv_separator, detect
from fleetcast.ingest.reader import GZIP_MAGIC, PARQUET_MAGIC, head_bytes
from fleetcast.lake.s3 import S3Lake, split_uri
from fleetcast.lake.tables import REJECTS
from fleetcast.pipeline.events import EventPublisher, RunContext, publisher_from_environment
from fleetcast.pipeline.events import InputRejected as InputRejectedEvent

GIB = 1 << 30
STREAM_CHUNK = 8 << 20
_COMBINED = re.compile(r'" \d{3} (\d+|-) "[^"]*" "[^"]*"\s*$')


class InputRejected(FleetcastError):
    """The upload cannot be used; it has been quarantined. (The state machine matches this name.)"""


@dataclass(frozen=True)
class Upload:
    """An object version in the raw bucket, from an S3 "Object Created" event (EventBridge).

    Examples
    --------
    >>> Upload.from_event({"detail": {"bucket": {"name": "raw"}, "object": {"key": "logs/a.log", "size": 3,
    ...                                "version-id": "v1", "etag": "e1"}}}).uri
    's3://raw/logs/a.log'
    """

    bucket: str
    key: str
    version_id: str | None = None
    size: int | None = None
    etag: str | None = None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Upload:
        try:
            detail = event["detail"]
            obj = detail["object"]
            return cls(detail["bucket"]["name"], obj["key"], obj.get("version-id"), obj.get("size"),
                       obj.get("etag") or obj.get("eTag"))
        except (KeyError, TypeError):
            raise ValueError("not an S3 Object Created event (no detail.bucket.name / detail.object.key)") from None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).name or "upload"


@dataclass(frozen=True)
class Accepted:
    """A usable upload: what the aggregation is told (the state machine's ``$.source``)."""

    source_id: str
    uri: str
    kind: str  # access_log or metrics
    format: str  # clf, combined, csv-long, csv-wide, csv-single, parquet-long, parquet-wide, parquet-single
    size_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 4 * GIB  # fingerprinting streams the object once; 4 GiB fits the function's timeout
    head_bytes: int = 1 << 20


@dataclass
class Validator:
    """Validates uploads; everything it touches is injected (lake, events, quarantine, boto3 session).

    Examples
    --------
    >>> env = {"LAKE_TABLE_LOCATIONS": '{"rejects": "s3://cur/rejects/"}', "CURATED_BUCKET": "cur",
    ...        "QUARANTINE_PREFIX": "quarantine/", "FLEETCAST_EVENTS_FILE": "/tmp/ev.jsonl"}
    >>> Validator.from_environment(env).quarantine
    's3://cur/quarantine/'
    """

    lake: S3Lake
    publisher: EventPublisher
    quarantine: str  # s3://bucket/prefix/
    boto3_session: Any = None
    limits: Limits = Limits()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ, *, boto3_session: Any = None) -> Validator:
        quarantine = f"s3://{environ['CURATED_BUCKET']}/{environ.get('QUARANTINE_PREFIX', 'quarantine/')}"
        limits = Limits(max_bytes=int(environ.get("VALIDATE_MAX_BYTES", Limits.max_bytes)))
        return cls(S3Lake.from_environment(environ, boto3_session=boto3_session),
                   publisher_from_environment(environ, boto3_session=boto3_session), quarantine, boto3_session,
                   limits)

    def validate(self, upload: Upload, run: RunContext) -> Accepted:
        """Accept ``upload`` (its fingerprint, kind and format) or quarantine it and raise InputRejected."""
        s3 = self._s3()
        try:
            upload, size = _locate(s3, upload)
        except InputError as exc:
            self._reject(s3, upload, run, exc.problem, size=None, copy=False)
        try:
            kind, fmt = self._inspect(s3, upload, size)
        except InputError as exc:
            self._reject(s3, upload, run, exc.problem, size=size)
        return Accepted(fingerprint(s3, upload, kind), upload.uri, kind, fmt, size)

    def _inspect(self, s3: Any, upload: Upload, size: int) -> tuple[str, str]:
        if size == 0:
            raise InputError("file is empty", path=upload.uri)
        if size > self.limits.max_bytes:
            raise InputError(f"file is {size / GIB:.1f} GiB, over the {self.limits.max_bytes / GIB:.1f} GiB "
                             f"limit of one upload: split it into smaller files", path=upload.uri)
        head = _get(s3, upload, f"bytes=0-{self.limits.head_bytes - 1}").read()
        with tempfile.TemporaryDirectory(prefix="fleetcast-validate-") as folder:
            local = Path(folder) / upload.name
            local.write_bytes(head)
            try:
                kind = detect(local)
                return kind, _format(s3, upload, local, kind, whole=size <= len(head),
                                     session=self.boto3_session)
            except InputError as exc:  # name the object, not the temporary file
                raise InputError(exc.problem, path=upload.uri, line=exc.line, field=exc.field) from None

    def _reject(self, s3: Any, upload: Upload, run: RunContext, reason: str, *, size: int | None,
                copy: bool = True) -> NoReturn:
        fits = size is not None and size <= self.limits.max_bytes
        source_id = fingerprint(s3, upload, None) if fits else _identity(upload)
        target = None
        if copy:
            target = f"{self.quarantine}{run.run_id}/{upload.key}"
            bucket, key = split_uri(target)
            source = {"Bucket": upload.bucket, "Key": upload.key}
            if upload.version_id:
                source["VersionId"] = upload.version_id
            s3.copy(source, bucket, key)
            note = {"uri": upload.uri, "version_id": upload.version_id, "reason": reason, "run_id": run.run_id,
                    "source_id": source_id, "size_bytes": size}
            s3.put_object(Bucket=bucket, Key=f"{key}.reason.json", Body=json.dumps(note, indent=1).encode(),
                          ContentType="application/json")
        self.lake.write(REJECTS, _reject_row(source_id, upload.uri, reason, run.run_id), key=source_id)
        self.publisher.publish([InputRejectedEvent(run.run_id, upload.uri, reason, target, source_id,
                                                   upload.version_id, size)])
        raise InputRejected(reason, where=upload.uri)

    def _s3(self) -> Any:
        import boto3

        return (self.boto3_session or boto3.Session()).client("s3")


def fingerprint(s3: Any, upload: Upload, kind: str | None) -> str:
    """``source_id`` of an object as the local engine computes it for the same file.

    sha256 of the bytes as stored; for an access log, of its text (a gzip log is decompressed first),
    so ``access.log`` and ``access.log.gz`` are the same source. First 16 hex digits.
    """
    digest = hashlib.sha256()
    body = _get(s3, upload)
    if kind == ACCESS_LOG:
        peek = body.read(2)
        if peek == GZIP_MAGIC:
            stream: Any = gzip.GzipFile(fileobj=_Prefixed(peek, body))
        else:
            digest.update(peek)
            stream = body
    else:
        stream = body
    while chunk := stream.read(STREAM_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()[:16]


def metrics_layout(names: list[str], where: str) -> str:
    """``long``, ``single`` or ``wide``: the layout a metrics header describes, or InputError saying why none.

    The same rules (and messages) as :func:`fleetcast.ingest.metrics.read_metrics`, on the header alone.

    Examples
    --------
    >>> metrics_layout(["timestamp", "server_id", "cpu", "memory"], "m.csv")
    'wide'
    >>> metrics_layout(["timestamp", "value"], "m.csv"), metrics_layout(["ts", "host", "metric", "value"], "m.csv")
    ('single', 'long')
    >>> metrics_layout(["timestamp", "server_id", "colour"], "m.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fleetcast.errors.InputError: m.csv: unknown column(s) colour: metric columns must be ...
    """
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"column(s) {', '.join(repeated)} appear more than once in the header", path=where)
    ts_col = cols.find_column(names, cols.TIMESTAMP_NAMES)
    if ts_col is None:
        raise InputError(f"no timestamp column (expected one of {', '.join(cols.TIMESTAMP_NAMES)}); "
                         f"columns are: {', '.join(names)}", path=where)
    server_col = cols.find_column(names, cols.SERVER_NAMES)
    metric_col = cols.find_column(names, ("metric", "metric_name"))
    value_col = cols.find_column(names, ("value", "val"))
    if metric_col and value_col and server_col:
        return "long"
    if server_col is None:
        if value_col is None or len([c for c in names if c != ts_col]) != 1:
            raise InputError(f"no server column (expected one of {', '.join(cols.SERVER_NAMES)}), and "
                             f"not a single 'timestamp,value' series; columns are: {', '.join(names)}", path=where)
        return "single"
    value_cols = [c for c in names if c not in (ts_col, server_col)]
    unknown = [c for c in value_cols if cols.metric_name(c) is None]
    if unknown or not value_cols:
        what = f"unknown column(s) {', '.join(unknown)}" if unknown else "no metric columns"
        raise InputError(f"{what}: {cols.known_metrics_hint()}", path=where)
    return "wide"


def _format(s3: Any, upload: Upload, local: Path, kind: str, *, whole: bool, session: Any) -> str:
    head = head_bytes(local)
    if kind == ACCESS_LOG:
        lines = [ln for ln in head.decode("utf-8", "replace").splitlines()[:100] if ln.strip()]
        return "combined" if sum(bool(_COMBINED.search(ln)) for ln in lines) * 2 > len(lines) else "clf"
    if head.startswith(PARQUET_MAGIC):
        names = _parquet_columns(upload, local, whole=whole, session=session)
        return f"parquet-{metrics_layout(names, upload.uri)}" if names is not None else "parquet"
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    header, _, body = text.partition("\n")
    header = header.rstrip("\r")
    names = [name.strip() for name in header.split(csv_separator(header))]
    layout = metrics_layout(names, upload.uri)
    if whole and not body.strip():
        raise InputError("file has a header but no data rows", path=upload.uri)
    return f"csv-{layout}"


def _parquet_columns(upload: Upload, local: Path, *, whole: bool, session: Any) -> list[str] | None:
    """Column names from the Parquet footer (None for gzip-compressed Parquet: left to the aggregation)."""
    import pyarrow.parquet as pq

    with open(local, "rb") as fh:
        if fh.read(2) == GZIP_MAGIC:
            return None
    try:
        if whole:
            return pq.read_schema(local).names
        import awswrangler as wr

        meta = wr.s3.read_parquet_metadata(upload.uri, version_id=upload.version_id, boto3_session=session)
        return list(meta.columns_types)
    except Exception as exc:  # pyarrow and awswrangler raise several error types for a broken footer
        raise InputError(f"unreadable Parquet file ({exc})", path=upload.uri) from None


def _locate(s3: Any, upload: Upload) -> tuple[Upload, int]:
    """The upload as it exists (S3 event keys may be URL-encoded) and its size."""
    for key in dict.fromkeys([upload.key, unquote_plus(upload.key)]):
        candidate = Upload(upload.bucket, key, upload.version_id, upload.size, upload.etag)
        try:
            head = s3.head_object(**_object_args(candidate))
            return candidate, int(head["ContentLength"])
        except s3.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NoSuchVersion", "NotFound"):
                raise
    raise InputError("the object no longer exists (deleted or replaced before it was validated)", path=upload.uri)


def _get(s3: Any, upload: Upload, byte_range: str | None = None) -> Any:
    args = _object_args(upload)
    if byte_range:
        args["Range"] = byte_range
    return s3.get_object(**args)["Body"]


def _object_args(upload: Upload) -> dict[str, str]:
    args = {"Bucket": upload.bucket, "Key": upload.key}
    if upload.version_id:
        args["VersionId"] = upload.version_id
    return args


def _identity(upload: Upload) -> str:
    """A stable id for an upload too large (or gone) to fingerprint: its bucket, key and version."""
    return hashlib.sha256(f"{upload.uri}@{upload.version_id}".encode()).hexdigest()[:16]


def _reject_row(source_id: str, uri: str, reason: str, run_id: str) -> pa.Table:
    return pa.table({"source_id": [source_id], "file": [uri], "line": pa.nulls(1, pa.int64()),
                     "field": pa.nulls(1, pa.string()), "reason": [reason], "raw": pa.nulls(1, pa.string()),
                     "run_id": [run_id]}, schema=REJECTS.schema)


class _Prefixed:
    """A stream with bytes already read put back in front (for sniffing the gzip magic)."""

    def __init__(self, prefix: bytes, stream: Any) -> None:
        self._prefix, self._stream = prefix, stream

    def read(self, n: int = -1) -> bytes:
        if not self._prefix:
            return self._stream.read(n) if n is not None and n >= 0 else self._stream.read()
        if n is None or n < 0:
            data, self._prefix = self._prefix + self._stream.read(), b""
            return data
        data, self._prefix = self._prefix[:n], self._prefix[n:]
        return data + (self._stream.read(n - len(data)) if len(data) < n else b"")
