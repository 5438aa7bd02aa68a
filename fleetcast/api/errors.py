"""Errors the API answers with: one JSON shape for 400, 404 and 413, with field-level detail.

Every error body is ``{"statusCode", "message", "errors": [{"field", "problem", "type"}]}`` where
``field`` says where the problem is: ``body.history[3].value``, ``query.limit``, ``path.run_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


class ApiError(Exception):
    """An answer other than 200, raised by the API's code and turned into the error body."""

    status = 400
    kind = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, errors: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors if errors is not None else (
            [{"field": field, "problem": message, "type": self.kind}] if field else [])

    def body(self) -> dict[str, Any]:
        return {"statusCode": self.status, "message": self.message, "errors": self.errors}


class BadRequest(ApiError):
    """The request is understood but a value in it cannot be used (400).

    Examples
    --------
    >>> BadRequest("needs more history", field="body.history").body()["errors"][0]["field"]
    'body.history'
    """


class NotFound(ApiError):
    status = 404
    kind = "not_found"


class PayloadTooLarge(ApiError):
    status = 413
    kind = "too_large"


def field_path(loc: Sequence[Any]) -> str:
    """``("body", "history", 3, "value")`` -> ``body.history[3].value``.

    Examples
    --------
    >>> field_path(("body", "history", 3, "value"))
    'body.history[3].value'
    >>> field_path(("query", "limit"))
    'query.limit'
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "request"


def _problem(error: dict[str, Any]) -> str:
    text = str(error.get("msg") or error.get("type") or "invalid value")
    # pydantic prefixes messages of custom validators with "Value error, "
    return text.removeprefix("Value error, ")


def from_validation(errors: Iterable[dict[str, Any]], *, lines: list[int] | None = None) -> BadRequest:
    """A 400 from Powertools/pydantic validation errors, one entry per field.

    ``lines`` maps ``body.history[i]`` to the CSV line it came from, when the body was CSV.
    """
    items = []
    for error in errors:
        loc = list(error.get("loc") or ())
        problem = _problem(error)
        if error.get("type") == "json_invalid":  # Powertools puts the character position in the loc
            where = f" at character {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else ""
            loc, problem = ["body"], f"not valid JSON{where}: {(error.get('ctx') or {}).get('error', problem)}"
        # a union of a preset name and a custom policy reports both branches: name the branch
        loc = [p for p in loc if not (isinstance(p, str) and (p.startswith("literal[") or p == "PolicySpec"))]
        if lines and len(loc) >= 3 and loc[:2] == ["body", "history"] and isinstance(loc[2], int) \
                and loc[2] < len(lines):
            problem += f" (CSV line {lines[loc[2]]})"
        items.append({"field": field_path(loc), "problem": problem, "type": str(error.get("type", "invalid"))})
    # "not a preset name" is noise when the custom policy beside it has its own errors
    items = [i for i in items if not (i["type"] == "literal_error" and any(
        o["field"].startswith(i["field"] + ".") for o in items))]
    unique = list({(i["field"], i["problem"]): i for i in items}.values())
    fields = sorted({i["field"] for i in unique})
    head = ", ".join(fields[:3]) + (" ..." if len(fields) > 3 else "")
    return BadRequest(f"invalid request: {head}" if fields else "invalid request", errors=unique)
