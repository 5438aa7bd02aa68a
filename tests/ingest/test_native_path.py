"""The C fast path (fleetcast/ingest/_clf.c) accepts exactly the lines the Polars fast path accepts,
and gives the same fields; everything else goes to the same careful parser."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetcast.generate.access_log import generate_access_log
from fleetcast.ingest import access_log, reader
from fleetcast.ingest.access_log import NATIVE_FIELDS, parse_chunk
from fleetcast.ingest.logs import NEEDED
from fleetcast.ingest.reader import make_chunk, read_chunks


def both_paths(chunk, columns):
    """parse_chunk with the C fast path, then with the Polars one."""
    native = parse_chunk(chunk, columns)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(access_log, "NATIVE", None)
        polars = parse_chunk(chunk, columns)
    return native, polars


def assert_same(native, polars):
    assert native.records.equals(polars.records)
    assert native.rejects.equals(polars.rejects)
    assert native.repaired == polars.repaired


def test_the_c_fast_path_is_built():
    # `pip install -e .` compiles it where there is a C compiler (as on CI): without it every test
    # here would compare the Polars path with itself
    assert access_log.NATIVE is not None and reader.NATIVE is not None


@pytest.mark.parametrize("name", ["access_log_sample.log", "access_log_oddities.log",
                                  "access_log_sample_damaged.log"])
@pytest.mark.parametrize("columns", [NEEDED, NATIVE_FIELDS])
def test_real_lines_parse_the_same_in_c(nasa_dir, name, columns):
    for chunk in read_chunks(nasa_dir / name):
        assert_same(*both_paths(chunk, columns))


def test_generated_logs_with_cut_lines_parse_the_same_in_c(tmp_path):
    # Given a generated Combined Log Format log with every 40th line cut short
    path = tmp_path / "gen.log"
    generate_access_log(path, days=1, base_rate_per_min=10, seed=3)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[::40] = [line[: len(line) * k // 7] + b"\n" for k, line in enumerate(lines[::40])]
    path.write_bytes(b"".join(lines))
    # Then every block parses the same, and the cut lines went to the careful parser
    rejected = 0
    for chunk in read_chunks(path, 64 << 10):
        native, polars = both_paths(chunk, NATIVE_FIELDS)
        assert_same(native, polars)
        rejected += native.rejects.height
    assert rejected > len(lines) // 80


NOISE = [" ", '"', "[", "]", "\t", "\r", "\n", "\x00", "-", ":", "/", "+", "9", "a", "é", "\ufffd"]


def mostly(valid: list[str], invalid: list[str]) -> st.SearchStrategy[str]:
    """A valid part four times in five, so that whole lines are often valid but for one part."""
    return st.sampled_from(valid * (4 * max(1, len(invalid)) // len(valid) + 1) + invalid)


@st.composite
def log_line(draw) -> bytes:
    """A Common/Combined line from random parts, sometimes invalid, sometimes damaged by a random edit."""
    text = st.text(st.sampled_from('ab.-_:"[]\\ \t\x7f\x01é'), min_size=0, max_size=6)
    host = draw(mostly(["h", "in24.inetnebr.com", "1.2.3.4"], [""]) | text)
    ident = draw(mostly(["-", "frank"], ["", "a b"]))
    day, year = draw(mostly(["01", "29", "31"], ["00", "1x"])), draw(mostly(["1995", "2024"], ["1969"]))
    hh, mm, ss = draw(mostly(["00", "23"], ["24"])), draw(mostly(["00", "59"], ["60"])), \
        draw(mostly(["00", "59", "60"], ["61"]))
    zone = draw(mostly(["-0400", "+0000", "+0530", "+1800", "+0099"], ["-1801", "0400"]))
    month = draw(mostly(["Jan", "Feb", "Aug", "Dec"], ["aug", "Foo"]))
    request = draw(mostly(["GET / HTTP/1.0", "GET /a b HTTP/1.1", ""], ['GET /x\\"y']) | text)
    status = draw(mostly(["200", "404", "100", "599"], ["099", "600", "20", "2000"]))
    size = draw(mostly(["0", "1839", "-", "1234567890123"], ["12345678901234", ""]))
    tail = draw(mostly(["", ' "-" "Mozilla/4.0"', ' "http://x/" ""'], [' "a"', ' "x" "y" z']))
    end = draw(mostly(["\n", "\r\n"], ["\r\r\n", " \n"]))
    line = (f'{host} {ident} - [{day}/{month}/{year}:{hh}:{mm}:{ss} {zone}] "{request}" {status} {size}'
            f"{tail}{end}")
    if draw(st.integers(0, 3)) == 0:  # a random edit: insert, replace or delete one character
        at = draw(st.integers(0, len(line)))
        edit = draw(st.sampled_from(["insert", "replace", "delete"]))
        noise = draw(st.sampled_from(NOISE))
        line = line[:at] + (noise if edit != "delete" else "") + line[at + (edit != "insert"):]
    return line.encode("utf-8") if draw(st.booleans()) else line.encode("latin-1", "replace")


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.lists(log_line(), min_size=1, max_size=12), st.booleans())
def test_random_and_damaged_lines_parse_the_same_in_c(lines, cut):
    # Given lines built from valid and invalid parts, some edited at random (the file may end
    # without a line break)
    data = b"".join(lines)
    if cut:
        data = data.rstrip(b"\n")
    chunk = make_chunk(data, first_line=7)
    # Then both fast paths accept the same lines with the same fields, and reject the rest the same way
    for columns in (NEEDED, NATIVE_FIELDS):
        native, polars = both_paths(chunk, columns)
        assert_same(native, polars)
    assert native.records.height + native.rejects.height + native.repaired // 2 == chunk.n_lines


def test_line_ends_match_numpy():
    data = b"one\ntwo\r\n\n\nlast"
    assert make_chunk(data).line_ends.tolist() == np.flatnonzero(np.frombuffer(data, np.uint8) == 10).tolist()
    assert make_chunk(b"").line_ends.size == 0 and make_chunk(b"\n").n_lines == 1


def test_the_size_of_a_request_is_null_for_a_dash():
    chunk = make_chunk(b'h - - [01/Aug/1995:00:00:01 -0400] "GET / HTTP/1.0" 304 -\n')
    native, _ = both_paths(chunk, NATIVE_FIELDS)
    assert native.records.select(pl.col("bytes").is_null(), "status", "utc_offset_min").row(0) == (True, 304, -240)


def test_the_c_function_refuses_buffers_that_do_not_fit_instead_of_crashing():
    def outputs(n, host_bytes):
        return [np.empty(n, np.uint8), np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int16),
                np.empty(n, np.int16), np.empty(n, np.int64), np.empty(n + 1, np.int64), np.empty(host_bytes, np.uint8)]

    with pytest.raises(ValueError, match="at least one entry"):
        access_log.NATIVE.scan(b"", np.empty(0, np.int64), *outputs(0, 0))
    with pytest.raises(ValueError, match="rise within the data"):
        access_log.NATIVE.scan(b"ab\n", np.array([0, 9], np.int64), *outputs(1, 3))
    with pytest.raises(ValueError, match="host_data"):
        access_log.NATIVE.scan(b"ab\n", np.array([0, 3], np.int64), *outputs(1, 2))
