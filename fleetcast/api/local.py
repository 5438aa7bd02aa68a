"""Serve the API locally: HTTP request -> API Gateway REST proxy event -> ``app.resolve`` -> HTTP response.

The same resolver as behind API Gateway answers, so what works with ``fleetcast serve`` works deployed
(except authorisation, which API Gateway adds). Connections are accepted concurrently, requests are
resolved one at a time (the resolver holds the current request in its state).
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from fleetcast.api.limits import MAX_BODY_BYTES

STAGE = "local"
_ONE_AT_A_TIME = threading.Lock()  # the resolver holds the current request in its state


def to_event(method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes,
             source_ip: str = "127.0.0.1") -> dict[str, Any]:
    """The API Gateway REST (v1) proxy event API Gateway would send for this request.

    Examples
    --------
    >>> e = to_event("GET", "/v1/risks?level=high&limit=5", [("Accept", "*/*")], b"")
    >>> e["path"], e["queryStringParameters"], e["body"]
    ('/v1/risks', {'level': 'high', 'limit': '5'}, None)
    """
    url = urlsplit(target)
    pairs = parse_qsl(url.query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for key, value in pairs:
        multi_query.setdefault(key, []).append(value)
    multi_headers: dict[str, list[str]] = {}
    for key, value in headers:
        multi_headers.setdefault(key, []).append(value)
    text, is_base64 = _body(body)
    path = unquote(url.path) or "/"
    return {
        "resource": path, "path": path, "httpMethod": method.upper(),
        "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None, "stageVariables": None,
        "requestContext": {"stage": STAGE, "path": path, "httpMethod": method.upper(),
                           "requestId": str(uuid.uuid4()), "resourcePath": path,
                           "identity": {"sourceIp": source_ip}},
        "body": text, "isBase64Encoded": is_base64,
    }


def _body(body: bytes) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def from_response(response: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body bytes of a proxy response (``headers`` and ``multiValueHeaders``)."""
    headers = [(k, str(v)) for k, v in (response.get("headers") or {}).items()]
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers.extend((key, str(v)) for v in values)
    body = response.get("body") or ""
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode("utf-8")
    return int(response["statusCode"]), headers, raw


def _length(header: str | None, transfer_encoding: str | None) -> tuple[int, tuple[int, str] | None]:
    """The body length a request announces, or the status and message refusing it."""
    if transfer_encoding and transfer_encoding.strip().lower() != "identity":
        return 0, (411, "send the body with a Content-Length (API Gateway does not take chunked bodies)")
    try:
        length = int(header or 0)
    except ValueError:
        return 0, (400, f"Content-Length {header[:40]!r} is not a number")
    if length < 0:
        return 0, (400, "Content-Length must not be negative")
    if length > MAX_BODY_BYTES:
        return 0, (413, f"request body of {length:,} bytes is over the limit of {MAX_BODY_BYTES:,} bytes")
    return length, None


class ApiHandler(BaseHTTPRequestHandler):
    """``http.server`` handler that answers every method through the resolver."""

    server_version = "fleetcast-serve"
    protocol_version = "HTTP/1.1"
    quiet = False

    def _serve(self) -> None:
        from fleetcast.api.http import app

        length, refusal = _length(self.headers.get("Content-Length"), self.headers.get("Transfer-Encoding"))
        if refusal:
            self.close_connection = True
            return self._send(refusal[0], [("Content-Type", "application/json")], json.dumps(
                {"statusCode": refusal[0], "message": refusal[1], "errors": []}).encode())
        body = self.rfile.read(length) if length > 0 else b""
        event = to_event(self.command, self.path, self.headers.items(), body, self.client_address[0])
        with _ONE_AT_A_TIME:
            response = app.resolve(event, None)
        status, headers, raw = from_response(response)
        self._send(status, headers, raw)

    def _send(self, status: int, headers: list[tuple[str, str]], raw: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_TRACE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        if not self.quiet:
            super().log_message(format, *args)


def make_server(host: str = "127.0.0.1", port: int = 8080, *, quiet: bool = False) -> ThreadingHTTPServer:
    """An HTTP server bound to ``host:port`` (port 0: any free port) answering through the resolver."""
    handler = type("Handler", (ApiHandler,), {"quiet": quiet})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
