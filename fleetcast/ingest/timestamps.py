"""Parse the timestamps users export: ISO 8601 with or without zone, common SQL forms, epoch numbers."""

from __future__ import annotations

import polars as pl

from fleetcast.errors import FleetcastError

# Formats tried in order; those with %z keep their own offset, the others are read in the
# assumed zone (UTC unless told otherwise).
ZONED_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z",
                 "%Y-%m-%d %H:%M%z")
# Day-first or month-first dates (01/02/2024) are ambiguous and deliberately not guessed.
NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                 "%Y/%m/%d %H:%M:%S", "%Y-%m-%d")
EPOCH_MS_ABOVE = 1e11  # larger epoch numbers are milliseconds (1e11 s is the year 5138)


def check_timezone(name: str) -> str:
    """Validate an IANA zone name such as ``UTC`` or ``America/New_York``."""
    try:
        pl.Series([0]).cast(pl.Datetime("us")).dt.replace_time_zone(name)
    except Exception:  # polars raises ComputeError for unknown zones
        raise FleetcastError(f"unknown time zone {name!r} (use an IANA name such as UTC or "
                             f"Europe/Berlin)") from None
    return name


def parse_timestamps(values: pl.Series, assume_tz: str = "UTC") -> pl.Series:
    """Timestamps as naive UTC ``Datetime("us")``; unparseable values become null.

    Examples
    --------
    >>> s = pl.Series(["2024-01-01T12:00:00Z", "2024-01-01 08:00:00-04:00", "2024-01-01 12:00",
    ...                "1704110400", "junk"])
    >>> parse_timestamps(s).dt.strftime("%H:%M").to_list()
    ['12:00', '12:00', '12:00', '12:00', None]
    """
    if values.dtype == pl.Datetime or isinstance(values.dtype, pl.Datetime):
        zone = values.dtype.time_zone  # type: ignore[union-attr]
        if zone is None:
            values = values.dt.replace_time_zone(assume_tz, ambiguous="earliest", non_existent="null")
        return values.dt.convert_time_zone("UTC").dt.replace_time_zone(None).dt.cast_time_unit("us")
    if values.dtype.is_numeric():
        return _from_epoch(values.cast(pl.Float64))
    text = values.cast(pl.String)
    distinct = text.unique()
    if len(distinct) * 2 < len(text):  # a fleet's servers share sampling times: parse each text once
        lookup = pl.DataFrame({"text": distinct, "ts": _parse_text(distinct, assume_tz)})
        joined = pl.DataFrame({"text": text}).join(lookup, on="text", how="left", maintain_order="left")
        return joined["ts"].alias(values.name)
    return _parse_text(text, assume_tz).alias(values.name)


def _parse_text(values: pl.Series, assume_tz: str) -> pl.Series:
    text = values.str.strip_chars().str.replace(r"Z$", "+00:00")
    result = pl.Series(values.name, [None] * len(text), dtype=pl.Datetime("us"))
    numeric = text.str.contains(r"^\d{9,13}(\.\d+)?$").fill_null(False)
    if numeric.any():
        result = _fill(result, numeric, _from_epoch(text.cast(pl.Float64, strict=False)))
    for fmt in ZONED_FORMATS + NAIVE_FORMATS:
        todo = result.is_null() & text.is_not_null() & ~numeric
        if not todo.any():
            break
        parsed = text.str.to_datetime(fmt, strict=False, time_unit="us")
        if "%z" in fmt:
            parsed = parsed.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        elif assume_tz != "UTC":
            parsed = (parsed.dt.replace_time_zone(assume_tz, ambiguous="earliest", non_existent="null")
                      .dt.convert_time_zone("UTC").dt.replace_time_zone(None))
        result = _fill(result, todo, parsed)
    return result


def _from_epoch(numbers: pl.Series) -> pl.Series:
    micros = pl.select(
        pl.when(numbers.abs() > EPOCH_MS_ABOVE).then(numbers * 1_000).otherwise(numbers * 1_000_000)
    ).to_series()
    return micros.cast(pl.Int64, strict=False).cast(pl.Datetime("us"))


def _fill(result: pl.Series, where: pl.Series, values: pl.Series) -> pl.Series:
    return pl.select(pl.when(where & result.is_null()).then(values).otherwise(result)).to_series()
