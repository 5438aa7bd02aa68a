"""Seeded, deterministic synthetic data for the demo and the tests.

- :func:`generate_fleet`: server utilisation (cpu, memory, disk I/O, network) of web, database and
  batch servers, with history, future and ground truth of 80% / 90% crossings.
- :func:`write_metrics`, :func:`add_defects`: the fleet as files a user would export, and bad rows.
- :func:`generate_access_log`: a Combined Log Format access log with cycles, bursts and an outage.
- :func:`generate_load_series`: a request-count series for the scaling simulator and forecasts.

The same arguments and seed always give the same data (byte-identical files).
"""

from fleetcast.generate.access_log import LogTruth, generate_access_log
from fleetcast.generate.defects import Defects, add_defects
from fleetcast.generate.fleet import Fleet, generate_fleet
from fleetcast.generate.load import generate_load_series
from fleetcast.generate.truth import compute_truth, daily_p95
from fleetcast.generate.writers import to_long, write_metrics

__all__ = [
    "Defects", "Fleet", "LogTruth", "add_defects", "compute_truth", "daily_p95", "generate_access_log",
    "generate_fleet", "generate_load_series", "to_long", "write_metrics",
]
