"""The CLI as a user meets it: exit codes, one-line errors, no tracebacks, query output."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from fleetcast.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fleetcast", *args], capture_output=True, text=True,
                          timeout=120)


def test_ingest_then_query_end_to_end(tmp_path, nasa_dir, nab_dir):
    lake = tmp_path / "lake"
    done = run_cli("ingest", str(nasa_dir / "access_log_sample.log"),
                   str(nab_dir / "ec2_cpu_utilization_825cc2.csv"), "--lake", str(lake))
    assert done.returncode == 0, done.stderr
    assert "1,880 lines: 1,880 parsed, 0 rejected" in done.stdout
    assert "4,032 lines: 4,032 parsed, 0 rejected" in done.stdout
    sql = ("SELECT series_id, sum(value) AS requests FROM observations "
           "WHERE metric = 'request_count' AND granularity = '1h' GROUP BY 1")
    out = run_cli("query", "--lake", str(lake), "--format", "json", sql)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [{"series_id": "access_log_sample", "requests": 1642.0}]


def write_gzip_truncated(path, data: bytes) -> None:
    packed = gzip.compress(data * 50)
    path.write_bytes(packed[: len(packed) // 3])


@pytest.mark.parametrize("name, make, message", [
    ("empty.log", lambda p: p.write_text(""), "file is empty"),
    ("blank.log", lambda p: p.write_text("\n\n  \n"), "file is empty"),
    ("binary.dat", lambda p: p.write_bytes(bytes(range(256)) * 40), "binary"),
    ("utf16.log", lambda p: p.write_text('h - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.0" 200 1\n',
                                         encoding="utf-16"), "UTF-16"),
    ("header.csv", lambda p: p.write_text("timestamp,server_id,cpu\n"), "header but no data rows"),
    ("cols.csv", lambda p: p.write_text("timestamp,server_id,temperature\n2024-01-01,a,3\n"),
     "unknown column(s) temperature"),
    ("cut.log.gz", lambda p: write_gzip_truncated(
        p, b'h - - [01/Jan/2024:00:00:00 +0000] "GET /some/longer/path HTTP/1.0" 200 1000\n' * 2000),
     "truncated"),
    ("prose.txt", lambda p: p.write_text("Dear diary,\ntoday the servers were fine.\n"),
     "neither an access log"),
    ("events.json", lambda p: p.write_text('{"time": "2024-01-01T00:00:00Z", "status": 200}\n'), "looks like JSON"),
    ("iis.log", lambda p: p.write_text("#Software: Microsoft IIS\n#Fields: date time\n"), "W3C/IIS"),
    ("book.xlsx", lambda p: p.write_bytes(b"PK\x03\x04" + bytes(200)), "Excel workbook"),
    ("logs.tar.bz2", lambda p: p.write_bytes(b"BZh91AY&SY" + bytes(200)), "bzip2"),
])
def test_unusable_inputs_give_one_line_and_exit_2(tmp_path, name, make, message):
    path = tmp_path / name
    make(path)
    done = run_cli("ingest", str(path), "--lake", str(tmp_path / "lake"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert message in done.stderr and name in done.stderr
    # nothing but the failed run is recorded
    assert sorted(p.name for p in (tmp_path / "lake").iterdir()) == ["runs"]
    runs = run_cli("query", "--lake", str(tmp_path / "lake"), "--format", "json",
                   "SELECT status, message FROM runs")
    assert json.loads(runs.stdout)[0]["status"] == "failed" and message in json.loads(runs.stdout)[0]["message"]


@pytest.mark.parametrize("args, message", [
    (["ingest", "/no/such/file.log"], "no such file"),
    (["ingest", "."], "is a directory"),
    (["ingest", "x.log", "--granularity", "7min"], "unknown granularity '7min'"),
    (["ingest", "x.log", "--timezone", "Mars/Olympus"], "unknown time zone"),
    (["query", "SELECT 1"], "no lake at"),
])
def test_user_mistakes_are_one_line_errors(tmp_path, capsys, args, message):
    (tmp_path / "x.log").write_text('h - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.0" 200 1\n')
    code = main([*args, "--lake", str(tmp_path / "missing-lake")]) if args[0] == "query" else \
        main([*[a if a != "x.log" else str(tmp_path / a) for a in args], "--lake", str(tmp_path / "lk")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_bad_sql_is_an_error_not_a_traceback(tmp_path, nasa_dir, capsys):
    lake = str(tmp_path / "lake")
    assert main(["ingest", str(nasa_dir / "access_log_sample.log"), "--lake", lake, "--quiet"]) == 0
    assert main(["query", "--lake", lake, "SELEC nonsense"]) == 2
    assert "syntax error" in capsys.readouterr().err
    assert main(["query", "--lake", lake, "SELECT * FROM no_such_table"]) == 2
    assert "no_such_table" in capsys.readouterr().err


def test_query_csv_output_flattens_lists(tmp_path, nasa_dir, capsys):
    lake = str(tmp_path / "lake")
    main(["ingest", str(nasa_dir / "access_log_sample.log"), "--lake", lake, "--quiet"])
    assert main(["query", "--lake", lake, "--format", "csv", "SELECT series, lines_read FROM sources"]) == 0
    assert capsys.readouterr().out.splitlines() == ["series,lines_read", "access_log_sample,1880"]
