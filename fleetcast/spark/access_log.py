"""Access log lines -> requests and rejects -> per-minute mergeable bins (the ``log_bins`` staging rows).

Same decisions as :func:`fleetcast.ingest.access_log.parse_chunk` and :func:`fleetcast.ingest.logs.read_access_log`:

1. a line is a request when the fast layout or the careful parser accepts it (:mod:`fleetcast.spark.clf`);
2. split-line repair: inside a chunk, a failing line followed by a failing line is joined with it when the
   joined text parses; pairs are taken greedily from the top (``lead``/``lag`` over the failing lines);
3. in a chunk where such a join happened, a rejected line that is only a host-name fragment is prefixed to
   the host of the request on the next line;
4. a last line without a line break keeps its reason, prefixed with "last line is cut short".
"""

from __future__ import annotations

from typing import NamedTuple

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from fleetcast.spark import clf
from fleetcast.spark.schemas import from_seconds

RAW_TEXT_LIMIT = 500  # fleetcast.ingest.access_log.RAW_TEXT_LIMIT
HOST_FRAGMENT = "^[A-Za-z0-9.\\-:]+\\z"
BASE_SECONDS = 60  # fleetcast.pipeline.sources.LOG_BASE_SECONDS
REQUEST_COLUMNS = ("line", "host", "ts", "utc_offset_min", "method", "path", "protocol", "status", "bytes",
                   "referrer", "user_agent")


class ParsedLog(NamedTuple):
    """``requests``: ``series_id``, the request fields, ``chunk`` and ``repaired_lines`` (lines of the file
    joined into this request: 0, 2 or 4); ``rejects``: ``line, reason, raw``.

    Both derive from ``outcomes`` (one row per line with its verdict): persist it when both are used, so
    the file is parsed once.
    """

    requests: DataFrame
    rejects: DataFrame
    outcomes: DataFrame


def parse_access_log(lines: DataFrame, series_id: str, *, materialize: bool = False) -> ParsedLog:
    """Parse numbered lines (``line, text, chunk, cut``; :func:`fleetcast.spark.text.number_lines`).

    Every line ends up in exactly one request or one reject, except lines repaired into a request
    (counted by its ``repaired_lines``): read = requests + repaired / 2 + rejects, as locally.

    With ``materialize`` the per-line verdicts are computed once, now (``localCheckpoint``), and
    ``requests`` / ``rejects`` start from them: the file is parsed once, and their plans are small
    (the parser's plan is large enough that planning it again costs seconds).

    Examples
    --------
    >>> from fleetcast.spark.text import lines_from_text
    >>> lines = lines_from_text(spark, 'h - - [01/Aug/1995:00:00:01 -0400] "GET / HTTP/1.0" 200 7\\nbroken\\n')
    >>> parsed = parse_access_log(lines, "site")  # doctest: +SKIP
    >>> parsed.requests.select("line", "ts", "status").collect()  # doctest: +SKIP
    [Row(line=1, ts=datetime.datetime(1995, 8, 1, 4, 0, 1), status=200)]
    >>> parsed.rejects.select("line", "reason").collect()  # doctest: +SKIP
    [Row(line=2, reason="does not start with 'host ident user [timestamp]'")]
    """
    outcomes = line_outcomes(lines)
    if materialize:
        outcomes = outcomes.localCheckpoint()
    joined = F.col("outcome") == JOINED
    requests = outcomes.filter(F.col("outcome").isin(PARSED, JOINED)).select(
        "line", "chunk", *[F.when(joined, F.col(f"j_{f}")).otherwise(F.col(f)).alias(f) for f in clf.FIELDS],
        F.when(joined, 2).otherwise(0).alias("repaired_lines"))
    rejects = outcomes.filter(F.col("outcome") == REJECTED).select(
        "line", "chunk", "chunk_joined", "raw",
        F.when(F.col("cut"), F.concat(F.lit(clf.CUT_PREFIX), F.col("reason"))).otherwise(F.col("reason"))
        .alias("reason"))
    requests, rejects = _rejoin_host_fragments(requests, rejects)
    requests = requests.select(
        F.lit(series_id).alias("series_id"), "line", "host", from_seconds(F.col("ts_s")).alias("ts"),
        *[c for c in REQUEST_COLUMNS if c not in ("line", "host", "ts")], "chunk", "repaired_lines")
    return ParsedLog(requests, rejects.select("line", "reason", "raw"), outcomes)


PARSED, JOINED, CONSUMED, REJECTED = "parsed", "joined", "consumed", "rejected"


