"""Line-level parity: the Spark parser accepts, rejects and repairs the same lines as the local parser."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fleetcast.ingest import access_log as local_log
from fleetcast.ingest import logs, reader
from fleetcast.ingest.access_log import parse_chunk
from fleetcast.ingest.reader import Chunk, read_chunks
from fleetcast.spark import clf
from fleetcast.spark.access_log import REQUEST_COLUMNS, bin_requests, parse_access_log
from fleetcast.spark.lake import HadoopLake
from fleetcast.spark.text import lines_from_text, number_lines, raw_lines
from tests.spark.helpers import canonical, to_polars

pytestmark = pytest.mark.spark


def spark_parse(spark, lines, series="s"):
    parsed = parse_access_log(lines, series, materialize=True)
    requests = to_polars(parsed.requests).with_columns(
        pl.col("utc_offset_min").cast(pl.Int16), pl.col("status").cast(pl.Int16), pl.col("line").cast(pl.Int64))
    rejects = to_polars(parsed.rejects)
    return requests, rejects


def local_parse(data: bytes):
    ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    return parse_chunk(Chunk(data, ends, first_line=1))


def assert_same(local, requests, rejects):
    assert requests.select(REQUEST_COLUMNS).sort("line").equals(local.records.select(REQUEST_COLUMNS).sort("line"))
    assert rejects.sort("line").rows() == local.rejects.sort("line").rows()
    assert int(requests["repaired_lines"].sum() or 0) == local.repaired


@pytest.mark.parametrize("name", ["access_log_oddities.log", "access_log_sample_damaged.log"])
def test_real_files_parse_identically(spark, nasa_dir, name):
    # Given a real NASA file, read by Spark as the Glue job reads it (numbered lines from the text reader)
    path = nasa_dir / name
    lines = number_lines(raw_lines(spark, str(path)), total_bytes=path.stat().st_size)
    # When both parsers read it
    requests, rejects = spark_parse(spark, lines)
    (chunk,) = list(read_chunks(path))
    local = parse_chunk(chunk)
    # Then every field of every request, every reject and the repair count are identical
    assert_same(local, requests, rejects)
    if name.endswith("damaged.log"):  # 49 split pairs joined, one host fragment rejoined, the cut line rejected
        assert requests.height == 1880 and local.repaired == 98 and rejects["line"].to_list() == [1930]


ODD_LINES = [
    'h1 - - [10/Jul/1995:16:45:60 -0400] "GET / HTTP/1.0" 200 1',  # second 60: the fast path takes it
    'h\tx - - [10/Jul/1995:16:45:50 -0400] "GET / HTTP/1.0" 200 1',  # tab in the host: fast path only
    'h2 - - [10/Jul/1969:16:45:50 -0400] "GET / HTTP/1.0" 200 1',  # before 1970: careful path only
    'h3 - - [10/jul/1995:16:45:50 -0400] "GET / HTTP/1.0" 200 1',  # month in lower case: rejected
    'h4 - - [31/Feb/1995:16:45:50 -0400] "GET / HTTP/1.0" 200 1',
    'h5 - - [10/Jul/1995:16:45:50 +2400] "GET / HTTP/1.0" 200 1',
    'h6 - - [10/Jul/1995:16:45:50 +2000] "GET / HTTP/1.0" 200 1',  # 20 h: careful path accepts
    'h7 - - [01/Jan/0002:00:00:00 +0100] "GET / HTTP/1.0" 200 1',
    'h8 - - [10/Jul/1995:16:45:50 -0400] "GET /a"b HTTP/1.0" 404 -',
    'h9 - - [10/Jul/1995:16:45:50 -0400] "GET /x HTTP/1.0" 099 5',
    'h10 - - [10/Jul/1995:16:45:50 -0400] "GET /x HTTP/1.0" 200 5 extra',
    'h11 - - [10/Jul/1995:16:45:50 -0400] "GET /x HTTP/1.0" 200 5 "ref" "agent" x',
    'h12 - - [10/Jul/1995:16:45:50 -0400] "GET /x HTTP/1.0" 200 5   \t',
    'h13 - - [10/Jul/1995:16:45:50 -0400] "GET /x HTTP/1.0"',
    'h14 - - [10/Jul/1995:16:45:50 -0400] "GET /x HTTP/1.0',
    'h15 - - [10/Jul/1995:16:45:50 -0400] "GET /x HTTP/1.0" abc 5',
    'h16 user auth [10/Jul/1995:16:45:50 -0400] "POST /f HTTP/1.1" 201 12 "http://r/" "Mozilla \\"q\\""',
    'h17 - - [10/Jul/1995:16:45:50 -0400] "" 400 -',
    'h18 - - [10/Jul/1995:16:45:50 -0400] "GET  /two  spaces HTTP/1.0" 200 99999999999999',
    'h19 - - [10/Jul/1995:16:45:50 -0400]"GET / HTTP/1.0" 200 1',
    '   ', '', '\u00a0', 'x', 'h - [10/Jul/1995:16:45:50 -0400] "GET / HTTP/1.0" 200 1',
    'h20 - - [10/Jul/1995:16:45:50 -0400] "GET /caf\u00e9 HTTP/1.0" 200 1\r',
    'h21 - - [10/Jul/1995:16:45:50 -0400] "GET / HTTP/1.0" 200 1\r\r',
    'h22 - - [10/Jul/1995:16:45:50 -0400] "GET /' + 'a' * 600,
]
SPLIT = ['in24.inetnebr.', 'com - - [01/Aug/1995:00:00:01 -0400] "GET /a HTTP/1.0" 200 1839',
         'h - - [01/Aug/1995:00:00:02 -0400] "GET /shuttle/mis', 'sions/sts-68 HTTP/1.0" 200 1',
         'a - - [01/Aug/19', '95:00:00:03 -0400] "GET / HTTP/1.0" 200 2', 'x - - [01/Aug/1995:00:00:0',
         'not a line', '4 -0400] "GET / HTTP/1.0" 200 3', 'b - - [01/Aug/1995:00:00:05 -0400] "GET / HTTP/1.0" 200 4']


@pytest.mark.parametrize("lines, cut", [(ODD_LINES, False), (SPLIT, False), (SPLIT + ["cut - - [01/Aug/1995"], True)],
                         ids=["odd-lines", "split-lines", "cut-last-line"])
def test_crafted_lines_parse_identically(spark, lines, cut):
    # Given odd, damaged and split lines (and, for one case, a last line without a line break)
    data = ("\n".join(lines) + ("" if cut else "\n")).encode()
    # When both parsers read them
    requests, rejects = spark_parse(spark, lines_from_text(spark, data))
    # Then the outcome is the same line by line, reasons and repairs included
    assert_same(local_parse(data), requests, rejects)


def test_lines_that_crash_the_local_parser_are_rejected(spark):
    # Given lines the local parser raises on instead of rejecting (reported: OverflowError in
    # parse_line for UTC outside years 1-9999; a negative slice length in _ident_user_ok when the
    # first "[" comes right after the host)
    lines = ['h - - [01/Jan/0001:00:00:00 +0100] "GET / HTTP/1.0" 200 1',
             '[10/Jul/1995:16:45:50 -0400] "GET / HTTP/1.0" 200 1',
             'x [10/Jul/1995:16:45:50 -0400] "GET / HTTP/1.0" 200 1',
             'ok - - [10/Jul/1995:16:45:50 -0400] "GET / HTTP/1.0" 200 1']
    requests, rejects = spark_parse(spark, lines_from_text(spark, "\n".join(lines) + "\n"))
    # Then Spark rejects them with the careful parser's reasons and keeps the good line
    assert requests["line"].to_list() == [4]
    assert rejects.sort("line").select("line", "reason").rows() == [
        (1, "timestamp [01/Jan/0001:00:00:00 +0100] is not dd/Mon/yyyy:HH:MM:SS ±hhmm"),
        (2, clf.REASON_PREFIX), (3, clf.REASON_PREFIX)]


def test_invalid_utf8_is_replaced_the_same_way(spark):
    # Given lines with bytes that are not UTF-8 (overlong, surrogate, truncated, out of range)
    bad = [b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90\x80\x80", b"\xff\xfe", b"\xf8\x88\x80\x80\x80"]
    data = b"".join(b'h - - [10/Jul/1995:16:45:50 -0400] "GET /' + b + b' HTTP/1.0" 200 1\nbroken ' + b + b"\n"
                    for b in bad)
    # When both read them (Python's "replace" decoding locally, Java's in Spark)
    requests, rejects = spark_parse(spark, lines_from_text(spark, data))
    chunk = reader.make_chunk(data)
    # Then the same replacement characters appear in paths and in the rejected raw text
    assert_same(parse_chunk(chunk), requests, rejects)


def test_split_lines_are_not_joined_across_chunks(spark, nasa_dir, monkeypatch, tmp_path):
    # Given the damaged sample read in small chunks, so that some split pairs straddle a chunk boundary
    small = 3000
    monkeypatch.setattr(logs, "read_blocks", functools.partial(reader.read_blocks, block_bytes=small))
    path = nasa_dir / "access_log_sample_damaged.log"
    local = logs.read_access_log(path, "s")
    # When Spark places lines in chunks of the same size
    lines = number_lines(raw_lines(spark, str(path)), total_bytes=path.stat().st_size, chunk_bytes=small)
    parsed = parse_access_log(lines, "s", materialize=True)
    bins, rejects = to_polars(bin_requests(parsed.requests)), to_polars(parsed.rejects)
    # Then the same halves stay rejected (chunk by chunk, as locally) and the bins are identical
    assert local.rejects.height > 1
    assert rejects.sort("line").rows() == local.rejects.sort("line").rows()
    assert canonical(bins).equals(canonical(local.bins.select(bins.columns)))


def test_python_whitespace_class_is_spelled_out_exactly():
    # The Java class body used for Python's \s, read by Python's own regex engine, is str.isspace
    spaces = {chr(c) for c in range(0x110000) if re.fullmatch(f"[{clf.PY_SPACE}]", chr(c))}
    assert spaces == {chr(c) for c in range(0x110000) if chr(c).isspace()}


def test_mirrored_constants_match_the_local_engine():
    from fleetcast.aggregate import bins as local_bins
    from fleetcast.aggregate import requests as local_requests
    from fleetcast.aggregate import servers as local_servers
    from fleetcast.ingest import metrics as local_metrics
    from fleetcast.ingest import timestamps as local_timestamps
    from fleetcast.pipeline import sources as local_sources
    from fleetcast.spark import access_log, log_series, metrics, server_series, sources, timestamps

    assert (log_series.GAP_PROBABILITY, log_series.RATE_WINDOW_BINS, log_series.MIN_COVERAGE) == (
        local_requests.GAP_PROBABILITY, local_requests.RATE_WINDOW_BINS, local_requests.MIN_COVERAGE)
    assert log_series.LOG_METRICS == local_requests.METRICS
    assert (log_series.GRANULARITIES, log_series.DEFAULT_GRANULARITIES) == (
        local_bins.GRANULARITIES, local_bins.DEFAULT_GRANULARITIES)
    assert (server_series.GAP_FACTOR, server_series.MIN_COVERAGE, server_series.STATS) == (
        local_servers.GAP_FACTOR, local_servers.MIN_COVERAGE, local_servers.STATS)
    assert access_log.RAW_TEXT_LIMIT == local_log.RAW_TEXT_LIMIT
    assert metrics.RAW_TEXT_LIMIT == local_metrics.RAW_TEXT_LIMIT == local_log.RAW_TEXT_LIMIT
    assert access_log.BASE_SECONDS == local_sources.LOG_BASE_SECONDS
    assert sources._ROTATION.pattern == local_sources._ROTATION.pattern
    assert timestamps.FORMATS == local_timestamps.ZONED_FORMATS + local_timestamps.NAIVE_FORMATS
    assert timestamps.EPOCH_MS_ABOVE == local_timestamps.EPOCH_MS_ABOVE
    assert metrics.MetricsOptions() == metrics.MetricsOptions(**vars(local_metrics.MetricsOptions()))


@pytest.mark.parametrize("name", ["access.log.2.gz", "shop-2024-05-01.log", "Site_A.txt", "x.log.10",
                                  "web.2024-05-01T1200.log", "a-b-c.log", ".log", "access_log_sample.log"])
def test_series_names_match(name):
    from fleetcast.pipeline.sources import log_series_name as local_name
    from fleetcast.spark.sources import log_series_name

    assert log_series_name(f"s3://raw/logs/{name}") == local_name(Path(name))


def test_the_spark_package_imports_without_polars():
    # Glue 5.0 ships pyspark, pyarrow, numpy and boto3, not polars: the job's imports must not need it
    code = ("import sys; sys.modules['polars'] = None; "
            "import fleetcast.spark.aggregate, fleetcast.spark.catalog; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


def test_object_helpers_read_plain_and_gzip(spark, tmp_path):
    # Given the same text plain and gzip-compressed (and gzip under a name without .gz)
    import gzip

    text = b"first line\nsecond\nlast without break"
    (tmp_path / "a.log").write_bytes(text)
    (tmp_path / "a.log.gz").write_bytes(gzip.compress(text))
    (tmp_path / "b.log").write_bytes(gzip.compress(text))
    lake = HadoopLake(spark, {}, str(tmp_path / "_tmp"))
    from fleetcast.spark.sources import readable

    # When the Hadoop helpers look at them
    sizes = [lake.content_size(str(tmp_path / n)) for n in ("a.log", "a.log.gz")]
    copy = readable(lake, str(tmp_path / "b.log"))
    # Then sizes are of the content, and gzip without the suffix is read through a .gz copy
    assert sizes == [len(text), len(text)] and copy.endswith("b.log.gz")
    assert lake.head(copy, 5) == b"first"
    lines = number_lines(raw_lines(spark, copy), total_bytes=lake.content_size(copy))
    assert [tuple(r) for r in lines.orderBy("line").collect()] == [
        (1, "first line", 0, False), (2, "second", 0, False), (3, "last without break", -1, True)]
