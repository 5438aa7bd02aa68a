"""Write forecast results into the lake: ``forecasts``, ``backtests`` and the model card.

Files are keyed ``<granularity>-<purpose>`` inside ``run_id=R/shard=S``, so re-running a run (or a
shard of it) replaces its files instead of adding rows. The model card is written beside the
table as ``forecasts/_model_cards/run_id=R/<key>.json`` (a ``_`` prefix: not part of the table).
"""

from __future__ import annotations

import re

import polars as pl

from fleetcast.forecast.engine import ForecastResult
from fleetcast.forecast.version import card_json
from fleetcast.lake.local import LocalLake
from fleetcast.lake.tables import BACKTESTS, FORECASTS, shard_of


def write_results(lake: LocalLake, result: ForecastResult, run_id: str, *, metric: str, granularity: str,
                  purpose: str = "operational") -> str:
    """Write a :class:`ForecastResult` of one metric and granularity; returns the file key.

    ``result`` series ids may be plain (``metric`` applies to all) or ``series<US>metric`` (one
    model over several metrics, as the pipeline's forecast stage fits them).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from datetime import datetime, timedelta
    >>> from fleetcast.forecast import ModelConfig, fit_forecast
    >>> h = np.arange(24 * 14)
    >>> hist = pl.DataFrame({"series_id": "web-1", "value": 10 + np.sin(h / 3.8),
    ...                      "ts": [datetime(2024, 1, 1) + timedelta(hours=int(i)) for i in h]})
    >>> res = fit_forecast(hist, 6, "1h", config=ModelConfig(num_threads=1, n_estimators=20))
    >>> lake = LocalLake(tempfile.mkdtemp())
    >>> write_results(lake, res, "run-1", metric="request_count", granularity="1h")
    '1h-operational'
    >>> lake.read(FORECASTS).select("run_id", "step").height
    6
    """
    key = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{granularity}-{purpose}")
    tables = ((FORECASTS, result.forecasts), (BACKTESTS, result.backtest))
    for table, frame in tables:
        frame = _with_metric(frame, metric).with_columns(
            pl.lit(granularity).alias("granularity"),
            pl.col("series_id").map_elements(shard_of, return_dtype=pl.Int32).alias("shard"))
        for (shard,), part in frame.group_by("shard"):
            lake.write(table, part, partition={"run_id": run_id, "shard": shard}, key=key)
    cards = lake.table_dir(FORECASTS) / "_model_cards" / f"run_id={run_id}"
    cards.mkdir(parents=True, exist_ok=True)
    (cards / f"{key}.json").write_text(card_json(result.model_card) + "\n")
    return key


def _with_metric(frame: pl.DataFrame, metric: str) -> pl.DataFrame:
    if "metric" in frame.columns:
        return frame
    parts = pl.col("series_id").str.split_exact("\x1f", 1)
    return frame.with_columns(
        parts.struct.field("field_0").alias("series_id"),
        pl.coalesce(parts.struct.field("field_1"), pl.lit(metric)).alias("metric"))
