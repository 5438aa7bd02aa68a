"""Request and response bodies of the HTTP API (pydantic models: validation and the OpenAPI document).

Conventions: timestamps are ISO 8601; a timestamp with an offset is converted to UTC, one without is
read as UTC, and every timestamp in a response is UTC with a ``Z``. Values are finite numbers; a null
value is a gap (missing data, never zero). Unknown fields are an error that names them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from fleetcast.api.limits import MAX_ABS_VALUE, MAX_HORIZON, MAX_POLICIES

EARLIEST = datetime(1970, 1, 1)
LATEST = datetime(2200, 1, 1)
PRESET_NAMES = ("conservative", "balanced", "aggressive", "reactive")
LEVELS = ("very_high", "high", "underutilised", "normal")
FREQ_PATTERN = r"^[1-9][0-9]{0,5}(s|min|h|d)$"


def _utc_naive(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return value


Timestamp = Annotated[datetime, AfterValidator(_utc_naive)]
Value = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_ABS_VALUE, le=MAX_ABS_VALUE)]
Load = Annotated[float, Field(allow_inf_nan=False, ge=0, le=MAX_ABS_VALUE)]
Freq = Annotated[str, Field(pattern=FREQ_PATTERN, description="step of the series: 30s, 1min, 5min, 15min, "
                                                               "1h, 1d...; inferred from the timestamps when omitted",
                            examples=["5min"])]
SeriesId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def __repr_args__(self):
        """Long lists (posted history or load) are shown by their length: Powertools logs the route's
        arguments with an f-string on every request, and 4,000 points took 0.1 s to print."""
        for name, value in super().__repr_args__():
            yield name, f"<{len(value)} items>" if isinstance(value, list) and len(value) > 10 else value


# -- requests -----------------------------------------------------------------------------------
class HistoryPoint(Strict):
    timestamp: Timestamp
    value: Value | None = Field(None, description="null (or absent) is a gap, never a zero")
    series_id: SeriesId | None = Field(None, description="for several series in one request")


class ForecastRequest(Strict):
    """History to forecast from. The same as a CSV body ``timestamp,value[,series_id]`` with
    ``?horizon=&freq=`` in the query string."""

    history: list[HistoryPoint] = Field(min_length=2, description="one row per time step; missing rows are gaps")
    horizon: int = Field(ge=1, le=MAX_HORIZON, description="steps to forecast after the last timestamp")
    freq: Freq | None = None


class BacktestRequest(ForecastRequest):
    """History to backtest on: the model and the seasonal baselines forecast rolling origins."""

    windows: int | None = Field(None, ge=1, le=200, description="rolling origins (default: automatic)")
    step: int | None = Field(None, ge=1, le=MAX_HORIZON, description="steps between origins (default: a day "
                                                                        "or the horizon)")


class LoadPoint(Strict):
    timestamp: Timestamp
    value: Load | None = Field(None, description="load in the interval (e.g. requests per 5 min); null is a gap")


class PredictedPoint(Strict):
    """One forecast step (the rows of ``POST /v1/forecast`` can be posted as they are)."""

    timestamp: Timestamp
    yhat: Load
    hi80: Load | None = None
    hi95: Load | None = None
    lo80: Value | None = None
    lo95: Value | None = None
    step: int | None = None
    series_id: SeriesId | None = None
    model: str | None = Field(None, max_length=64)


Count = Annotated[int, Field(ge=0, le=100_000)]
Periods = Annotated[int, Field(ge=1, le=10_000)]
Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


class PolicySpec(Strict):
    """A custom scaling policy; fields left out come from ``base`` (a preset) or the defaults.
    Durations count intervals of the load series; utilisations are fractions (0.7 = 70%)."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@:-]+$")
    base: Literal[PRESET_NAMES] | None = None  # type: ignore[valid-type]
    kind: Literal["predictive", "reactive"] | None = None
    target_utilisation: Fraction | None = None
    scale_out_threshold: Fraction | None = None
    scale_in_threshold: Fraction | None = None
    scale_out_periods: Periods | None = None
    scale_in_periods: Periods | None = None
    cooldown_out: Count | None = None
    cooldown_in: Count | None = None
    step_out: Annotated[int, Field(ge=1, le=100_000)] | None = None
    step_in: Annotated[int, Field(ge=1, le=100_000)] | None = None
    min_servers: Count | None = None
    max_servers: Annotated[int, Field(ge=1, le=100_000)] | None = None
    warmup: Annotated[int, Field(ge=0, le=1_000)] | None = None
    quantile: Literal["yhat", "hi80", "hi95"] | None = None
    metric_delay: Annotated[int, Field(ge=0, le=1_000)] | None = None

    def as_spec(self) -> dict[str, Any]:
        """The fields given (None for a field the policy has no value for, e.g. no step limit)."""
        return self.model_dump(exclude_unset=True)


PolicyRef = Annotated[Literal[PRESET_NAMES] | PolicySpec,  # type: ignore[valid-type]
                      Field(description="a preset name or a custom policy")]
Price = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]
Capacity = Annotated[float, Field(gt=0, le=MAX_ABS_VALUE, allow_inf_nan=False)]


