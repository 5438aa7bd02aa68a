"""CSV in and out for ``fleetcast forecast`` / ``fleetcast backtest``.

Input: UTF-8 CSV, plain or gzip-compressed, with a header with ``timestamp`` and ``value`` (and
optionally ``series_id``, never empty), one row per time; other columns are ignored, but a row
with fewer fields than it needs or more non-empty fields than the header (an unquoted ``1,000``)
is an error, never silently cut.
Empty values (or ``NA``/``NaN``/``null``) and missing rows are gaps. Timestamps are ISO 8601
(``2024-01-01T00:05:00``, ``2024-01-01 00:05``, ``2024-01-01``), optionally with an offset (``Z``,
``-04:00``, ``+0200``, ``+02``; on all rows or none). Forecast timestamps are written back in the
same style and offset; when the offsets vary (a DST change) the times are aligned in UTC and written
with the last row's offset.
Every problem is an :class:`~fleetcast.errors.InputError` naming the file and the line.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import polars as pl

from fleetcast.errors import LARGEST_VALUE, FleetcastError, InputError
from fleetcast.forecast.features import Layout
from fleetcast.forecast.frequency import Frequency
from fleetcast.forecast.panel import InsufficientHistory, Panel, list_reasons, to_panel, usable_series

GAP_TOKENS = {"", "na", "nan", "null", "none"}
_TS = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:([T ])(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$")
EXAMPLE_TS = "2024-01-01T00:05:00 (optionally with an offset such as -04:00)"


@dataclass(frozen=True)
class TimeStyle:
    """How the input wrote its timestamps, to write forecasts the same way.

    Examples
    --------
    >>> style = TimeStyle("T", True, 0, "-04:00")
    >>> style.render(np.array(["1995-08-23T00:05"], "datetime64[us]"))
    ['1995-08-23T00:05:00-04:00']
    >>> TimeStyle(" ", False, 0, None).render(np.array(["2024-01-01T10:00"], "datetime64[us]"))
    ['2024-01-01 10:00']
    """

    sep: str | None
    seconds: bool
    fraction: int
    offset: str | None

    def render(self, local: np.ndarray) -> list[str]:
        """Format wall-clock times (already in this style's offset)."""
        text = np.datetime_as_string(local.astype("datetime64[us]"), unit="us")
        out = []
        for t in text:
            date, clock = t[:10], t[11:]
            if self.sep is None:
                s = date
            else:
                s = date + self.sep + clock[:5]
                if self.seconds or self.fraction:
                    s += clock[5:8]
                if self.fraction:
                    s += clock[8:9 + self.fraction]
            out.append(s + (self.offset or ""))
        return out


def _offset_minutes(token: str | None) -> int:
    if not token or token == "Z":
        return 0
    sign = -1 if token[0] == "-" else 1
    digits = token[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + int(digits[2:4] or 0))


def read_history(path: str | Path) -> tuple[pl.DataFrame, TimeStyle]:
    """Read ``timestamp,value[,series_id]`` into ``series_id, ts, value, line`` (ts = wall-clock time).

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "load.csv")
    >>> _ = open(f, "w").write("timestamp,value\\n2024-01-01T00:00:00Z,5\\n2024-01-01T00:05:00Z,\\n")
    >>> frame, style = read_history(f)
    >>> frame["value"].to_list(), style.offset
    ([5.0, None], 'Z')
    """
    name = str(path)
    header, lines, records = _read_rows(path)
    where = {col: header.index(col) for col in ("timestamp", "value", "series_id") if col in header}
    missing = [c for c in ("timestamp", "value") if c not in where]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}: expected a header "
                         f"timestamp,value[,series_id], got {','.join(header)}", path=name, line=1,
                         field="header")
    twice = [c for c in where if header.count(c) > 1]
    if twice:
        raise InputError(f"column {twice[0]} appears {header.count(twice[0])} times in the header", path=name,
                         line=1, field="header")
    if not records:
        raise InputError("no data rows after the header", path=name)
    _check_widths(records, lines, len(header), max(where.values()) + 1, name)
    stamps = [r[where["timestamp"]].strip() for r in records]
    local, style = _parse_times(stamps, lines, name)
    values = _parse_values([r[where["value"]] for r in records], lines, name)
    sids = [r[where["series_id"]].strip() for r in records] if "series_id" in where else ["series"] * len(records)
    if "" in sids:
        raise InputError("empty series_id (every row needs one when the column is there)", path=name,
                         line=lines[sids.index("")], field="series_id")
    frame = pl.DataFrame({"series_id": sids, "ts": pl.Series(local).cast(pl.Datetime("us")),
                          "value": pl.Series(values, dtype=pl.Float64), "line": lines})
    dup = frame.select(pl.struct("series_id", "ts").is_duplicated()).to_series().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[-1])
        hint = "" if style.offset else (" (if these are local times, clocks going back repeat an hour: write "
                                         "the times with their UTC offset)")
        raise InputError(f"duplicate timestamp {stamps[i]} for series {sids[i]!r}{hint}", path=name,
                         line=lines[i], field="timestamp")
    return frame, style


