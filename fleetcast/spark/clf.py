"""Common/Combined Log Format lines as Spark columns: the local parser's rules, line by line.

Two acceptance paths, as in :mod:`fleetcast.ingest.access_log`:

- the exact layout the local fast path's regular expression accepts (:mod:`fleetcast.ingest.clf_layout`): ASCII only,
  two or six quotes, ``dd/Mon/yyyy:HH:MM:SS ±hhmm`` with second 60 allowed, year >= 1970, offset <= 18 h;
- the careful parser :func:`fleetcast.ingest.access_log.parse_line`, with its reasons.

A line is a request when either accepts it. The careful parser's regular expressions are Python's, with
Python's ``\\s`` (every character ``str.isspace`` accepts) spelled out, ``\\z`` for ``$`` and ``(?s)`` for
``re.S``, so Java's engine matches what Python's matches (both backtrack the same way).

:func:`parse_text` works in three projections (split fields, take them apart, decide) so that every
regular expression runs once per line and the generated code stays small.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from fleetcast.ingest.clf_layout import MONTHS

#: Python's whitespace (``str.isspace``, the ``\\s`` of ``re`` for str patterns) as a Java class body.
PY_SPACE = "\\t\\n\\x0B\\f\\r\\x1C-\\x1F \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000"
_NOT_SPACE = f"[^{PY_SPACE}]"
EMPTY = f"^[{PY_SPACE}]*\\z"
PREFIX = f"(?s)^({_NOT_SPACE}+) {_NOT_SPACE}+ {_NOT_SPACE}+ \\[([^\\]]*)\\] ?(.*)\\z"
STAMP = "^\\d{2}/[A-Za-z]{3}/\\d{4}:\\d{2}:\\d{2}:\\d{2} [+-]\\d{4}\\z"
AFTER_STAMP = '(?s)^"(.*)" (\\d{3}) (\\d+|-)( "(.*?)" "(.*)")?[ \\t]*\\z'
STATUS_SIZE_PREFIX = '(?s)^".*" \\d{3} (\\d+|-)'
_IDENT = '[^\\t\\n\\x0B\\f\\r "\\[]+'  # what the fast path's ident check (Rust \\S, ASCII line) lets through
FAST = ('^(?=[\\x00-\\x7F]*\\z)[^ "\\[]+ (?:- -|' + _IDENT + ' ' + _IDENT + ') \\[\\d{2}/[A-Za-z]{3}/\\d{4}'
        ':\\d{2}:\\d{2}:\\d{2} [+-]\\d{4}\\] "[^"]*" \\d{3} (?:\\d{1,13}|-)(?: "[^"]*" "[^"]*")?\\r?\\z')
FAST_PREFIX = "(?s)^([^ ]+) [^ ]+ [^ ]+ \\[([^\\]]*)\\] ?(.*)\\z"

REASON_EMPTY = "empty line"
REASON_PREFIX = "does not start with 'host ident user [timestamp]'"
REASON_OPEN = "request is not closed by a quote followed by status and size (line cut short?)"
REASON_EXTRA = "unexpected text after the size (not Common or Combined Log Format)"
REASON_NO_STATUS = "no status and size after the request"
CUT_PREFIX = "last line is cut short (the file ends without a line break): "
MIN_EPOCH_S, END_EPOCH_S = -62135596800, 253402300800  # 0001-01-01 and 10000-01-01 UTC

FIELDS = ("host", "ts_s", "utc_offset_min", "method", "path", "protocol", "status", "bytes", "referrer",
          "user_agent")


def rstrip_breaks(text: Column) -> Column:
    """``text.rstrip("\\r\\n")``."""
    return F.regexp_replace(text, "[\\r\\n]+\\z", "")


def parse_text(frame: DataFrame, text: str, *, fast_path: bool = True, prefix: str = "") -> DataFrame:
    """``frame`` plus ``clean`` (``text`` without trailing line breaks), ``reason`` (null for a request)
    and the request :data:`FIELDS` (``ts_s``: UTC epoch seconds), for the text in column ``text``; the
    added columns are named with ``prefix`` in front.

    With ``fast_path`` a line the local fast path would accept is a request even where the careful
    parser disagrees (second 60; tabs in the host); without it (joined split lines), only the careful
    parser decides, as locally.
    """
    if any(c.startswith("_") for c in frame.columns):
        raise ValueError("parse_text uses column names starting with '_' for its own work")
    raw = F.col(text)
    first = frame.select("*", rstrip_breaks(raw).alias("_clean"),
                         (raw.rlike(FAST) if fast_path else F.lit(False)).alias("_fast_shape"))
    split = first.select(
        "*", *[F.when(F.col("_fast_shape"), F.regexp_extract("_clean", FAST_PREFIX, k))
               .otherwise(F.regexp_extract("_clean", PREFIX, k)).alias(name)
               for k, name in ((1, "_host"), (2, "_stamp"), (3, "_rest"))])
    parts = split.select(
        "*", F.col("_clean").rlike(EMPTY).alias("_empty"), F.col("_clean").rlike(PREFIX).alias("_prefix"),
        F.col("_stamp").rlike(STAMP).alias("_stamp_shape"),
        F.col("_rest").rlike(AFTER_STAMP).alias("_after"),
        F.col("_rest").rlike(STATUS_SIZE_PREFIX).alias("_status_size"),
        (F.length("_rest") - F.length(F.regexp_replace("_rest", '"', ""))).alias("_quotes"),
        *[F.regexp_extract("_rest", AFTER_STAMP, k).alias(name)
          for k, name in ((1, "_request"), (2, "_status"), (3, "_size"), (4, "_combined"), (5, "_ref"), (6, "_ua"))],
        *_stamp_parts(F.col("_stamp")))
    days = _days_from_civil(F.col("_year"), F.col("_month"), F.col("_day"))
    epoch = days * 86400 + F.col("_hh") * 3600 + F.col("_mm") * 60 + F.col("_ss") - F.col("_offset") * 60
    dated = parts.select("*", epoch.alias("_epoch"), _month_days().alias("_month_days"))
    status = F.col("_status").cast("int")
    fast = F.col("_fast_shape") & _stamp_valid(fast=True) & (status >= 100) & (status <= 599)
    stamp_ok = F.col("_stamp_shape") & _stamp_valid(fast=False)
    reason = (
        F.when(fast, F.lit(None).cast("string"))
        .when(F.col("_empty"), F.lit(REASON_EMPTY))
        .when(~F.col("_prefix"), F.lit(REASON_PREFIX))
        .when(~stamp_ok, F.concat(F.lit("timestamp ["), F.substring("_stamp", 1, 40),
                                  F.lit("] is not dd/Mon/yyyy:HH:MM:SS ±hhmm")))
        .when(~F.col("_after") & (F.col("_quotes") < 2), F.lit(REASON_OPEN))
        .when(~F.col("_after") & F.col("_status_size"), F.lit(REASON_EXTRA))
        .when(~F.col("_after"), F.lit(REASON_NO_STATUS))
        .when((status < 100) | (status > 599),
              F.concat(F.lit("status "), status.cast("string"), F.lit(" is not an HTTP status code")))
    )
    words = F.split("_request", " ", -1)
    n = F.size(words)
    has_protocol = (n >= 2) & F.element_at(words, -1).startswith("HTTP/")
    combined = F.col("_combined") != ""
    return dated.select(
        *frame.columns,
        F.col("_clean").alias(f"{prefix}clean"),
        reason.alias(f"{prefix}reason"),
        F.col("_host").alias(f"{prefix}host"),
        F.col("_epoch").alias(f"{prefix}ts_s"),
        F.col("_offset").cast("short").alias(f"{prefix}utc_offset_min"),
        F.when(n >= 2, F.element_at(words, 1)).alias(f"{prefix}method"),
        F.when(has_protocol, F.array_join(F.slice(words, F.lit(2), n - 2), " "))
        .when(n >= 2, F.array_join(F.slice(words, F.lit(2), n - 1), " ")).alias(f"{prefix}path"),
        F.when(has_protocol, F.element_at(words, -1)).alias(f"{prefix}protocol"),
        status.cast("short").alias(f"{prefix}status"),
        F.when(F.col("_size") != "-", F.col("_size").cast("long")).alias(f"{prefix}bytes"),
        F.when(combined, F.col("_ref")).alias(f"{prefix}referrer"),
        F.when(combined, F.col("_ua")).alias(f"{prefix}user_agent"),
    )


def _stamp_parts(stamp: Column) -> list[Column]:
    """``dd/Mon/yyyy:HH:MM:SS ±hhmm`` taken apart at its fixed positions (meaningful when it has that shape)."""
    def number(start: int, width: int) -> Column:
        return F.substring(stamp, start, width).cast("int")

    name = F.substring(stamp, 4, 3)
    sign = F.when(F.substring(stamp, 22, 1) == "-", -1).otherwise(1)
    return [number(1, 2).alias("_day"), number(8, 4).alias("_year"), number(13, 2).alias("_hh"),
            number(16, 2).alias("_mm"), number(19, 2).alias("_ss"),
            F.coalesce(*[F.when(name == m, k) for k, m in enumerate(MONTHS, 1)], F.lit(0)).alias("_month"),
            (sign * (number(23, 2) * 60 + number(25, 2))).alias("_offset")]


def _month_days() -> Column:
    year, month = F.col("_year"), F.col("_month")
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = F.element_at(F.array(*[F.lit(d) for d in (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)]),
                        F.greatest(month, F.lit(1)))
    return days + F.when((month == 2) & leap, 1).otherwise(0)


def _stamp_valid(*, fast: bool) -> Column:
    """Python's ``datetime`` rules (careful path) or the fast path's (second 60, year >= 1970, 18 h)."""
    day, year, offset = F.col("_day"), F.col("_year"), F.col("_offset")
    common = ((F.col("_month") > 0) & (day >= 1) & (day <= F.col("_month_days")) & (F.col("_hh") <= 23)
              & (F.col("_mm") <= 59))
    if fast:
        return common & (year >= 1970) & (F.col("_ss") <= 60) & (F.abs(offset) <= 18 * 60)
    # Python raises OverflowError (an unhandled crash locally) when UTC leaves years 1-9999: rejected here
    in_range = (F.col("_epoch") >= MIN_EPOCH_S) & (F.col("_epoch") < END_EPOCH_S)
    return common & (year >= 1) & (F.col("_ss") <= 59) & (F.abs(offset) < 24 * 60) & in_range


def _days_from_civil(year: Column, month: Column, day: Column) -> Column:
    """Days since 1970-01-01 (H. Hinnant's algorithm; operands are non-negative for years >= 1)."""
    y = year.cast("long") - F.when(month <= 2, 1).otherwise(0)
    era = F.floor(y / 400)
    yoe = y - era * 400
    mp = F.when(month > 2, month - 3).otherwise(month + 9)
    doy = F.floor((mp * 153 + 2) / 5) + day - 1
    doe = yoe * 365 + F.floor(yoe / 4) - F.floor(yoe / 100) + doy
    return era * 146097 + doe - 719468