class PlanRequest(Strict):
    """Historical ``load`` (replayed from ``start``) or predicted load (``forecast``), and one policy."""

    load: list[LoadPoint] | None = Field(None, min_length=2, description="observed load: the plan is a replay")
    forecast: list[PredictedPoint] | None = Field(None, min_length=1, description="predicted load: the plan "
                                                                                  "for the coming intervals")
    policy: PolicyRef = "balanced"
    capacity_per_server: Capacity | None = Field(None, description="load one server carries at 100% per "
                                                                   "interval (default: history peak / 15)")
    start: Timestamp | None = Field(None, description="first replayed interval (default: 7 days before "
                                                      "the end, or the middle)")
    current_servers: Count | None = Field(None, description="servers running now (forecast plans; default: "
                                                            "sized for the first interval)")
    price_per_server_hour: Price = 0.10
    freq: Freq | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PlanRequest:
        if (self.load is None) == (self.forecast is None):
            raise ValueError("give exactly one of 'load' (historical) or 'forecast' (predicted)")
        return self


class CostReportRequest(Strict):
    """A load series and the policies to compare (static_peak and reactive are always included)."""

    load: list[LoadPoint] = Field(min_length=2)
    policies: list[PolicyRef] | None = Field(None, min_length=1, max_length=MAX_POLICIES,
                                             description="default: the three predictive presets")
    capacity_per_server: Capacity | None = None
    price_per_server_hour: Price = 0.10
    start: Timestamp | None = None
    freq: Freq | None = None


# -- responses ----------------------------------------------------------------------------------
Number = float | None


class FieldError(BaseModel):
    field: str = Field(description="where: body.history[3].value, query.limit, path.run_id ...")
    problem: str
    type: str


class ErrorResponse(BaseModel):
    statusCode: int  # noqa: N815 (the name Powertools uses)
    message: str
    errors: list[FieldError] = []


class ForecastPoint(BaseModel):
    series_id: str
    timestamp: str
    step: int
    yhat: Number
    lo80: Number
    hi80: Number
    lo95: Number
    hi95: Number
    model: str = Field(description="method published: lgbm, lgbm_slot_mean (lgbm averaged with slot_mean), "
                                   "or the baseline the quality gate chose")


class GateDecision(BaseModel):
    series_id: str
    published: str
    reason: str


class ForecastResponse(BaseModel):
    model_version: str
    engine: str
    freq: str
    horizon: int
    forecast: list[ForecastPoint]
    quality_gate: list[GateDecision]
    backtest: dict[str, dict[str, Number]] = Field(description="pooled backtest scores per method")
    skipped: dict[str, str] = Field(description="series left out, with the reason")
    caveats: list[str] = Field(description="what the backtest cannot vouch for (e.g. seasons the history "
                                           "does not cover), in words")


class BacktestScore(BaseModel):
    series_id: str
    model: str
    n: int
    rmse: Number
    mae: Number
    smape: Number
    mase: Number
    coverage80: Number
    coverage95: Number
    width80: Number
    width95: Number
    chosen: bool
    reason: str


class BacktestResponse(BaseModel):
    model_version: str
    freq: str
    horizon: int
    windows: int
    step: int
    pooled: dict[str, dict[str, Number]]
    best_baseline: str
    model_beats_best_baseline: bool
    scores: list[BacktestScore]
    skipped: dict[str, str]


class PlanInterval(BaseModel):
    timestamp: str
    servers: int
    warm_servers: int
    action: str
    reason: str
    planned_load: Number
    load: Number = None
    sla_violation: bool | None = None


class PlanResponse(BaseModel):
    mode: Literal["replay", "forecast"]
    policy: dict[str, Any]
    freq: str
    capacity_per_server: float
    summary: dict[str, Any]
    intervals: list[PlanInterval]


class CostReportResponse(BaseModel):
    policies: list[dict[str, Any]]
    replay: dict[str, Any]
    notes: list[str]


class PolicyList(BaseModel):
    presets: dict[str, dict[str, Any]]
    predictive: list[str]


class SeriesItem(BaseModel):
    series_id: str
    metrics: list[str]
    granularities: list[str]
    published: list[str]
    run_id: str


class SeriesList(BaseModel):
    total: int
    limit: int
    offset: int
    series: list[SeriesItem]


class ForecastPathPoint(BaseModel):
    timestamp: str
    step: int
    yhat: Number
    lo80: Number
    hi80: Number
    lo95: Number
    hi95: Number


class StoredForecast(BaseModel):
    metric: str
    granularity: str
    model: str
    model_version: str
    points: list[ForecastPathPoint]


class SeriesForecast(BaseModel):
    series_id: str
    run_id: str
    forecasts: list[StoredForecast]


class RiskFlag(BaseModel):
    series_id: str
    metric: str
    horizon_days: int | None
    level: str
    predicted_p95: Number
    breach_probability: Number
    threshold: Number
    first_breach_date: str | None
    days_to_breach: int | None
    recent_p95: Number
    average_utilisation: Number
    model_version: str | None
    reason: str | None
    run_id: str


class RiskList(BaseModel):
    total: int = Field(description="flags matching the filters (before the limit)")
    counts: dict[str, int] = Field(description="flags per level over all series (no filter)")
    flags: list[RiskFlag]


class RunReport(BaseModel):
    run_id: str
    run: dict[str, Any] | None = Field(description="the runs row; null when the run wrote results only")
    outputs: dict[str, int] = Field(description="rows the run wrote per results table")
    series: int
    model_versions: list[str]
    risk_levels: dict[str, int]


class ModelSummary(BaseModel):
    model_version: str
    run_id: str
    metrics: list[str]
    granularities: list[str]
    series: int
    published: dict[str, int]
    backtest: dict[str, dict[str, Number]]


class ModelList(BaseModel):
    models: list[ModelSummary]


class Health(BaseModel):
    status: Literal["ok", "degraded", "error"]
    version: str
    checks: dict[str, dict[str, Any]]


class Info(BaseModel):
    name: str
    version: str
    description: str
    docs: str
    openapi: str
    limits: dict[str, float]
    endpoints: list[str]
