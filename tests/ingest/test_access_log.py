"""Parsing access logs: real odd and damaged lines, formats, time zones, bad timestamps."""

from __future__ import annotations

import functools
import gzip
import random
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetcast.errors import InputError
from fleetcast.ingest import logs, reader
from fleetcast.ingest.access_log import parse_chunk, parse_line
from fleetcast.ingest.logs import read_access_log
from fleetcast.ingest.reader import Chunk, read_chunks
from tests.helpers import clf


def parse_text(text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    return parse_chunk(Chunk(data, ends, first_line=1))


def parse_file(path: Path):
    chunks = list(read_chunks(path))
    assert len(chunks) == 1
    return chunks[0], parse_chunk(chunks[0])


def test_every_real_odd_line_is_a_request(nasa_dir):
    # Given the 27 odd but real lines of the NASA July log
    chunk, parsed = parse_file(nasa_dir / "access_log_oddities.log")
    records = parsed.records.sort("line")
    # Then all are requests the server answered: none rejected
    assert chunk.n_lines == 27 and records.height == 27 and parsed.rejects.height == 0
    by_line = {r["line"]: r for r in records.iter_rows(named=True)}
    # empty request "" -> no method/path, status 400, '-' bytes -> null
    assert by_line[1]["method"] is None and by_line[1]["status"] == 400 and by_line[1]["bytes"] is None
    # request without method
    assert by_line[2]["method"] is None and by_line[2]["path"] is None
    # non-ASCII bytes inside the request are kept
    assert by_line[4]["status"] == 400 and by_line[4]["host"] == "128.159.122.20"
    # spaces inside the path: method and protocol at the ends, the rest is the path
    assert by_line[6]["method"] == "GET" and by_line[6]["protocol"] == "HTTP/1.0"
    assert by_line[6]["path"].startswith("/history/history.html ") and by_line[6]["bytes"] == 1502
    # POST/HEAD methods, 5xx statuses, '-' sizes
    assert {r["method"] for r in by_line.values()} >= {"GET", "POST", "HEAD"}
    assert sorted({r["status"] for r in by_line.values()}) == [200, 302, 400, 404, 500, 501]
    assert records["bytes"].null_count() == 17
    # timestamps are converted to UTC from -0400
    assert by_line[1]["ts"] == datetime(1995, 7, 10, 20, 45, 50) and by_line[1]["utc_offset_min"] == -240


def test_damaged_sample_is_repaired_line_by_line(nasa_dir):
    # Given the published sample with a newline inserted every 4,096 bytes and a cut last line
    chunk, damaged = parse_file(nasa_dir / "access_log_sample_damaged.log")
    _, clean = parse_file(nasa_dir / "access_log_sample.log")
    # Then every line is accounted for: 49 split pairs joined, only the cut last line rejected
    assert chunk.n_lines == 1930
    assert damaged.records.height + damaged.repaired // 2 + damaged.rejects.height == 1930
    assert damaged.repaired == 98
    assert damaged.rejects.rows() == [(1930, "does not start with 'host ident user [timestamp]'", "miriwo")]
    # And the repaired requests equal the clean sample's, host names included
    cols = ["host", "ts", "method", "path", "status", "bytes"]
    assert damaged.records.select(cols).equals(clean.records.select(cols))


def test_combined_format_fields():
    line = clf(datetime(2024, 3, 1, 12, 0, 0), request='GET /a?q=\\"x\\" HTTP/1.1', status=304, size="-",
               combined=("https://ex.com/", 'Mozilla/5.0 (X11; "quoted")'.replace('"', '\\"')))
    record = parse_text(line + "\n").records.row(0, named=True)
    assert record["path"] == '/a?q=\\"x\\"' and record["protocol"] == "HTTP/1.1"
    assert record["referrer"] == "https://ex.com/"
    assert record["user_agent"] == 'Mozilla/5.0 (X11; \\"quoted\\")'
    assert record["status"] == 304 and record["bytes"] is None


@pytest.mark.parametrize("offset, utc", [("+0000", datetime(2024, 1, 1, 0, 0)),
                                          ("+0530", datetime(2023, 12, 31, 18, 30)),
                                          ("-0800", datetime(2024, 1, 1, 8, 0))])
def test_offsets_convert_to_utc(offset, utc):
    record = parse_text(clf(datetime(2024, 1, 1), offset=offset) + "\n").records.row(0, named=True)
    assert record["ts"] == utc


def test_leap_day_and_crlf_line_endings():
    text = clf(datetime(2024, 2, 29, 23, 59, 59)) + "\r\n" + clf(datetime(2024, 3, 1)) + "\r\n"
    parsed = parse_text(text)
    assert parsed.rejects.height == 0
    assert parsed.records["ts"].to_list() == [datetime(2024, 2, 29, 23, 59, 59), datetime(2024, 3, 1)]
    assert parsed.records["bytes"].to_list() == [100, 100]


@pytest.mark.parametrize("bad, reason", [
    ('h - - [31/Feb/2024:00:00:00 +0000] "GET / HTTP/1.0" 200 1', "timestamp"),
    ('h - - [01/Foo/2024:00:00:00 +0000] "GET / HTTP/1.0" 200 1', "timestamp"),
    ('h - - [01/Jan/2024:25:00:00 +0000] "GET / HTTP/1.0" 200 1', "timestamp"),
    ('h - - [01/Jan/2024:00:00:00] "GET / HTTP/1.0" 200 1', "timestamp"),
    ('h - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.0" 999 1', "status 999"),
    ('h - - [01/Jan/2024:00:00:00 +0000] "GET /shuttle/miss', "not closed"),
    ('h - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.0"', "no status and size"),
    ('h - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.0" 200 1 trailing junk', "unexpected text"),
    ("", "empty line"),
    ("just some words", "does not start with"),
])
def test_bad_lines_are_rejected_with_a_reason(bad, reason):
    good = clf(datetime(2024, 1, 1))
    parsed = parse_text(f"{good}\n{bad}\n{good}\n")
    assert parsed.records["line"].to_list() == [1, 3]
    assert parsed.rejects["line"].to_list() == [2]
    assert reason in parsed.rejects["reason"][0]


def test_unescaped_quote_in_request_is_still_a_request():
    parsed = parse_text('h - - [01/Jan/2024:00:00:00 +0000] "GET /a"b HTTP/1.0" 404 -\n')
    assert parsed.rejects.height == 0 and parsed.records.row(0, named=True)["path"] == '/a"b'


def test_invalid_utf8_is_replaced_not_lost(tmp_path):
    path = tmp_path / "latin1.log"
    path.write_bytes(clf(datetime(2024, 1, 1), request="GET /caf\xe9 HTTP/1.0").encode("latin-1") + b"\n")
    _, parsed = parse_file(path)
    assert parsed.records.row(0, named=True)["path"] == "/caf\ufffd"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(
    st.builds(lambda s: clf(datetime(2024, 1, 1, s // 3600, s // 60 % 60, s % 60)), st.integers(0, 86399)),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=60),
), max_size=40))
def test_every_line_is_parsed_or_rejected(lines):
    # Given any mix of valid and arbitrary lines
    parsed = parse_text("".join(f"{line}\n" for line in lines))
    # Then each line number appears exactly once in records, rejects, or a repaired pair
    seen = parsed.records["line"].to_list() + parsed.rejects["line"].to_list()
    assert len(seen) == len(set(seen))
    assert parsed.records.height + parsed.rejects.height + parsed.repaired // 2 == len(lines)


def test_gzip_reads_like_plain(tmp_path, nasa_dir):
    plain = nasa_dir / "access_log_sample.log"
    packed = tmp_path / "sample.log.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    a, b = read_access_log(plain, "s"), read_access_log(packed, "s")
    assert a.bins.equals(b.bins) and a.source_id == b.source_id and a.lines_read == 1880


def test_truncated_gzip_is_unusable(tmp_path, nasa_dir):
    data = gzip.compress((nasa_dir / "access_log_sample.log").read_bytes())
    path = tmp_path / "cut.log.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        read_access_log(path, "s")


def test_a_file_without_any_request_is_unusable(tmp_path):
    path = tmp_path / "notes.log"
    path.write_text("hello\nworld\n")
    with pytest.raises(InputError, match="no line is a Common/Combined Log Format request"):
        read_access_log(path, "s")


def test_chunks_keep_line_numbers_across_boundaries(tmp_path, nasa_dir):
    # Given a file read in small chunks, with a bad line near the end
    lines = (nasa_dir / "access_log_sample.log").read_text().splitlines()
    lines[1500] = "garbage"
    path = tmp_path / "x.log"
    path.write_text("\n".join(lines) + "\n")
    chunks = list(read_chunks(path, chunk_bytes=4096))
    # Then line numbers continue from chunk to chunk
    assert len(chunks) > 10
    assert sum(c.n_lines for c in chunks) == 1880
    rejects = pl.concat([parse_chunk(c).rejects for c in chunks])
    assert rejects["line"].to_list() == [1501]


@pytest.mark.parametrize("prefix, accepted", [("h - frank", True), ("h ident frank", True),
                                              ("h frank", False), ("h  - -", False), ("h - - ", False)])
def test_ident_and_user_fields(prefix, accepted):
    parsed = parse_text(f'{prefix} [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.0" 200 5\n')
    assert (parsed.records.height, parsed.rejects.height) == ((1, 0) if accepted else (0, 1))
    if accepted:
        assert parsed.records["host"][0] == "h"


def test_fast_and_careful_parsers_agree(nasa_dir):
    # Given real lines, and variants of them with CRLF, Combined fields and escaped quotes
    lines = (nasa_dir / "access_log_sample.log").read_text().splitlines()[:300]
    lines += (nasa_dir / "access_log_oddities.log").read_text().splitlines()
    lines += [ln + ' "-" "Mozilla/4.0 (compatible)"' for ln in lines[:50]]
    lines += [ln.replace('HTTP/1.0"', 'HTTP/1.0 \\"x\\""') for ln in lines[:20]]
    parsed = parse_text("\n".join(lines) + "\r\n")
    # Then the vectorised records equal what the line-by-line parser makes of each line
    assert parsed.rejects.height == 0 and parsed.records.height == len(lines)
    for row in parsed.records.iter_rows():
        assert row[1:] == parse_line(lines[row[0] - 1].rstrip("\r")), lines[row[0] - 1]


def _canonical(bins: pl.DataFrame) -> pl.DataFrame:
    return bins.with_columns(pl.col("hosts").list.sort())


@pytest.mark.parametrize("shuffled", [False, True], ids=["in-order", "shuffled"])
def test_bins_do_not_depend_on_block_boundaries(tmp_path, nasa_dir, monkeypatch, shuffled):
    # Given the real sample (in time order, or with its lines shuffled) and a few bad lines
    lines = (nasa_dir / "access_log_sample.log").read_text().splitlines()
    lines[100], lines[1000] = "junk", ""
    if shuffled:
        random.Random(7).shuffle(lines)
    path = tmp_path / "a.log"
    path.write_text("\n".join(lines) + "\n")
    whole = read_access_log(path, "s")
    # When it is read in blocks of ~3 KB, so that many minutes straddle two blocks
    monkeypatch.setattr(logs, "read_blocks", functools.partial(reader.read_blocks, block_bytes=3000))
    blocks = read_access_log(path, "s")
    # Then the bins are the same: one row per minute, counts and distinct hosts merged exactly
    assert blocks.bins["ts"].is_unique().all() and blocks.bins["ts"].is_sorted()
    assert _canonical(blocks.bins).equals(_canonical(whole.bins))
    assert (blocks.lines_read, blocks.records, blocks.lines_rejected) == (1880, 1878, 2)
    assert blocks.bins["requests"].sum() == 1878
