"""Parse web-server access logs in Common and Combined Log Format.

A line looks like::

    host ident user [01/Aug/1995:00:00:01 -0400] "GET /path HTTP/1.0" 200 1839 ["referrer" "agent"]

Parsing is vectorised: the fast path takes the fields of all lines of a chunk at once, in C
(``_clf.c``) where the extension is built, otherwise with one Polars regular expression
(:mod:`clf_layout`); both apply the same rules. Lines the fast path does not accept go through a
slower line-by-line parser that either accepts them (odd but real requests: escaped or unescaped
quotes in the request) or rejects them with a reason. Every line of a chunk ends up in exactly one
of the two outputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import polars as pl
import pyarrow as pa

from fleetcast.ingest import clf_layout
from fleetcast.ingest.reader import NATIVE, Chunk, make_chunk

RAW_TEXT_LIMIT = 500
MONTHS = {m: i + 1 for i, m in enumerate(clf_layout.MONTHS)}

# Fields of a parsed request, in order. ``ts`` is UTC; ``utc_offset_min`` keeps the logged offset.
FIELDS = ("line", "host", "ts", "utc_offset_min", "method", "path", "protocol", "status", "bytes",
          "referrer", "user_agent")
SCHEMA = {
    "line": pl.Int64, "host": pl.String, "ts": pl.Datetime("us"), "utc_offset_min": pl.Int16,
    "method": pl.String, "path": pl.String, "protocol": pl.String, "status": pl.Int16,
    "bytes": pl.Int64, "referrer": pl.String, "user_agent": pl.String,
}
REJECT_SCHEMA = {"line": pl.Int64, "reason": pl.String, "raw": pl.String}
NATIVE_FIELDS = ("line", "host", "ts", "utc_offset_min", "status", "bytes")  # what the C fast path gives


@dataclass(frozen=True)
class ParsedChunk:
    """Requests parsed from a chunk and the lines rejected, with their line numbers.

    ``repaired`` counts lines that were split in two by a stray line break and parsed joined
    (each such pair gives one record, numbered after its first line).
    """

    records: pl.DataFrame
    rejects: pl.DataFrame
    repaired: int = 0


def parse_chunk(chunk: Chunk, columns: tuple[str, ...] = FIELDS) -> ParsedChunk:
    """Parse every line of ``chunk`` into ``columns`` of :data:`FIELDS`, or reject it with a reason.

    Examples
    --------
    >>> import numpy as np
    >>> data = b'h1 - - [01/Aug/1995:00:00:01 -0400] "GET / HTTP/1.0" 200 7\\nnot a log line\\n'
    >>> ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    >>> out = parse_chunk(Chunk(data, ends, first_line=1), columns=("line", "ts", "status"))
    >>> out.records.rows()
    [(1, datetime.datetime(1995, 8, 1, 4, 0, 1), 200)]
    >>> out.rejects["reason"].to_list()
    ["does not start with 'host ident user [timestamp]'"]
    """
    wanted = [c for c in FIELDS if c in columns]
    if NATIVE is not None and set(wanted) <= set(NATIVE_FIELDS):
        good, slow_lines = _native_path(chunk, wanted)
    else:
        frame = _fast_path(_lines_frame(chunk), wanted)
        good = frame.filter(pl.col("_ok")).select(wanted)
        slow_lines = frame.filter(~pl.col("_ok")).select("line", "text")
    if slow_lines.height == 0:
        return ParsedChunk(good, pl.DataFrame(schema=REJECT_SCHEMA))
    parsed, rejects, repaired = _parse_slowly(slow_lines)
    if parsed:
        extra = pl.DataFrame(parsed, schema=SCHEMA, orient="row").select(wanted)
        good = pl.concat([good, extra]).sort("line")
    rejects = pl.DataFrame(rejects, schema=REJECT_SCHEMA, orient="row")
    if "host" in wanted and repaired:  # only where split lines are proven: a lone word may be junk
        good, rejects, joined = _rejoin_split_hosts(good, rejects)
        repaired += joined
    if not chunk.ends_with_break:
        last = chunk.first_line + chunk.n_lines - 1
        rejects = rejects.with_columns(
            reason=pl.when(pl.col("line") == last)
            .then(pl.lit("last line is cut short (the file ends without a line break): ") + pl.col("reason"))
            .otherwise(pl.col("reason")))
    return ParsedChunk(good, rejects, repaired)


def _rejoin_split_hosts(good: pl.DataFrame, rejects: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """A rejected line that is only the start of a host name, followed by a parsed line, was split.

    The parsed line then carries the host's tail (``in24.inetnebr.`` + ``com - - [...``): prefix it.
    Used only in chunks where other split lines were proven by joining two failing halves.
    """
    fragments = rejects.filter(pl.col("raw").str.contains(r"^[A-Za-z0-9.\-:]+$"))
    if fragments.height == 0:
        return good, rejects, 0
    heads = fragments.select((pl.col("line") + 1).alias("line"), pl.col("raw").alias("_head"))
    patched = good.join(heads, on="line", how="left")
    joined = patched.filter(pl.col("_head").is_not_null())["line"] - 1
    good = patched.with_columns(host=pl.coalesce(pl.col("_head") + pl.col("host"), pl.col("host")))
    return good.drop("_head"), rejects.filter(~pl.col("line").is_in(joined.implode())), 2 * joined.len()


def _lines_frame(chunk: Chunk) -> pl.DataFrame:
    """The chunk's lines (line breaks kept) as ``text``, with their numbers as ``line``.

    Invalid UTF-8 bytes become U+FFFD (line breaks are ASCII, so lines stay intact).
    """
    data = chunk.data
    try:
        text = _binary_lines(data, chunk.line_ends, chunk.n_lines).cast(pl.String)  # checks UTF-8 fast
    except pl.exceptions.ComputeError:
        data = bytes(data).decode("utf-8", "replace").encode("utf-8")
        text = _binary_lines(data, make_chunk(data).line_ends, chunk.n_lines).cast(pl.String)
    numbers = pl.int_range(chunk.first_line, chunk.first_line + chunk.n_lines, dtype=pl.Int64, eager=True)
    return pl.DataFrame({"line": numbers, "text": text})


def _binary_lines(data: bytes | memoryview, line_ends: np.ndarray, n: int) -> pl.Series:
    return _binary(data, _line_offsets(data, line_ends, n), n).alias("text")


def _line_offsets(data: bytes | memoryview, line_ends: np.ndarray, n: int) -> np.ndarray:
    """Where each of the ``n`` lines starts in ``data``, and where the last one ends (``n + 1``)."""
    offsets = np.empty(n + 1, np.int64)
    offsets[0] = 0
    offsets[1: len(line_ends) + 1] = line_ends + 1
    offsets[n] = len(data)
    return offsets


def _binary(data: bytes | memoryview | np.ndarray, offsets: np.ndarray, n: int) -> pl.Series:
    """The ``n`` byte strings ``data[offsets[i]:offsets[i + 1]]``, without copying them."""
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pl.Series(_ArrowArray(pa.Array.from_buffers(pa.large_binary(), n, buffers)))


class _ArrowArray:
    """A pyarrow array offered to Polars through the Arrow PyCapsule interface only: taking a
    pyarrow array directly makes Polars import ``pyarrow.compute`` (~0.1 s at start-up)."""

    def __init__(self, array: pa.Array) -> None:
        self.array = array

    def __arrow_c_array__(self, requested_schema: object = None) -> tuple[object, object]:
        return self.array.__arrow_c_array__(requested_schema)


def _native_path(chunk: Chunk, wanted: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The fast path in C (``fleetcast/ingest/_clf.c``, same rules as :func:`_fast_path`): the
    ``wanted`` fields of the accepted lines, and ``line, text`` of the others."""
    n = chunk.n_lines
    offsets = _line_offsets(chunk.data, chunk.line_ends, n)
    ok = np.empty(n, np.uint8)
    index, ts, size = (np.empty(n, np.int64) for _ in range(3))
    offset_min, status = np.empty(n, np.int16), np.empty(n, np.int16)
    host_offsets, host_data = np.empty(n + 1, np.int64), np.empty(len(chunk.data), np.uint8)
    m, used = NATIVE.scan(chunk.data, offsets, ok, index, ts, offset_min, status, size, host_offsets, host_data)
    fields = {
        "line": lambda: pl.Series(index[:m] + chunk.first_line),
        "host": lambda: _binary(host_data[:used], host_offsets[: m + 1], m).cast(pl.String),
        "ts": lambda: pl.Series(ts[:m] * 1_000_000).cast(pl.Datetime("us")),
        "utc_offset_min": lambda: pl.Series(offset_min[:m]),
        "status": lambda: pl.Series(status[:m]),
        "bytes": lambda: pl.Series(size[:m]).set(pl.Series(size[:m] < 0), None),
    }
    good = pl.DataFrame({c: fields[c]().alias(c) for c in wanted})
    if m == n:
        return good, pl.DataFrame(schema={"line": pl.Int64, "text": pl.String})
    return good, _lines_frame(chunk).filter(pl.Series(ok == 0))


