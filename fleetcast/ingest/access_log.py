"""Parse web-server access logs in Common and Combined Log Format.

A line looks like::

    host ident user [01/Aug/1995:00:00:01 -0400] "GET /path HTTP/1.0" 200 1839 ["referrer" "agent"]

Parsing is vectorised: numpy locates the fields of all lines at once (:mod:`clf_layout`) and Polars
slices the text fields out. Lines the fast path does not accept go through a slower line-by-line
parser that either accepts them (odd but real requests: escaped or unescaped quotes in the request)
or rejects them with a reason. Every line of a chunk ends up in exactly one of the two outputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import polars as pl
import pyarrow as pa

from fleetcast.ingest import clf_layout
from fleetcast.ingest.reader import Chunk

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
    lines, starts, ends = _lines_series(chunk)
    first_space = lines.str.find(" ", literal=True).fill_null(-1).to_numpy()
    layout = clf_layout.decode(chunk.data, starts, ends, first_space)
    if layout.check_ident.any():
        layout.ok[layout.check_ident] = _ident_user_ok(lines.filter(pl.Series(layout.check_ident)),
                                                       layout.host_end[layout.check_ident])
    wanted = [c for c in FIELDS if c in columns]
    numbers = np.arange(chunk.first_line, chunk.first_line + len(starts), dtype=np.int64)
    ok = pl.Series(layout.ok)
    good = _fast_records(lines.filter(ok), numbers[layout.ok], layout, wanted)
    slow_lines = pl.DataFrame({"line": numbers[~layout.ok], "text": lines.filter(~ok)})
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
    if not chunk.data.endswith(b"\n"):
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


def _lines_series(chunk: Chunk) -> tuple[pl.Series, np.ndarray, np.ndarray]:
    """The chunk's lines as a string Series (line breaks kept), their starts and ends (no break)."""
    breaks = chunk.line_ends.astype(np.int64)
    ends = np.append(breaks, len(chunk.data)) if chunk.n_lines > len(breaks) else breaks
    starts = np.concatenate([[0], breaks[: len(ends) - 1] + 1]).astype(np.int64)
    offsets = np.append(starts, min(len(chunk.data), ends[-1] + 1) if len(ends) else 0)
    array = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(chunk.data))
    return pl.Series("text", array), starts, ends


def _ident_user_ok(text: pl.Series, host_end: np.ndarray) -> np.ndarray:
    """Whether ``host ident user [`` has exactly two non-empty fields between host and bracket."""
    bracket = text.str.find("[", literal=True)
    fields = text.str.slice(pl.Series(host_end + 1), bracket - pl.Series(host_end) - 2)
    return fields.str.contains(r"^\S+ \S+$").fill_null(False).to_numpy()


def _fast_records(text: pl.Series, numbers: np.ndarray, layout: clf_layout.Layout,
                  wanted: list[str]) -> pl.DataFrame:
    """The requests of the lines with the exact layout, fields sliced at the offsets found."""
    ok = layout.ok
    columns = {
        "line": pl.Series(numbers),
        "ts": pl.Series(layout.epoch_s[ok] * 1_000_000).cast(pl.Datetime("us")),
        "utc_offset_min": pl.Series(layout.offset_min[ok]).cast(pl.Int16),
        "status": pl.Series(layout.status[ok]).cast(pl.Int16),
        "bytes": pl.Series(layout.size[ok]).set(pl.Series(~layout.has_size[ok]), None),
    }
    frame = pl.DataFrame({"text": text, **{k: v for k, v in columns.items() if k in wanted}})
    if not {"host", "method", "path", "protocol", "referrer", "user_agent"} & set(wanted):
        return frame.select(wanted)
    at = {name: pl.Series(values[ok]) for name, values in (
        ("_host_end", layout.host_end), ("_req0", layout.request[0]), ("_req1", layout.request[1]),
        ("_ref0", layout.referrer[0]), ("_ref1", layout.referrer[1]),
        ("_ua0", layout.agent[0]), ("_ua1", layout.agent[1]), ("_combined", layout.combined))}
    return frame.with_columns(**at).lazy().with_columns(_text_fields()).select(wanted).collect()


def _text_fields() -> list[pl.Expr]:
    text = pl.col("text")
    request = text.str.slice(pl.col("_req0"), pl.col("_req1") - pl.col("_req0"))
    words = request.str.split(" ")
    n_words = words.list.len()
    well_formed = n_words >= 2
    has_protocol = well_formed & words.list.last().str.starts_with("HTTP/")
    combined = pl.col("_combined")
    return [
        text.str.slice(0, pl.col("_host_end")).alias("host"),
        pl.when(well_formed).then(words.list.first()).alias("method"),
        pl.when(has_protocol).then(words.list.slice(1, n_words - 2).list.join(" "))
        .when(well_formed).then(words.list.slice(1).list.join(" "))
        .alias("path"),
        pl.when(has_protocol).then(words.list.last()).alias("protocol"),
        pl.when(combined).then(text.str.slice(pl.col("_ref0"), pl.col("_ref1") - pl.col("_ref0")))
        .alias("referrer"),
        pl.when(combined).then(text.str.slice(pl.col("_ua0"), pl.col("_ua1") - pl.col("_ua0")))
        .alias("user_agent"),
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