def _read_text(path: str | Path) -> str:
    """The file's text: UTF-8 (a BOM is dropped), plain or gzip-compressed."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=name) from None
    except IsADirectoryError:
        raise InputError("a directory, not a CSV file", path=name) from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"damaged gzip file ({exc})", path=name) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8", path=name,
                         line=data[:exc.start].count(b"\n") + 1) from None


def _read_rows(path: str | Path) -> tuple[list[str], list[int], list[list[str]]]:
    name = str(path)
    reader = csv.reader(io.StringIO(_read_text(path)))
    header = None
    lines, records = [], []
    for row in reader:
        if not row or all(not c.strip() for c in row):
            continue
        if header is None:
            header = [c.strip().lower() for c in row]
            continue
        lines.append(reader.line_num)
        records.append(row)
    if header is None:
        raise InputError("empty file (expected a header timestamp,value[,series_id])", path=name)
    return header, lines, records


def _check_widths(records: list[list[str]], lines: list[int], width: int, needed: int, name: str) -> None:
    """Every row reaches the columns used, and has no non-empty field beyond the header's."""
    for row, line in zip(records, lines, strict=True):
        if len(row) < needed or any(c.strip() for c in row[width:]):
            hint = " (quote a value that contains a comma)" if len(row) > width else ""
            raise InputError(f"{len(row)} field(s) where the header has {width}{hint}", path=name, line=line)


def _parse_times(stamps: list[str], lines: list[int], name: str) -> tuple[np.ndarray, TimeStyle]:
    parts = pl.Series(stamps, dtype=pl.String).str.extract_groups(_TS.pattern).struct.unnest()
    parts.columns = ["date", "sep", "hh", "mm", "ss", "frac", "off"]
    bad = parts["date"].is_null().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"cannot parse timestamp {stamps[i]!r} (expected ISO 8601 like {EXAMPLE_TS})",
                         path=name, line=lines[i], field="timestamp")
    clock = (parts["hh"].fill_null("00") + ":" + parts["mm"].fill_null("00") + ":" + parts["ss"].fill_null("00")
             + parts["frac"].fill_null(""))
    naive = (parts["date"] + "T" + clock).str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False)
    if naive.is_null().any():
        i = int(np.flatnonzero(naive.is_null().to_numpy())[0])
        raise InputError(f"invalid date or time {stamps[i]!r}", path=name, line=lines[i], field="timestamp")
    offsets = parts["off"].to_list()
    with_offset = parts["off"].is_not_null().to_numpy()
    if with_offset.any() and not with_offset.all():
        i = int(np.flatnonzero(with_offset != with_offset[0])[0])
        has, lacks = (i, 0) if with_offset[i] else (0, i)
        raise InputError(f"timestamp {stamps[lacks]!r} has no UTC offset but {stamps[has]!r} (line {lines[has]}) "
                         f"has one: write every time with its offset, or none", path=name, line=lines[lacks],
                         field="timestamp")
    minutes = np.array([_offset_minutes(o) for o in offsets], dtype=np.int64)
    last = int(np.argmax(naive.to_numpy() - minutes.astype("timedelta64[m]")))
    local = naive.to_numpy().astype("datetime64[us]")
    if len(set(minutes.tolist())) > 1:
        local = local - (minutes - minutes[last]).astype("timedelta64[m]")
    sep = parts["sep"][last]
    frac = parts["frac"][last]
    style = TimeStyle(sep, parts["ss"][last] is not None, len(frac) - 1 if frac else 0, offsets[last])
    return local, style