def _fast_path(lines: pl.DataFrame, wanted: list[str]) -> pl.DataFrame:
    """``lines`` with the fast path's fields in ``wanted`` and ``_ok`` (the line has the exact layout)."""
    request = {"method", "path", "protocol"} & set(wanted)
    parts = tuple(p for p in clf_layout.TEXT_PARTS if p in wanted or (p == "request" and request))
    captured = pl.col("text").str.extract_groups(clf_layout.pattern(parts))  # all null: no match
    fields = lines.with_columns(captured.alias("_f")).unnest("_f")
    stamps = _decode_time(fields["minute"], fields["second"], fields["zone"])
    status = pl.col("status").cast(pl.Int16)
    query = pl.concat([fields, stamps], how="horizontal").lazy().with_columns(
        _ok=pl.col("valid") & (status >= 100) & (status <= 599),
        status=status, bytes=pl.col("size").cast(pl.Int64, strict=False))
    if request:
        query = query.with_columns(_request_fields(pl.col("request")))
    return query.select("line", *[c for c in wanted if c != "line"], "text", "_ok").collect()


def _decode_time(minute: pl.Series, second: pl.Series, zone: pl.Series) -> pl.DataFrame:
    """UTC time ``ts``, logged ``utc_offset_min`` and ``valid`` of the captured time stamps.

    A stamp is valid when its date exists, hour < 24, minute < 60, second <= 60, the year is 1970 or
    later and the offset within ±18 h; ``ts`` and ``utc_offset_min`` are null where it is not (and
    where the captures are null). Logs are in time order, so consecutive lines mostly share the
    minute: it is decoded once per run of equal minutes and spread over the run.

    Examples
    --------
    >>> _decode_time(pl.Series(["29/Feb/2024:23:59", "31/Feb/2024:00:00", None]), pl.Series(["59", "00", None]),
    ...             pl.Series(["+0530", "+0000", None])).rows()
    [(datetime.datetime(2024, 2, 29, 18, 29, 59), 330, True), (None, None, False), (None, None, False)]
    """
    run = pl.DataFrame({"m": minute, "z": zone}).select(pl.struct("m", "z").rle_id()).to_series().to_numpy()
    first = np.ones(len(run), bool)
    first[1:] = run[1:] != run[:-1]
    pairs = zip(minute.filter(first).to_list(), zone.filter(first).to_list(), strict=True)
    heads = [clf_layout.minute_epoch(m, z) for m, z in pairs]
    epoch = np.array([h[0] for h in heads], np.int64)[run]
    offset = np.array([h[1] for h in heads], np.int64)[run]
    seconds = second.cast(pl.Int64).fill_null(99).to_numpy()
    invalid = pl.Series((epoch == clf_layout.INVALID) | (seconds > 60))
    return pl.DataFrame({
        "ts": pl.Series("ts", (epoch + seconds) * 1_000_000).cast(pl.Datetime("us")).set(invalid, None),
        "utc_offset_min": pl.Series("utc_offset_min", offset, pl.Int16).set(invalid, None),
        "valid": ~invalid,
    })


