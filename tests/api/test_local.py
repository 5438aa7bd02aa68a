"""``fleetcast serve``: HTTP requests become API Gateway proxy events for the same resolver."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from fleetcast.api.local import from_response, to_event
from fleetcast.cli import main


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_an_http_request_becomes_a_rest_proxy_event():
    # When
    event = to_event("post", "/v1/risks?level=high&metric=cpu&metric=memory", [("X-A", "1")], b"\xff\x00")
    # Then
    assert event["httpMethod"] == "POST" and event["path"] == "/v1/risks"
    assert event["queryStringParameters"] == {"level": "high", "metric": "memory"}
    assert event["multiValueQueryStringParameters"]["metric"] == ["cpu", "memory"]
    assert event["isBase64Encoded"] is True and event["body"] == "/wA="
    assert event["requestContext"]["stage"] == "local"


def test_a_proxy_response_becomes_status_headers_and_bytes():
    # When
    status, headers, raw = from_response({"statusCode": 201, "body": "aGk=", "isBase64Encoded": True,
                                          "multiValueHeaders": {"X-B": ["1", "2"]}})
    # Then
    assert (status, headers, raw) == (201, [("X-B", "1"), ("X-B", "2")], b"hi")


def test_served_api_answers_over_http(base_url):
    # When
    status, risks = _get(f"{base_url}/v1/risks?level=high&limit=2")
    missing, error = _get(f"{base_url}/v1/runs/nope")
    # Then
    assert status == 200 and len(risks["flags"]) == 2 and {f["level"] for f in risks["flags"]} == {"high"}
    assert missing == 404 and error["errors"][0]["field"] == "path.run_id"


def test_served_api_takes_posted_json(base_url):
    # Given a forecast of four intervals
    forecast = [{"timestamp": f"2026-11-23T00:{5 * i:02d}:00Z", "yhat": 100.0} for i in range(4)]
    request = urllib.request.Request(f"{base_url}/v1/scaling/plan", method="POST",
                                     data=json.dumps({"forecast": forecast, "capacity_per_server": 10}).encode(),
                                     headers={"Content-Type": "application/json"})
    # When
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    # Then: hi80 absent, so yhat: 100 at 70% of 10 needs 15 servers
    assert [i["servers"] for i in body["intervals"]] == [15, 15, 15, 15]


def test_served_api_refuses_oversize_and_malformed_lengths_before_reading(base_url):
    # Given a connection that announces a 6 MB body and sends none
    host = urlsplit(base_url)
    replies = []
    for headers in ({"Content-Length": str(6 * 1024 * 1024)}, {"Content-Length": "many"},
                    {"Transfer-Encoding": "chunked"}):
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        connection.putrequest("POST", "/v1/forecast")
        for key, value in {"Content-Type": "application/json", **headers}.items():
            connection.putheader(key, value)
        connection.endheaders()
        # When
        response = connection.getresponse()
        replies.append((response.status, json.loads(response.read())["statusCode"]))
        connection.close()
    # Then
    assert replies == [(413, 413), (400, 400), (411, 411)]


def test_fleetcast_serve_serves_a_lake_directory(sample_lake):
    # Given `fleetcast serve` on any free port
    process = subprocess.Popen([sys.executable, "-m", "fleetcast", "serve", "--lake", str(sample_lake.root),
                                "--port", "0", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()
        url = re.search(r"http://[\d.]+:\d+", banner).group(0)
        # When
        status, health = _get(f"{url}/health")
        forecast_status, forecast = _get(f"{url}/v1/series/srv-00001/forecast?metric=cpu")
    finally:
        process.terminate()
        process.wait(10)
    # Then
    assert "Swagger UI" in banner
    assert status == 200 and health["status"] == "ok"
    assert forecast_status == 200 and forecast["forecasts"][0]["metric"] == "cpu"


def test_fleetcast_serve_without_a_lake_is_a_one_line_error(tmp_path, capsys):
    # When
    code = main(["serve", "--lake", str(tmp_path / "none"), "--port", "0"])
    # Then
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("fleetcast serve: error: no lake at") and err.count("\n") == 1


def test_fleetcast_serve_rejects_a_port_out_of_range(tmp_path, capsys):
    # When
    code = main(["serve", "--lake", str(tmp_path), "--port", "70000"])
    # Then
    assert code == 2 and "--port 70000" in capsys.readouterr().err