def _parse_values(raw: list[str], lines: list[int], name: str) -> list[float | None]:
    out: list[float | None] = []
    for text, line in zip(raw, lines, strict=True):
        token = text.strip()
        if token.lower() in GAP_TOKENS:
            out.append(None)
            continue
        try:
            if "_" in token:  # float() reads 1_000 as 1000
                raise ValueError(token)
            value = float(token)
        except ValueError:
            raise InputError(f"value {token!r} is not a number (leave it empty for a gap)",
                             path=name, line=line, field="value") from None
        if not np.isfinite(value):
            raise InputError(f"value {token!r} is not finite", path=name, line=line, field="value")
        if abs(value) > LARGEST_VALUE:
            raise InputError(f"value {token!r} is beyond ±{LARGEST_VALUE:g}, larger than any measurement",
                             path=name, line=line, field="value")
        out.append(value)
    return out


def write_forecasts(forecasts: pl.DataFrame, style: TimeStyle, path: str | Path | IO[str]) -> None:
    """Write ``series_id,timestamp,yhat,lo80,hi80,lo95,hi95`` with timestamps in the input's style.

    Numbers are :func:`rounded`.
    """
    stamps = style.render(forecasts["ts"].to_numpy())
    out = forecasts.select(
        "series_id", pl.Series("timestamp", stamps, dtype=pl.String),
        *[rounded(c) for c in ("yhat", "lo80", "hi80", "lo95", "hi95")],
    )
    out.write_csv(path)


def rounded(column: str) -> pl.Expr:
    """``column`` to 4 decimals, or 6 significant digits below 1 (error rates, fractions, tiny values).

    Examples
    --------
    >>> pl.DataFrame({"x": [1234.56789, 0.000123456789, 0.0]}).select(rounded("x"))["x"].to_list()
    [1234.5679, 0.000123457, 0.0]
    """
    x = pl.col(column)
    return pl.when(x.abs() < 1).then(x.round_sig_figs(6)).otherwise(x.round(4)).alias(column)


def panel_from_csv(path: str | Path, freq: str | None, horizon: int
                   ) -> tuple[Panel, TimeStyle, dict[str, str]]:
    """Read a CSV into a panel of the series with history enough for ``horizon``, with one-line
    errors for every way the input can be unusable; also returns the series left out, and why.

    Without ``freq`` the times must lie on one regular grid (gaps allowed); with it, times are
    floored onto the grid that starts at the first time and values sharing a bin are averaged.
    """
    name = str(path)
    history, style = read_history(path)
    lines = history["line"].to_numpy()
    if freq is not None:
        try:
            step = Frequency.parse(freq)
        except ValueError as exc:
            raise FleetcastError(f"--freq: {exc}") from None
    else:
        step = _infer(history, lines, name)
    panel = to_panel(history, step, snap=True)
    try:
        usable, skipped = usable_series(panel, horizon, Layout.for_freq(panel.freq))
    except InsufficientHistory as exc:
        short = any(why.startswith("too little history") for why in exc.skipped.values())
        raise InputError(f"{exc}; shorten --horizon or give more history" if short else str(exc), path=name) from None
    return usable, style, skipped