def _request_fields(request: pl.Expr) -> list[pl.Expr]:
    """Method, path and protocol of the quoted request, split as :func:`parse_line` does."""
    words = request.str.split(" ")
    n_words = words.list.len()
    well_formed = n_words >= 2
    has_protocol = well_formed & words.list.last().str.starts_with("HTTP/")
    return [
        pl.when(well_formed).then(words.list.first()).alias("method"),
        pl.when(has_protocol).then(words.list.slice(1, n_words - 2).list.join(" "))
        .when(well_formed).then(words.list.slice(1).list.join(" "))
        .alias("path"),
        pl.when(has_protocol).then(words.list.last()).alias("protocol"),
    ]


# --- the slow path: one line at a time, for the few lines the fast path did not accept ---------

_PREFIX = re.compile(r"^(\S+) \S+ \S+ \[([^\]]*)\] ?(.*)$", re.S)
_STAMP_PARTS = re.compile(r"^(\d{2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$")
_STATUS_SIZE_PREFIX = re.compile(r'^".*" \d{3} (\d+|-)', re.S)
_AFTER_STAMP = re.compile(r'^"(.*)" (\d{3}) (\d+|-)(?: "(.*?)" "(.*)")?[ \t]*$', re.S)


def _parse_slowly(lines: pl.DataFrame) -> tuple[list[tuple], list[tuple], int]:
    """Parse lines one by one; join a failing line with the next failing one when that parses."""
    numbers = lines["line"].to_list()
    texts = [t.rstrip("\r\n") for t in lines["text"].to_list()]
    outcomes = [parse_line(t) for t in texts]
    parsed, rejected, repaired = [], [], 0
    i = 0
    while i < len(texts):
        outcome = outcomes[i]
        if isinstance(outcome, str) and i + 1 < len(texts) and numbers[i + 1] == numbers[i] + 1 \
                and isinstance(outcomes[i + 1], str):
            joined = parse_line(texts[i] + texts[i + 1])
            if not isinstance(joined, str):
                parsed.append((numbers[i], *joined))
                repaired += 2
                i += 2
                continue
        if isinstance(outcome, str):
            rejected.append((numbers[i], outcome, texts[i][:RAW_TEXT_LIMIT]))
        else:
            parsed.append((numbers[i], *outcome))
        i += 1
    return parsed, rejected, repaired


