"""Shared fixtures. The real data lives in ../shared/data beside the repository (never copied in).

Tests that need it fail (not skip) when it is missing: CI always has it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from fleetcast.lake.local import LocalLake

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _shared(sub: str) -> Path:
    path = SHARED_DATA / sub
    assert path.is_dir(), f"real data missing: {path} (../shared must sit beside the repository)"
    return path


@pytest.fixture(scope="session")
def nasa_dir() -> Path:
    return _shared("nasa-ksc-1995")


@pytest.fixture(scope="session")
def nasa_requests(nasa_dir: Path) -> Callable[[str], pl.DataFrame]:
    """NASA requests per bin (``"5min"`` or ``"1h"``) as ``ts`` (local wall-clock time), ``value``:
    null where under 80 % of the bin was logged (a gap, as in ``bench/forecast_nasa.py``)."""
    def load(resolution: str) -> pl.DataFrame:
        name, seconds = {"5min": ("nasa_ksc_requests_5min.csv", 300), "1h": ("nasa_ksc_requests_1h.csv", 3600)}[
            resolution]
        return pl.read_csv(nasa_dir / name).select(
            ts=pl.col("timestamp").str.slice(0, 19).str.to_datetime("%Y-%m-%dT%H:%M:%S"),
            value=pl.when(pl.col("logged_seconds") >= 0.8 * seconds).then(pl.col("requests")).cast(pl.Float64))
    return load


@pytest.fixture(scope="session")
def nab_dir() -> Path:
    return _shared("nab-aws-cloudwatch")


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    return LocalLake(tmp_path / "lake")
