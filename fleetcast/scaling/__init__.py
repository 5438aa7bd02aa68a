"""Scaling policies, plans per interval and the cost/SLA simulator.

The pipeline and the CLI call :func:`simulate` (one run, one table) and write
:meth:`Simulation.plan_rows` / :meth:`Simulation.simulation_rows` to the ``scaling_plans`` and
``simulations`` tables (:func:`write_simulation` does it for a local lake).
"""

from fleetcast.scaling.baseline import SeasonalBaseline
from fleetcast.scaling.compare import Simulation, resolve_policies, simulate
from fleetcast.scaling.engine import decide, servers_needed, warm_servers
from fleetcast.scaling.lake import write_simulations
from fleetcast.scaling.planner import ForecastBook, Forecaster, Plan, forecast_book, plan
from fleetcast.scaling.policy import (
    PREDICTIVE_PRESETS,
    PRESETS,
    PolicyError,
    ScalingPolicy,
    load_policy_file,
    policy_from_dict,
)
from fleetcast.scaling.series import LoadSeries
from fleetcast.scaling.simulator import PolicyResult, default_capacity, replay, static_plan, static_servers

__all__ = [
    "PREDICTIVE_PRESETS", "PRESETS", "ForecastBook", "Forecaster", "LoadSeries", "Plan", "PolicyError",
    "PolicyResult", "ScalingPolicy", "SeasonalBaseline", "Simulation", "decide", "default_capacity",
    "forecast_book", "load_policy_file", "plan", "policy_from_dict", "replay", "resolve_policies",
    "servers_needed", "simulate", "static_plan", "static_servers", "warm_servers", "write_simulations",
]
