"""The Powertools REST resolver with what fleetcast's API adds around routing.

- Bodies over :data:`~fleetcast.api.limits.MAX_BODY_BYTES` are answered 413 before anything parses them.
- ``text/csv`` bodies of the history endpoints become the JSON body the route validates
  (``timestamp,value[,series_id]`` rows; ``horizon``, ``freq``... from the query string), so CSV and
  JSON go through the same validation and errors name the CSV line.
- Validation errors are field-level 400s (Powertools answers 422 by default); the OpenAPI document
  says so, and lists ``text/csv`` beside ``application/json`` where it is accepted.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from fleetcast.api.errors import ApiError, BadRequest, PayloadTooLarge
from fleetcast.api.limits import MAX_BODY_BYTES, MAX_HISTORY_POINTS

GAP_TOKENS = {"", "na", "nan", "null", "none"}
#: POST routes that take a CSV body, and the query parameters that complete it.
CSV_ROUTES: dict[str, tuple[str, ...]] = {
    "/v1/forecast": ("horizon", "freq"),
    "/v1/backtest": ("horizon", "freq", "windows", "step"),
}
CSV_EXAMPLE = "timestamp,value\n2024-01-01T00:00:00Z,118\n2024-01-01T00:05:00Z,\n2024-01-01T00:10:00Z,131\n"


class FleetcastResolver(APIGatewayRestResolver):
    """``APIGatewayRestResolver(enable_validation=True)`` with size limits, CSV bodies and 400s."""

    def __init__(self) -> None:
        super().__init__(enable_validation=True, response_validation_error_http_code=500,
                         json_body_deserializer=load_json)

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        try:
            event = _prepared(event, self)
        except ApiError as exc:
            return error_response(exc)
        return super().resolve(event, context)

    def get_openapi_schema(self, **kwargs: Any):  # noqa: ANN201 (Powertools' OpenAPI model)
        from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

        doc = super().get_openapi_schema(**kwargs).model_dump(mode="json", by_alias=True, exclude_none=True)
        return OpenAPI.model_validate(_documented(doc))


def load_json(text: str | bytes) -> Any:
    """``json.loads``, with nesting too deep for the parser reported as invalid JSON (a 400).

    Examples
    --------
    >>> load_json("[" * 100_000 + "]" * 100_000)
    Traceback (most recent call last):
    json.decoder.JSONDecodeError: JSON nested too deeply: line 1 column 1 (char 0)
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("JSON nested too deeply", "", 0) from None


def error_response(exc: ApiError) -> dict[str, Any]:
    """A REST API proxy response for an error raised before routing."""
    return {"statusCode": exc.status, "body": json.dumps(exc.body()), "isBase64Encoded": False,
            "multiValueHeaders": {"Content-Type": ["application/json"]}}


def _prepared(event: Mapping[str, Any], app: FleetcastResolver) -> Mapping[str, Any]:
    body = event.get("body")
    if not body:
        return event
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body of {size:,} bytes is over the limit of {MAX_BODY_BYTES:,} bytes")
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items() if isinstance(v, str)}
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    path = event.get("path") or ""
    text = _decoded(body, bool(event.get("isBase64Encoded")))
    if event.get("httpMethod") != "POST" or content_type != "text/csv" or path not in CSV_ROUTES:
        return event
    query = event.get("queryStringParameters") or {}
    history, lines = history_from_csv(text)
    fields = {name: query[name] for name in CSV_ROUTES[path] if query.get(name) not in (None, "")}
    app.append_context(csv_lines=lines, csv_query=set(CSV_ROUTES[path]))
    converted = dict(event)
    converted["body"] = json.dumps({"history": history, **fields})
    converted["isBase64Encoded"] = False
    converted["headers"] = {**{k: v for k, v in (event.get("headers") or {}).items()
                               if k.lower() != "content-type"}, "Content-Type": "application/json"}
    converted["multiValueHeaders"] = {k: v for k, v in (event.get("multiValueHeaders") or {}).items()
                                      if k.lower() != "content-type"}
    return converted


