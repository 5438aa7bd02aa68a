"""A synthetic web-server access log in Combined Log Format, with its exact per-minute truth.

A line::

    203.0.113.7 - - [03/Mar/2025:09:14:02 -0500] "GET /docs/install HTTP/1.1" 200 12873 "-" "Mozilla/5.0 …"

Requests arrive per minute as Poisson counts around the :mod:`~fleetcast.generate.traffic` rate
(daily and weekly cycles in the log's local time, flash-crowd bursts), with a little extra
minute-to-minute variation. Hosts are drawn from a Zipf-like population (a few heavy hitters, a
long tail), each with its own user agent. About 2% of answers are 4xx, 5xx are rare except in
bursts (overload), 304 and HEAD answers and some 404 carry ``-`` bytes. The outage span has no
line at all. Everything is vectorised: about a million lines in a few seconds.
"""

from __future__ import annotations

import gzip as gzip_module
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from fleetcast.generate import noise, traffic
from fleetcast.generate.log_pools import MONTHS, PROBE, build_hosts, build_paths, referrers, user_agents
from fleetcast.generate.timegrid import as_datetime

CHUNK_LINES = 250_000
DEFAULT_OUTAGE = (timedelta(hours=14, minutes=37, seconds=12), timedelta(hours=3, minutes=22, seconds=41))
# share of answers by status outside the 5xx draw (the rest is 200)
STATUS_SHARES = ((304, 0.07), (302, 0.012), (301, 0.008), (404, 0.012), (403, 0.003), (401, 0.002),
                 (400, 0.001), (206, 0.002))
SERVER_ERRORS = ((500, 0.3), (502, 0.2), (503, 0.4), (504, 0.1))


@dataclass(frozen=True)
class LogTruth:
    """What a generated access log contains, for tests that check aggregation against it.

    Attributes
    ----------
    path
        The file written.
    minutes
        One row per UTC minute of the span: ``minute`` (naive UTC), ``expected_rate`` (mean requests
        per minute of the process, bursts included, outage ignored), ``logged_seconds`` (0 inside
        the outage, 60 outside), and what was written: ``lines``, ``bytes_total`` (``-`` counts 0),
        ``status_4xx``, ``status_5xx``, ``unique_hosts``.
    outage
        ``(start, end)`` in naive UTC, end exclusive, or None.
    bursts
        ``start, end, peak_multiplier`` of each flash crowd (naive UTC).
    utc_offset
        The offset written in every timestamp, e.g. ``-0500``.
    n_lines
        Lines in the file.
    """

    path: Path
    minutes: pl.DataFrame
    outage: tuple[datetime, datetime] | None
    bursts: pl.DataFrame
    utc_offset: str
    n_lines: int


