"""Shared fixtures of the forecasting tests: seeded data and a small, single-threaded model."""

from __future__ import annotations

import pytest

from fleetcast.forecast.model import ModelConfig


@pytest.fixture
def small_config() -> ModelConfig:
    """Deterministic and quick: one thread, few trees, few rows."""
    return ModelConfig(num_threads=1, n_estimators=60, learning_rate=0.1, max_rows=60_000, seed=0)