def line_outcomes(lines: DataFrame) -> DataFrame:
    """Every line with its ``outcome``: parsed, joined (with the next line, ``j_*`` fields), consumed
    (the second half of a joined pair) or rejected (``reason``, ``raw``); ``chunk_joined`` says whether
    the line's chunk has a joined pair."""
    order = Window.partitionBy("chunk").orderBy("line")
    parsed = clf.parse_text(lines.select("line", "chunk", "cut", "text"), "text").drop("text")
    failing = parsed.select("*", F.when(F.col("reason").isNotNull(), F.col("clean")).alias("bad"))
    pairs = failing.select(
        *[c for c in failing.columns if c != "bad"],
        F.substring("bad", 1, RAW_TEXT_LIMIT).alias("raw"),
        F.when(F.lead("line").over(order) == F.col("line") + 1, F.concat("bad", F.lead("bad").over(order)))
        .alias("joined"))
    tried = clf.parse_text(pairs, "joined", fast_path=False, prefix="j_")
    tried = tried.select("*", (F.col("joined").isNotNull() & F.col("j_reason").isNull()).alias("can_join"))
    # a run of lines that can each join the next: the 1st, 3rd, ... of the run are joined with the next
    starts = F.col("can_join") & ~F.coalesce(F.lag("can_join").over(order), F.lit(False))
    run_start = F.max(F.when(starts, F.col("line"))).over(order.rowsBetween(Window.unboundedPreceding, 0))
    taken = tried.select("*", (F.col("can_join") & ((F.col("line") - run_start) % 2 == 0)).alias("taken"))
    consumed = F.coalesce(F.lag("taken").over(order), F.lit(False))
    return taken.select(
        "*",
        F.when(F.col("reason").isNull(), PARSED).when(F.col("taken"), JOINED).when(consumed, CONSUMED)
        .otherwise(REJECTED).alias("outcome"),
        F.max(F.col("taken").cast("int")).over(Window.partitionBy("chunk")).alias("chunk_joined"))


def _rejoin_host_fragments(requests: DataFrame, rejects: DataFrame) -> tuple[DataFrame, DataFrame]:
    """In chunks with a joined pair, a rejected host fragment is the head of the next line's host."""
    heads = F.broadcast(rejects.filter((F.col("chunk_joined") == 1) & F.col("raw").rlike(HOST_FRAGMENT)).select(
        (F.col("line") + 1).alias("line"), "chunk", F.col("raw").alias("head")))
    patched = requests.join(heads, ["line", "chunk"], "left")
    used = F.broadcast(patched.filter(F.col("head").isNotNull()).select((F.col("line") - 1).alias("line")))
    requests = patched.select(
        *[c for c in requests.columns if c not in ("host", "repaired_lines")],
        F.coalesce(F.concat("head", "host"), F.col("host")).alias("host"),
        (F.col("repaired_lines") + F.when(F.col("head").isNotNull(), 2).otherwise(0)).alias("repaired_lines"))
    return requests, rejects.join(used, "line", "left_anti")


def bin_requests(requests: DataFrame, base_seconds: int = BASE_SECONDS) -> DataFrame:
    """Per series and ``base_seconds`` bin: the mergeable counts of :data:`fleetcast.lake.tables.LOG_BINS`.

    Examples
    --------
    >>> bins = bin_requests(parsed.requests)  # doctest: +SKIP
    >>> bins.select("ts", "requests", "hosts").collect()  # doctest: +SKIP
    [Row(ts=datetime.datetime(1995, 8, 1, 4, 0), requests=1, hosts=['h'])]
    """
    epoch = F.unix_seconds(F.col("ts").cast("timestamp"))
    status_class = F.expr("status div 100")
    return requests.groupBy("series_id", (epoch - F.pmod(epoch, F.lit(base_seconds))).alias("bin")).agg(
        F.count(F.lit(1)).alias("requests"),
        F.coalesce(F.sum("bytes"), F.lit(0)).cast("long").alias("bytes_sum"),
        F.count("bytes").alias("bytes_n"),
        *[_count_if(status_class == k).alias(f"status_{k}xx") for k in (2, 3, 4, 5)],
        F.min("ts").alias("first_seen"), F.max("ts").alias("last_seen"),
        F.collect_set("host").alias("hosts"),
    ).select("series_id", from_seconds(F.col("bin")).alias("ts"), "requests", "bytes_sum", "bytes_n",
             "status_2xx", "status_3xx", "status_4xx", "status_5xx", "first_seen", "last_seen", "hosts")


def _count_if(condition: Column) -> Column:
    return F.sum(F.when(condition, 1).otherwise(0)).cast("long")