def generate_access_log(path: str | Path, start: str | date | datetime = "2025-03-03T05:00:00Z",
                        days: int = 7, base_rate_per_min: float = 60.0, seed: int = 0, gzip: bool = False,
                        outage: tuple | str | None = "default", utc_offset: str = "-0500",
                        n_bursts: int | None = None) -> LogTruth:
    """Write a Combined Log Format access log and return its truth.

    Parameters
    ----------
    path
        File to write (parent folders are created).
    start
        First UTC instant of the log (a date means midnight UTC). The default is Monday 00:00 in
        the default ``utc_offset``, so a 7-day log covers one local week.
    days
        Length of the log in days.
    base_rate_per_min
        Mean requests per minute over a week, bursts not counted (60 gives ~0.6 million lines a week).
    seed
        Seed of ``numpy.random.default_rng``; same arguments and seed give the same bytes.
    gzip
        Write gzip (no file name or time in the header, so the bytes stay the same).
    outage
        ``"default"``: 3 h 22 min 41 s from 14:37:12 UTC on the middle day; None: no outage; or
        ``(start, end)`` UTC (ISO strings or datetimes), end exclusive, inside the span.
    utc_offset
        Local time of the server, written in every timestamp (default ``-0500``, US Eastern
        standard time); the daily and weekly cycles follow it.
    n_bursts
        Flash crowds (default: one per 3 days, at least one), never within an hour of the outage.

    Returns
    -------
    LogTruth

    Examples
    --------
    >>> import tempfile
    >>> truth = generate_access_log(Path(tempfile.mkdtemp()) / "access.log", days=1, base_rate_per_min=5)
    >>> truth.n_lines == truth.minutes["lines"].sum()
    True
    >>> truth.outage
    (datetime.datetime(2025, 3, 3, 14, 37, 12), datetime.datetime(2025, 3, 3, 17, 59, 53))
    >>> truth.path.read_text()[:60]
    'cpe-d24437.fiber.example.org - - [03/Mar/2025:00:00:24 -0500'
    >>> int(truth.minutes.filter(pl.col("logged_seconds") == 0)["lines"].sum())
    0
    """
    first, offset_min = as_datetime(start), traffic.parse_offset(utc_offset)
    if days < 1 or base_rate_per_min <= 0:
        raise ValueError("days must be at least 1 and base_rate_per_min positive")
    rng = np.random.default_rng(seed)
    n_min = days * 1440
    span = _outage_span(first, days, outage)
    second = timedelta(seconds=1)
    hole = None if span is None else ((span[0] - first) // second, (span[1] - first) // second)
    count = max(1, round(days / 3)) if n_bursts is None else n_bursts
    avoid = None if hole is None else (hole[0] // 60, hole[1] // 60 + 1)
    mult = traffic.burst_multiplier(n_min, bursts := traffic.draw_bursts(rng, n_min, count, avoid))
    week = traffic.minute_of_week(first, n_min, 1, offset_min)
    expected = base_rate_per_min * traffic.weekly_profile()[week] * mult
    wobble = np.exp(0.1 * noise.ar1(rng, 1, n_min, 0.9)[0] - 0.005)
    seconds = np.repeat(np.arange(n_min, dtype=np.int64) * 60, rng.poisson(expected * wobble))
    seconds += rng.integers(0, 60, len(seconds))
    seconds.sort()
    if hole is not None:
        seconds = seconds[(seconds < hole[0]) | (seconds >= hole[1])]
    fields = _draw_fields(rng, seconds // 60, mult)
    _write(Path(path), first, offset_min, utc_offset, seconds, fields, gzip)
    minutes = _per_minute(first, n_min, expected, hole, seconds // 60, fields)
    burst_frame = pl.DataFrame({
        "start": [first + timedelta(minutes=b.start) for b in bursts],
        "end": [first + timedelta(minutes=b.start + b.length) for b in bursts],
        "peak_multiplier": [b.peak for b in bursts],
    }, schema={"start": pl.Datetime("us"), "end": pl.Datetime("us"), "peak_multiplier": pl.Float64})
    return LogTruth(Path(path), minutes, span, burst_frame, utc_offset, len(seconds))


def _outage_span(first: datetime, days: int, outage: tuple | str | None) -> tuple[datetime, datetime] | None:
    if outage is None:
        return None
    if isinstance(outage, str):
        if outage != "default":
            raise ValueError(f"outage must be 'default', None or (start, end), not {outage!r}")
        begin = datetime(first.year, first.month, first.day) + timedelta(days=days // 2) + DEFAULT_OUTAGE[0]
        span = (begin, begin + DEFAULT_OUTAGE[1])
    else:
        span = (as_datetime(outage[0]), as_datetime(outage[1]))
    if not first <= span[0] < span[1] <= first + timedelta(days=days):
        raise ValueError(f"outage {span[0]} – {span[1]} is not inside the log's span")
    return span


def _draw_fields(rng: np.random.Generator, minute: np.ndarray, mult: np.ndarray) -> dict[str, np.ndarray]:
    """Per-line indices into the string pools, status codes and byte counts (-1 = ``-``)."""
    n, paths = len(minute), build_paths(rng)
    fields: dict[str, np.ndarray] = {}
    n_hosts = int(np.clip(n / 30, 500, 200_000))
    weights = 1.0 / (np.arange(n_hosts) + 5.0) ** 1.1
    fields["host"] = rng.choice(n_hosts, size=n, p=weights / weights.sum())
    agents, agent_weights = user_agents()
    fields["agent"] = rng.choice(len(agents), size=n_hosts, p=agent_weights)[fields["host"]]
    path_weights = 1.0 / (np.arange(len(paths.text)) + 3.0) ** 1.2
    fields["path"] = rng.choice(len(paths.text), size=n, p=path_weights / path_weights.sum())
    kind = paths.kind[fields["path"]]
    api = kind == "api"
    u = rng.random(n)
    fields["method"] = np.where(api, np.searchsorted([0.7, 0.95, 0.98], u, side="right"),
                                np.where(u < 0.03, 4, 0))  # GET POST PUT DELETE HEAD
    fields["protocol"] = (rng.random(n) < 0.04).astype(np.int64)
    fields["status"] = _statuses(rng, np.minimum(0.001 + 0.006 * (mult[minute] - 1.0), 0.06), kind == PROBE)
    fields["bytes"] = _bytes(rng, fields["status"], paths.size[fields["path"]], fields["method"] == 4)
    pool = referrers(paths)
    fields["referrer"] = rng.choice(len(pool.text), size=n, p=pool.weights)
    fields["_pools"] = np.array([build_hosts(rng, n_hosts), agents, paths.text, pool.text], dtype=object)
    return fields


def _statuses(rng: np.random.Generator, p_5xx: np.ndarray, probe: np.ndarray) -> np.ndarray:
    u = rng.random(len(p_5xx))
    codes = np.array([code for code, _ in STATUS_SHARES] + [200])
    edges = np.cumsum([share for _, share in STATUS_SHARES])
    status = codes[np.searchsorted(edges, (u - p_5xx) / (1.0 - p_5xx), side="right")]
    errors = np.array([code for code, _ in SERVER_ERRORS])
    server = errors[rng.choice(len(errors), size=len(u), p=[w for _, w in SERVER_ERRORS])]
    status = np.where(u < p_5xx, server, status)
    return np.where(probe & (status < 500), 404, status)


def _bytes(rng: np.random.Generator, status: np.ndarray, median: np.ndarray, head: np.ndarray) -> np.ndarray:
    body = np.round(median * rng.lognormal(0.0, 0.6, len(status))).astype(np.int64)
    small = np.round(rng.lognormal(np.log(300), 0.3, len(status))).astype(np.int64)
    out = np.where((status == 200) | (status == 206), body, small)
    u = rng.random(len(status))
    dash = head | ((status == 304) & (u < 0.85)) | ((status == 404) & (u < 0.4))
    out = np.where(status == 304, 0, out)
    return np.where(dash, -1, out)


def _write(path: Path, first: datetime, offset_min: int, offset: str, seconds: np.ndarray,
           fields: dict[str, np.ndarray], gzip: bool) -> None:
    hosts, agents, paths, refs = (pl.Series(list(p), dtype=pl.String) for p in fields["_pools"])
    local0 = first + timedelta(minutes=offset_min)
    n_minutes = int(seconds[-1] // 60) + 1 if len(seconds) else 0
    stamps = [(local0 + timedelta(minutes=m)) for m in range(n_minutes)]
    prefix = pl.Series([f"{t.day:02d}/{MONTHS[t.month - 1]}/{t.year}:{t:%H:%M}:" for t in stamps])
    second = pl.Series([f"{s:02d} {offset}] \"" for s in range(60)])
    methods = pl.Series(["GET ", "POST ", "PUT ", "DELETE ", "HEAD "])
    protocols = pl.Series([" HTTP/1.1\" ", " HTTP/1.0\" "])

    def lines(part: slice) -> pl.DataFrame:
        size = pl.Series(fields["bytes"][part]).cast(pl.String)
        return pl.select(line=pl.concat_str([
            hosts.gather(fields["host"][part]), pl.lit(" - - ["), prefix.gather(seconds[part] // 60),
            second.gather(seconds[part] % 60), methods.gather(fields["method"][part]),
            paths.gather(fields["path"][part]), protocols.gather(fields["protocol"][part]),
            pl.Series(fields["status"][part]).cast(pl.String), pl.lit(" "),
            pl.when(size == "-1").then(pl.lit("-")).otherwise(size), pl.lit(" \""),
            refs.gather(fields["referrer"][part]), pl.lit("\" \""), agents.gather(fields["agent"][part]),
            pl.lit("\""),
        ]))

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw:
        # no name and no time in the gzip header: the same log gives the same bytes
        out = gzip_module.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) \
            if gzip else raw
        for lo in range(0, len(seconds), CHUNK_LINES):
            lines(slice(lo, lo + CHUNK_LINES)).write_csv(out, include_header=False, quote_style="never")
        if gzip:
            out.close()


def _per_minute(first: datetime, n_min: int, expected: np.ndarray, hole: tuple[int, int] | None,
                minute: np.ndarray, fields: dict[str, np.ndarray]) -> pl.DataFrame:
    starts = np.arange(n_min, dtype=np.int64) * 60
    logged = np.full(n_min, 60)
    if hole is not None:
        logged -= np.clip(np.minimum(starts + 60, hole[1]) - np.maximum(starts, hole[0]), 0, 60)
    status, stride = fields["status"], int(fields["host"].max(initial=0)) + 1
    pairs = np.sort(minute * stride + fields["host"])
    first_seen = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])] if len(pairs) else pairs

    def count(weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(minute, weights=weights, minlength=n_min).astype(np.int64)

    return pl.DataFrame({
        "minute": pl.Series(np.datetime64(first, "us") + starts * np.timedelta64(1, "s")),
        "expected_rate": expected,
        "logged_seconds": logged,
        "lines": count(),
        "bytes_total": count(np.maximum(fields["bytes"], 0).astype(float)),
        "status_4xx": count(((status >= 400) & (status < 500)).astype(float)),
        "status_5xx": count((status >= 500).astype(float)),
        "unique_hosts": np.bincount(first_seen // stride, minlength=n_min).astype(np.int64),
    })
