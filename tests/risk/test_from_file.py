"""Streaming a metrics file in blocks and server partitions gives what reading it whole gives."""

from __future__ import annotations

import gzip

import numpy as np
import polars as pl
import pytest

from fleetcast.ingest.metrics import MetricsOptions, read_metrics
from fleetcast.risk import daily_stats
from fleetcast.risk.from_file import daily_from_file


def fleet_csv(path, servers: int = 7, days: int = 3, scale: float = 1.0, negative: bool = True) -> list[str]:
    """A wide hourly file with a few bad values and repeated samples far apart (other blocks)."""
    rng = np.random.default_rng(0)
    lines = ["timestamp,server_id,cpu,memory"]
    for h in range(days * 24):
        stamp = f"2024-03-{1 + h // 24:02d}T{h % 24:02d}:00:00Z"
        for s in range(servers):
            cpu, mem = rng.uniform(5, 95, 2) * scale
            lines.append(f"{stamp},srv-{s},{cpu:.3f},{mem:.3f}")
    if negative:
        lines[10] = lines[10].rsplit(",", 1)[0] + ",-4"  # a negative memory value
    lines[20] = "not-a-time," + lines[20].split(",", 1)[1]  # a whole line unusable
    lines.append(lines[5].rsplit(",", 2)[0] + f",{11 * scale},{12 * scale}")  # line 6 again, last: it wins
    path.write_text("\n".join(lines) + "\n")
    return lines


def whole_file(path, options=MetricsOptions()):
    metrics = read_metrics(path, options)
    return metrics, daily_stats(metrics.samples)


@pytest.mark.parametrize("partitions", [1, 3])
def test_blocks_and_partitions_give_the_whole_file_answer(tmp_path, partitions):
    # Given a file streamed in ~2 KB blocks (dozens of them) and spread over server partitions
    fleet_csv(tmp_path / "m.csv")
    # When both readers read it
    streamed = daily_from_file(tmp_path / "m.csv", tmp_path / "work", block_bytes=2048, partitions=partitions)
    metrics, daily = whole_file(tmp_path / "m.csv")
    # Then the daily statistics, the accounting and every reject (with its text) are the same
    assert streamed.daily.equals(daily)
    assert (streamed.lines_read, streamed.lines_rejected) == (metrics.lines_read, metrics.lines_rejected) == (
        3 * 24 * 7 + 1, 2)
    assert streamed.rejects.collect().equals(metrics.rejects)
    repeat = metrics.rejects.filter(pl.col("reason").str.starts_with("repeated"))
    assert repeat.select("line", "field").rows() == [(6, "cpu"), (6, "memory")]
    assert repeat["raw"][0].startswith("2024-03-01T00:00:00Z,srv-4,")


def test_fractions_are_judged_on_the_whole_file_not_one_block(tmp_path):
    # Given 0-1 fractions whose only value above 1 is in the last line
    lines = fleet_csv(tmp_path / "frac.csv", scale=0.01, negative=False)
    (tmp_path / "mixed.csv").write_text("\n".join(lines + [lines[-1].rsplit(",", 2)[0] + ",0.5,1.5"]) + "\n")
    # When streamed in small blocks
    frac = daily_from_file(tmp_path / "frac.csv", tmp_path / "w1", block_bytes=2048)
    mixed = daily_from_file(tmp_path / "mixed.csv", tmp_path / "w2", block_bytes=2048)
    # Then the all-fraction file is scaled to percent with a warning, the other is not scaled
    assert frac.warnings and frac.daily["p95"].max() > 50
    assert not mixed.warnings and mixed.daily["p95"].max() < 2
    assert frac.daily.equals(whole_file(tmp_path / "frac.csv")[1])


def test_gzip_files_stream_too(tmp_path):
    fleet_csv(tmp_path / "m.csv", servers=2)
    (tmp_path / "m.csv.gz").write_bytes(gzip.compress((tmp_path / "m.csv").read_bytes()))
    streamed = daily_from_file(tmp_path / "m.csv.gz", tmp_path / "work", block_bytes=1024)
    assert streamed.daily.equals(whole_file(tmp_path / "m.csv")[1])