def input_notes(panel: Panel, skipped: dict[str, str]) -> list[str]:
    """Notes for stderr on what :func:`panel_from_csv` read: the series left out (the others are
    forecast), and series whose values are further apart than the step."""
    total = panel.n_series + len(skipped)
    left_out = [f"left out {len(skipped)} of {total} series: {list_reasons(skipped)}"] if skipped else []
    return left_out + [note for note in [sparse_series_note(panel)] if note]


def sparse_series_note(panel: Panel) -> str | None:
    """A note when series have values only every few steps (``--freq`` finer than the data, or a
    file mixing 5-minute and hourly series): most of their grid, and their forecast, is then gaps.

    Examples
    --------
    >>> f = Frequency.parse("5min")
    >>> v = np.full((2, 48), np.nan); v[0] = 1.0; v[1, ::12] = 2.0
    >>> print(sparse_series_note(Panel(["fast", "slow"], np.datetime64("2024-01-01"), f, v, np.array([0, 0]),
    ...                                np.array([47, 36]))))  # doctest: +NORMALIZE_WHITESPACE
    1 of 2 series have values further apart (median) than the 5min steps they are forecast at, so most of
    their steps are gaps: 'slow' (every 1h); pass a coarser --freq, or one file per frequency
    """
    sparse = []
    for sid, row in zip(panel.ids, panel.values, strict=True):
        seen = np.flatnonzero(~np.isnan(row))
        if seen.size > 1 and (gap := int(np.median(np.diff(seen)))) > 1:
            sparse.append((sid, gap))
    if not sparse:
        return None
    names = ", ".join(f"{sid!r} (every {Frequency(gap * panel.freq.seconds).name})" for sid, gap in sparse[:5])
    return (f"{len(sparse)} of {panel.n_series} series have values further apart (median) than the {panel.freq.name} "
            f"steps they are forecast at, so most of their steps are gaps: {names}{' …' if len(sparse) > 5 else ''}"
            f"; pass a coarser --freq, or one file per frequency")


def _seconds(history: pl.DataFrame) -> np.ndarray:
    return history["ts"].to_numpy().astype("datetime64[s]").astype(np.int64)


def _infer(history: pl.DataFrame, lines: np.ndarray, name: str) -> Frequency:
    secs = _seconds(history)
    sids = history["series_id"].to_numpy()
    order = np.lexsort((secs, sids))
    same = sids[order][1:] == sids[order][:-1]
    diffs = np.diff(secs[order])[same]
    if diffs.size == 0:
        raise InputError("cannot infer the frequency from a single timestamp per series; pass --freq",
                         path=name)
    step = int(diffs.min())
    bad = np.flatnonzero(same & (np.diff(secs[order]) % step != 0))
    if bad.size or secs.size and np.any((secs - secs.min()) % step):
        # Blame the row off the grid of the most common step: the smallest one may come from that row.
        steps, counts = np.unique(diffs, return_counts=True)
        common = int(steps[np.argmax(counts)])
        off = np.flatnonzero(same & (np.diff(secs[order]) % common != 0))
        said = "smallest step"
        if off.size:
            step, bad, said = common, off, "most steps are"
        where = (int(lines[order[bad[0] + 1]]) if bad.size
                 else int(lines[np.flatnonzero((secs - secs.min()) % step)[0]]))
        months = "; calendar months are no fixed step: forecast daily values" if step >= 28 * 86_400 else ""
        raise InputError(f"irregular timestamps: cannot infer a frequency ({said} {step} s, but this "
                         f"row is off that grid); pass --freq (e.g. --freq 5min){months}", path=name, line=where)
    try:
        return Frequency.parse(step)
    except ValueError as exc:
        raise InputError(f"cannot use the inferred step of {step} s ({exc}); pass --freq", path=name) from None
