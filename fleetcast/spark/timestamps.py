"""Timestamps as users export them -> naive UTC, as :func:`fleetcast.ingest.timestamps.parse_timestamps`.

Text is stripped, a final ``Z`` becomes ``+00:00``; 9-13 digit numbers are epoch seconds (or
milliseconds above ``1e11``); otherwise the local formats apply (:data:`FORMATS`, tried in order there).
Those formats never accept the same text, so one regular expression covers them all, written as what
polars' parser (chrono) accepts, measured on it: numeric fields of 1-2 digits that may be preceded by
white space, a year of up to 4 digits (or signed), a space in a format matching any white space (or
none), optional fractional seconds truncated to microseconds, second 60 rolling over, ``±hh:mm`` or
``±hhmm`` offsets under 24 h.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fleetcast.spark.clf import _days_from_civil

#: The formats of fleetcast.ingest.timestamps (ZONED_FORMATS + NAIVE_FORMATS; tests/spark checks they agree).
FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d %H:%M%z",
           "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
           "%Y/%m/%d %H:%M:%S", "%Y-%m-%d")
EPOCH_MS_ABOVE = 1e11  # fleetcast.ingest.timestamps.EPOCH_MS_ABOVE
NUMERIC = "^\\d{9,13}(\\.\\d+)?$"
_WS = "\\p{IsWhite_Space}"
_N2 = f"{_WS}*+(\\d{{1,2}}+)"
# groups: 1 year, 2 date separator, 3 month, 4 day, 5 date-time separator, 6 hour, 7 minute, 8 second,
# 9 fraction, 10 zone sign, 11 zone hours, 12 zone minutes
STAMP = (f"^(\\+\\d++|\\d{{1,4}}+)([-/]){_N2}\\2{_N2}"
         f"(?:(T|{_WS}*+){_N2}:{_N2}(?::{_N2}(?:\\.(\\d++))?)?(?:{_WS}*+([+-])(\\d{{2}}):?(\\d{{2}}))?)?$")
_GROUPS = ("year", "dsep", "month", "day", "tsep", "hour", "minute", "second", "fraction", "sign", "zh", "zm")


def strip(text: Column) -> Column:
    """``str.strip_chars()`` of polars: Unicode white space off both ends."""
    return F.regexp_replace(text, f"^{_WS}+|{_WS}+$", "")


def with_timestamps(frame: DataFrame, column: str, dtype: T.DataType, assume_tz: str = "UTC",
                    out: str = "ts") -> DataFrame:
    """``frame`` plus ``out``: the naive UTC timestamp of ``column`` (of type ``dtype``), null when it
    cannot be read. ``assume_tz`` is the zone of timestamps written without one.

    Examples
    --------
    >>> rows = spark.createDataFrame([("2024-06-01T12:00:00+02:00",), ("1717243200",)], "t string")
    >>> with_timestamps(rows, "t", T.StringType()).select("ts").collect()  # doctest: +SKIP
    [Row(ts=datetime.datetime(2024, 6, 1, 10, 0)), Row(ts=datetime.datetime(2024, 6, 1, 12, 0))]
    """
    value = F.col(column)
    if isinstance(dtype, T.TimestampNTZType):
        return frame.withColumn(out, _to_utc(value, assume_tz))
    if isinstance(dtype, T.TimestampType):  # an instant: its UTC wall time
        return frame.withColumn(out, value.cast("timestamp_ntz"))
    if isinstance(dtype, T.NumericType):
        return frame.withColumn(out, from_epoch(value.cast("double")))
    text = frame.select("*", F.regexp_replace(strip(value.cast("string")), "Z$", "+00:00").alias("_ts_text"))
    parts = text.select("*", F.col("_ts_text").rlike(STAMP).alias("_ts_shape"),
                        *[F.regexp_extract("_ts_text", STAMP, k).alias(f"_ts_{name}")
                          for k, name in enumerate(_GROUPS, 1)])
    g = {name: F.col(f"_ts_{name}") for name in _GROUPS}
    numbers = parts.select(
        *parts.columns,
        F.regexp_replace(g["year"], "^\\+", "").cast("long").alias("_ts_y"),
        *[g[name].cast("int").alias(f"_ts_{name[:2]}_n") for name in ("month", "day", "hour", "minute", "second")],
        (F.when(g["sign"] == "-", -1).otherwise(1) * (g["zh"].cast("int") * 60 + g["zm"].cast("int"))).alias("_ts_off"))
    y, mo, d = F.col("_ts_y"), F.col("_ts_mo_n"), F.col("_ts_da_n")
    hh, mm, ss = (F.coalesce(F.col(f"_ts_{k}_n"), F.lit(0)) for k in ("ho", "mi", "se"))
    has_time, has_zone = g["hour"] != "", g["sign"] != ""
    slash_ok = (g["dsep"] == "-") | (has_time & (g["tsep"] != "T") & (g["second"] != "") & (g["fraction"] == "")
                                     & ~has_zone)
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    month_days = F.element_at(F.array(*[F.lit(n) for n in (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)]),
                              F.least(F.greatest(mo, F.lit(1)), F.lit(12))) + F.when((mo == 2) & leap, 1).otherwise(0)
    valid = (F.col("_ts_shape") & slash_ok & y.between(1, 9999) & mo.between(1, 12) & (d >= 1) & (d <= month_days)
             & (hh <= 23) & (mm <= 59) & (ss <= 60)
             & (~has_zone | ((g["zh"].cast("int") <= 23) & (g["zm"].cast("int") <= 59))))
    seconds = (_days_from_civil(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss
               - F.when(has_zone, F.col("_ts_off") * 60).otherwise(0))
    micros = F.when(g["fraction"] != "", F.rpad(g["fraction"], 6, "0").cast("long")).otherwise(F.lit(0))
    wall = F.timestamp_micros(seconds * 1_000_000 + micros).cast("timestamp_ntz")
    parsed = F.when(valid, F.when(has_zone, wall).otherwise(_to_utc(wall, assume_tz)))
    result = F.when(F.col("_ts_text").rlike(NUMERIC), from_epoch(F.col("_ts_text").cast("double"))).otherwise(parsed)
    return numbers.select(*frame.columns, result.alias(out))


def from_epoch(numbers: Column) -> Column:
    """Epoch seconds, or milliseconds when larger than ``EPOCH_MS_ABOVE``, as naive UTC."""
    micros = F.when(F.abs(numbers) > EPOCH_MS_ABOVE, numbers * 1_000).otherwise(numbers * 1_000_000)
    return F.timestamp_micros(micros.cast("long")).cast("timestamp_ntz")


def _to_utc(naive: Column, zone: str) -> Column:
    """Wall time in ``zone`` -> naive UTC; a wall time the zone skips (DST gap) -> null; an ambiguous one
    takes the earlier instant (as polars' ``ambiguous="earliest", non_existent="null"``)."""
    if zone == "UTC":
        return naive
    utc = F.to_utc_timestamp(naive.cast("timestamp"), zone)
    exists = F.from_utc_timestamp(utc, zone) == naive.cast("timestamp")
    return F.when(exists, utc.cast("timestamp_ntz"))