def parse_line(text: str) -> tuple | str:
    """Parse one line into the :data:`FIELDS` after ``line``, or return why it is rejected.

    Examples
    --------
    >>> parse_line('h - - [01/Aug/1995:00:00:01 -0400] "GET /a"b HTTP/1.0" 404 -')[4:7]
    ('/a"b', 'HTTP/1.0', 404)
    >>> parse_line('h - - [01/Aug/1995:00:00:01 -0400] "GET /shuttle/missions')
    'request is not closed by a quote followed by status and size (line cut short?)'
    """
    if not text.strip():
        return "empty line"
    head = _PREFIX.match(text)
    if not head:
        return "does not start with 'host ident user [timestamp]'"
    host, stamp, rest = head.groups()
    ts = _parse_stamp(stamp)
    if ts is None:
        return f"timestamp [{stamp[:40]}] is not dd/Mon/yyyy:HH:MM:SS ±hhmm"
    utc, offset = ts
    body = _AFTER_STAMP.match(rest)
    if not body:
        if rest.count('"') < 2:
            return "request is not closed by a quote followed by status and size (line cut short?)"
        if _STATUS_SIZE_PREFIX.match(rest):
            return "unexpected text after the size (not Common or Combined Log Format)"
        return "no status and size after the request"
    request, status_text, size, referrer, agent = body.groups()
    status = int(status_text)
    if not 100 <= status <= 599:
        return f"status {status} is not an HTTP status code"
    words = request.split(" ")
    method = path = protocol = None
    if len(words) >= 2:
        method = words[0]
        if words[-1].startswith("HTTP/"):
            protocol, path = words[-1], " ".join(words[1:-1])
        else:
            path = " ".join(words[1:])
    return (host, utc, offset, method, path, protocol, status,
            None if size == "-" else int(size), referrer, agent)


def _parse_stamp(stamp: str) -> tuple[datetime, int] | None:
    parts = _STAMP_PARTS.match(stamp)
    if not parts:
        return None
    day, mon, year, hh, mm, ss, sign, oh, om = parts.groups()
    if mon not in MONTHS:
        return None
    offset = (1 if sign == "+" else -1) * (int(oh) * 60 + int(om))
    try:
        local = datetime(int(year), MONTHS[mon], int(day), int(hh), int(mm), int(ss),
                         tzinfo=timezone(timedelta(minutes=offset)))
    except ValueError:
        return None
    return local.astimezone(UTC).replace(tzinfo=None), offset