def _decoded(body: str, is_base64: bool) -> str:
    try:
        raw = base64.b64decode(body, validate=True) if is_base64 else body.encode("utf-8", "surrogatepass")
        return raw.decode("utf-8-sig")
    except (binascii.Error, UnicodeError):
        raise BadRequest("the body is not UTF-8 text", field="body") from None


def history_from_csv(text: str) -> tuple[list[dict[str, str | None]], list[int]]:
    """Rows of a ``timestamp,value[,series_id]`` CSV as history points (still strings) and their lines.

    Empty values and ``NA``/``NaN``/``null`` are gaps. Structural problems (no header, missing
    columns, too many rows) are errors here; the values are validated with the JSON body's rules.

    Examples
    --------
    >>> rows, lines = history_from_csv("timestamp,value\\n2024-01-01T00:00:00Z,5\\n2024-01-01T00:05:00Z,NA\\n")
    >>> rows[1], lines
    ({'timestamp': '2024-01-01T00:05:00Z', 'value': None}, [2, 3])
    """
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[dict[str, str | None]] = []
    lines: list[int] = []
    try:
        for record in reader:
            if not record or all(not c.strip() for c in record):
                continue
            if header is None:
                header = [c.strip().lower() for c in record]
                where = _columns(header)
                continue
            if len(rows) >= MAX_HISTORY_POINTS:
                raise PayloadTooLarge(f"the CSV body has more than {MAX_HISTORY_POINTS:,} data rows",
                                      field="body.history")
            cells = {name: (record[i].strip() if i < len(record) else "") for name, i in where.items()}
            value = cells["value"]
            point: dict[str, str | None] = {"timestamp": cells["timestamp"],
                                            "value": None if value.lower() in GAP_TOKENS else value}
            if "series_id" in cells:
                point["series_id"] = cells["series_id"]
            rows.append(point)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise BadRequest(f"not a readable CSV body (line {reader.line_num}: {exc})", field="body") from None
    if header is None:
        raise BadRequest("empty CSV body: expected a header timestamp,value[,series_id]", field="body")
    return rows, lines


def _columns(header: list[str]) -> dict[str, int]:
    missing = [c for c in ("timestamp", "value") if c not in header]
    if missing:
        raise BadRequest(f"CSV header lacks {', '.join(missing)}: expected timestamp,value[,series_id], "
                         f"got {','.join(header)[:200]}", field="body")
    return {c: header.index(c) for c in ("timestamp", "value", "series_id") if c in header}


def _documented(doc: dict[str, Any]) -> dict[str, Any]:
    """Validation errors are 400s (not 422), and CSV bodies are listed where they are accepted."""
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["responses"].pop("422", None)
            if method == "post" and path in CSV_ROUTES and "requestBody" in operation:
                operation["requestBody"]["content"]["text/csv"] = {
                    "schema": {"type": "string", "description": "timestamp,value[,series_id] rows; "
                                                                f"with ?{'&'.join(f'{q}=' for q in CSV_ROUTES[path])}"},
                    "example": CSV_EXAMPLE}
                operation.setdefault("parameters", []).extend(_csv_query(CSV_ROUTES[path]))
    schemas = doc.get("components", {}).get("schemas", {})
    if "HTTPValidationError" in schemas:  # the 422 body: unused once the 422s are gone
        del schemas["HTTPValidationError"]
        if "#/components/schemas/HTTPValidationError" in json.dumps(doc):
            raise AssertionError("HTTPValidationError is still referenced")
    return doc


def _csv_query(names: tuple[str, ...]) -> list[dict[str, Any]]:
    kinds = {"horizon": ("integer", "steps to forecast (CSV bodies; required with them)"),
             "freq": ("string", "step of the series (CSV bodies; inferred when omitted)"),
             "windows": ("integer", "rolling origins (CSV bodies)"),
             "step": ("integer", "steps between origins (CSV bodies)")}
    return [{"name": n, "in": "query", "required": False,
             "schema": {"type": kinds[n][0]}, "description": kinds[n][1]} for n in names]
