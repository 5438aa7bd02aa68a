"""Recognise the columns of a server-metrics file: timestamp, server, metric names and their units."""

from __future__ import annotations

import re

TIMESTAMP_NAMES = ("timestamp", "time", "ts", "datetime", "date_time", "time_stamp", "date")
SERVER_NAMES = ("server_id", "server", "host", "hostname", "instance", "instance_id", "node",
                "machine", "resource_id")

# Utilisation metrics measured in percent of capacity (0-100); canonical name first.
PERCENT_METRICS = {
    "cpu": ("cpu", "cpu_utilization", "cpu_utilisation", "cpuutilization", "cpu_percent", "cpu_pct",
            "cpu_usage"),
    "memory": ("memory", "mem", "memory_utilization", "memory_utilisation", "mem_percent",
               "memory_percent", "mem_pct", "memory_usage", "mem_used_percent"),
    "disk_io": ("disk_io", "diskio", "disk_io_utilization", "io_util", "disk_busy"),
    "disk": ("disk", "disk_used", "disk_used_percent", "disk_space", "disk_utilization"),
    "network": ("network", "net", "network_utilization", "network_utilisation", "nic_utilization"),
    "gpu": ("gpu", "gpu_utilization"),
    "swap": ("swap", "swap_used_percent"),
}
_PERCENT_SUFFIX = re.compile(r"_(pct|percent|util|utilization|utilisation|ratio|fraction)$")
_RATE_SUFFIX = re.compile(r"_(bytes|bytes_in|bytes_out|packets|count|per_sec|per_second|rate|ops|iops|"
                          r"in|out|latency_ms|ms|seconds|requests|connections|load)$")
_ALIAS = {alias: canonical for canonical, aliases in PERCENT_METRICS.items() for alias in aliases}


def normalise(name: str) -> str:
    """Lower-case a column name and turn separators into underscores.

    Examples
    --------
    >>> normalise(" CPU Utilization ")
    'cpu_utilization'
    """
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def find_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    """The first column whose normalised name is one of ``names``."""
    by_norm = {normalise(c): c for c in columns}
    for name in names:
        if name in by_norm:
            return by_norm[name]
    return None


def metric_name(column: str) -> tuple[str, bool] | None:
    """Canonical metric name and whether it is a percentage, or None when the name is not a metric.

    Examples
    --------
    >>> metric_name("CPUUtilization"), metric_name("disk_write_bytes"), metric_name("colour")
    (('cpu', True), ('disk_write_bytes', False), None)
    """
    norm = normalise(column)
    if norm in _ALIAS:
        return _ALIAS[norm], True
    if _PERCENT_SUFFIX.search(norm):
        return norm, True
    if _RATE_SUFFIX.search(norm):
        return norm, False
    return None


def known_metrics_hint() -> str:
    names = ", ".join(PERCENT_METRICS)
    return (f"metric columns must be utilisation metrics ({names}), or names ending in _pct/_percent/"
            f"_util (percent) or _bytes/_count/_per_sec/_rate/_in/_out (non-negative rates)")
