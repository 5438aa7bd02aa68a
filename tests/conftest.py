"""Shared fixtures. The real data lives in ../shared/data beside the repository (never copied in).

Tests that need it fail (not skip) when it is missing: CI always has it.
"""

from __future__ import annotations

from pathlib import Path

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
def nab_dir() -> Path:
    return _shared("nab-aws-cloudwatch")


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    return LocalLake(tmp_path / "lake")
