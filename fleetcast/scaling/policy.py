"""Scaling policies: the presets and custom ones, loadable from JSON with field-by-field validation.

All durations (periods, cooldowns, warm-up, metric delay) count *intervals* of the load series
(5 minutes on 5-minute data). Utilisations are fractions of a server's capacity (0.7 = 70%).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetcast.errors import FleetcastError

KINDS = ("predictive", "reactive")
QUANTILES = ("yhat", "hi80", "hi95")


class PolicyError(FleetcastError, ValueError):
    """A policy field is missing, unknown or out of range (the message names it)."""


@dataclass(frozen=True)
class ScalingPolicy:
    """How many servers to run, decided once per interval.

    Parameters
    ----------
    name
        Shown in tables and plans.
    kind
        ``predictive`` plans on the forecast (``quantile`` column, over the warm-up window ahead);
        ``reactive`` follows the observed load ``metric_delay`` intervals late (target tracking).
    target_utilisation
        Servers are sized so the planned load runs at this share of capacity.
    scale_out_threshold, scale_in_threshold
        Utilisation of the *current* fleet (planned load / its capacity) above which a scale-out,
        below which a scale-in is wanted. Defaults: the target, and 85% of the target.
    scale_out_periods, scale_in_periods
        Consecutive intervals the wish must hold before acting (hysteresis).
    cooldown_out, cooldown_in
        Intervals after a scale-out before the next scale-out, and after any scaling before a
        scale-in.
    step_out, step_in
        Most servers added / removed by one decision (``None``: unlimited).
    min_servers, max_servers
        Bounds of the fleet (``max_servers=None``: unbounded).
    warmup
        Intervals a new server needs before it serves; predictive policies launch that far ahead.
    quantile
        Forecast column a predictive policy plans on: ``yhat``, ``hi80`` or ``hi95``.
    metric_delay
        Intervals before a finished interval's load is visible to the policy (a decision at ``t``
        sees loads up to ``t - 1 - metric_delay``).

    Examples
    --------
    >>> p = ScalingPolicy("mine", target_utilisation=0.75, step_in=2)
    >>> p.scale_out_threshold, round(p.scale_in_threshold, 4)
    (0.75, 0.6375)
    """

    name: str
    kind: str = "predictive"
    target_utilisation: float = 0.7
    scale_out_threshold: float | None = None
    scale_in_threshold: float | None = None
    scale_out_periods: int = 1
    scale_in_periods: int = 3
    cooldown_out: int = 0
    cooldown_in: int = 3
    step_out: int | None = None
    step_in: int | None = None
    min_servers: int = 1
    max_servers: int | None = None
    warmup: int = 1
    quantile: str = "hi80"
    metric_delay: int = 1

    def __post_init__(self) -> None:
        if self.scale_out_threshold is None:
            object.__setattr__(self, "scale_out_threshold", self.target_utilisation)
        if self.scale_in_threshold is None and _is_number(self.target_utilisation):
            object.__setattr__(self, "scale_in_threshold", 0.85 * self.target_utilisation)
        _validate(self)

    def with_(self, **changes: Any) -> ScalingPolicy:
        """A copy with some fields changed (thresholds re-derived unless given).

        Examples
        --------
        >>> PRESETS["balanced"].with_(name="b2", target_utilisation=0.5).scale_out_threshold
        0.5
        """
        fields = dataclasses.asdict(self)
        if "target_utilisation" in changes:
            fields.update(scale_out_threshold=None, scale_in_threshold=None)
        fields.update(changes)
        return ScalingPolicy(**fields)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fail(policy: str, field: str, problem: str, value: Any) -> PolicyError:
    return PolicyError(f"policy {policy!r}: field {field!r} {problem} (got {value!r})")


def _validate(p: ScalingPolicy) -> None:
    if not isinstance(p.name, str) or not p.name.strip():
        raise PolicyError(f"policy field 'name' must be a non-empty string (got {p.name!r})")
    if p.kind not in KINDS:
        raise _fail(p.name, "kind", f"must be one of {', '.join(KINDS)}", p.kind)
    if p.quantile not in QUANTILES:
        raise _fail(p.name, "quantile", f"must be one of {', '.join(QUANTILES)}", p.quantile)
    for field in ("target_utilisation", "scale_out_threshold", "scale_in_threshold"):
        value = getattr(p, field)
        if _is_number(value) and 1 < value <= 100:
            raise _fail(p.name, field, "is a fraction of capacity: write 0.7 for 70%", value)
        if not _is_number(value) or not 0 < value <= 1:
            raise _fail(p.name, field, "must be a number in (0, 1]", value)
    if p.scale_in_threshold >= p.scale_out_threshold:
        raise _fail(p.name, "scale_in_threshold", "must be below scale_out_threshold "
                    f"({p.scale_out_threshold})", p.scale_in_threshold)
    for field, low in (("scale_out_periods", 1), ("scale_in_periods", 1), ("cooldown_out", 0),
                       ("cooldown_in", 0), ("min_servers", 0), ("warmup", 0), ("metric_delay", 0)):
        _check_int(p.name, field, getattr(p, field), low)
    for field in ("step_out", "step_in", "max_servers"):
        if getattr(p, field) is not None:
            _check_int(p.name, field, getattr(p, field), 1)
    if p.max_servers is not None and p.max_servers < p.min_servers:
        raise _fail(p.name, "max_servers", f"must be at least min_servers ({p.min_servers})",
                    p.max_servers)


def _check_int(policy: str, field: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _fail(policy, field, f"must be a whole number >= {low}", value)


FIELDS = tuple(f.name for f in dataclasses.fields(ScalingPolicy))

PRESETS: dict[str, ScalingPolicy] = {
    "conservative": ScalingPolicy("conservative", target_utilisation=0.6, quantile="hi95",
                                  scale_in_periods=6, cooldown_in=6, step_in=2),
    "balanced": ScalingPolicy("balanced", target_utilisation=0.7, quantile="hi80",
                              scale_in_periods=3, cooldown_in=3, step_in=3),
    "aggressive": ScalingPolicy("aggressive", target_utilisation=0.8, quantile="hi80",
                                scale_in_periods=2, cooldown_in=2),
    # AWS-style target tracking: out on the first breach, in only after 15 minutes below, slowly
    "reactive": ScalingPolicy("reactive", kind="reactive", target_utilisation=0.7,
                              scale_out_periods=1, scale_in_periods=3, cooldown_in=3, step_in=1),
}
PREDICTIVE_PRESETS = ("conservative", "balanced", "aggressive")


def policy_from_dict(spec: dict[str, Any], *, where: str | None = None) -> ScalingPolicy:
    """Build a policy from a dict (e.g. parsed JSON), optionally based on a preset.

    ``{"name": "night-owl", "base": "balanced", "min_servers": 2}`` starts from the preset and
    changes what is given; unknown fields are an error that names them.

    Examples
    --------
    >>> policy_from_dict({"name": "b", "base": "balanced", "max_servers": 40}).max_servers
    40
    >>> policy_from_dict({"name": "x", "target": 0.7})
    Traceback (most recent call last):
    ...
    fleetcast.scaling.policy.PolicyError: policy 'x': unknown field 'target' (known: name, kind, ...
    """
    prefix = f"{where}: " if where else ""
    if not isinstance(spec, dict):
        raise PolicyError(f"{prefix}a policy must be a JSON object (got {type(spec).__name__})")
    spec = dict(spec)
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PolicyError(f"{prefix}policy field 'name' must be a non-empty string (got {name!r})")
    unknown = [k for k in spec if k not in (*FIELDS, "base")]
    if unknown:
        raise PolicyError(f"{prefix}policy {name!r}: unknown field {unknown[0]!r} "
                          f"(known: {', '.join(FIELDS)}, base)")
    base = spec.pop("base", None)
    try:
        if base is None:
            return ScalingPolicy(**spec)
        if base not in PRESETS:
            raise PolicyError(f"policy {name!r}: field 'base' must be one of {', '.join(PRESETS)} "
                              f"(got {base!r})")
        return PRESETS[base].with_(**spec)
    except PolicyError as exc:
        raise PolicyError(f"{prefix}{exc}") from None


def load_policy_file(path: str | Path) -> list[ScalingPolicy]:
    """Policies from a JSON file: one object, a list of objects, or ``{"policies": [...]}``."""
    where = str(path)
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise PolicyError(f"{where}: policy file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PolicyError(f"{where}: not a readable JSON file ({exc})") from None
    if isinstance(data, dict) and "policies" in data:
        data = data["policies"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise PolicyError(f"{where}: the file holds no policy")
    policies = [policy_from_dict(item, where=where) for item in items]
    names = [p.name for p in policies]
    if len(set(names)) != len(names):
        raise PolicyError(f"{where}: policy names must be unique (got {names})")
    return policies
