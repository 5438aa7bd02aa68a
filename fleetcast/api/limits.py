"""The API's stated size limits (also in the OpenAPI document and docs/api.md).

Requests over a size limit are answered 413; values out of range (a horizon too long, a negative
load) are field-level 400s. The limits keep every request inside API Gateway's 29 s integration
timeout and Lambda's 6 MB payload limit on the api function's hardware (about one vCPU).
"""

from __future__ import annotations

MAX_BODY_BYTES = 5 * 1024 * 1024
"""Largest request body (JSON or CSV): Lambda takes 6 MB synchronous payloads, with headroom."""

MAX_HISTORY_POINTS = 20_000
"""Most history rows in one ``/v1/forecast`` or ``/v1/backtest`` request (70 days of 5-minute data)."""

MAX_SERIES = 20
"""Most distinct ``series_id`` values in one forecast or backtest request."""

MAX_HORIZON = 2_016
"""Longest forecast horizon in steps (a week of 5-minute steps)."""

MAX_LOAD_POINTS = 20_000
"""Most load (or predicted load) rows in one ``/v1/scaling/plan`` or ``/v1/cost/report`` request."""

MAX_PLAN_INTERVALS = 10_000
"""Most intervals a scaling plan returns (one row each)."""

MAX_POLICIES = 8
"""Most policies compared in one cost report (static_peak and reactive come on top)."""

MAX_PAGE = 1_000
"""Largest ``limit`` of the listing endpoints."""

MAX_ABS_VALUE = 1e12
"""Largest magnitude of a posted value (keeps squares and sums finite)."""


def as_dict() -> dict[str, int | float]:
    """All limits by name, for ``GET /`` and the docs.

    Examples
    --------
    >>> as_dict()["max_history_points"]
    20000
    """
    return {name.lower(): value for name, value in globals().items()
            if name.startswith("MAX_") and isinstance(value, int | float)}
