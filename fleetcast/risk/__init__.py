"""Capacity risk: which servers will run out of headroom within 30/90 days, and which sit idle.

:func:`daily_stats` turns samples (or observation bins) into daily P95 and means; :func:`assess`
forecasts them and flags each server and metric per horizon (:mod:`fleetcast.risk.flags`).
"""

from fleetcast.risk.daily import daily_stats, finest_means
from fleetcast.risk.flags import COLUMNS, LEVELS, Assessment, RiskConfig, any_day, assess

__all__ = ["COLUMNS", "LEVELS", "Assessment", "RiskConfig", "any_day", "assess", "daily_stats", "finest_means"]
