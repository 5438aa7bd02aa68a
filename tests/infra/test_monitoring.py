"""Alarms to SNS, an encrypted alarm topic, the dashboard, the event bus and capacity-risk routing."""


def _alarms(synth) -> dict[str, dict]:
    return {
        a["Properties"]["AlarmDescription"]: a["Properties"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()
    }


def test_alarms_cover_failed_runs_function_errors_and_dead_letter_queues(synth):
    alarms = _alarms(synth)
    assert "fleetcast pipeline executions failed" in alarms
    assert alarms["fleetcast pipeline executions failed"]["MetricName"] == "ExecutionsFailed"
    for name in ("validate", "forecast", "risk_plan", "api"):
        assert alarms[f"fleetcast {name} function errors"]["MetricName"] == "Errors"
    depth = [a for d, a in alarms.items() if "dead-letter queue" in d]
    assert len(depth) == 3 and {a["MetricName"] for a in depth} == {"ApproximateNumberOfMessagesVisible"}
    for alarm in alarms.values():
        assert alarm["AlarmActions"][0]["Ref"].startswith("NotificationsAlarms")
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"


def test_topics_are_encrypted_with_a_rotating_key_usable_by_alarms_and_events(synth):
    for topic in synth.of_type("AWS::SNS::Topic").values():
        assert topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0].startswith("NotificationsTopicKey")
    (key,) = synth.of_type("AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    services = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if "Service" in s["Principal"]]
    assert services == [
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Effect": "Allow",
            "Resource": "*",
            "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
        }
    ]


def test_capacity_risk_events_reach_the_risk_topic(synth):
    rule = next(
        r["Properties"]
        for r in synth.of_type("AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("detail-type") == ["CapacityRiskDetected"]
    )
    assert rule["EventPattern"]["source"] == ["fleetcast"]
    assert rule["EventBusName"]["Ref"].startswith("NotificationsBus")
    assert rule["Targets"][0]["Arn"]["Ref"].startswith("NotificationsCapacityRisk")


def test_email_subscription_is_optional(synth, synth_options):
    assert not synth.of_type("AWS::SNS::Subscription")
    subs = synth_options.of_type("AWS::SNS::Subscription")
    assert {s["Properties"]["Endpoint"] for s in subs.values()} == {"ops@example.com"}


def test_dashboard_shows_pipeline_lambdas_queues_and_api(synth):
    (board,) = synth.of_type("AWS::CloudWatch::Dashboard").values()
    body = "".join(p if isinstance(p, str) else "" for p in board["Properties"]["DashboardBody"]["Fn::Join"][1])
    for title in ("Pipeline executions", "Lambda errors", "Dead-letter queues", "API requests and errors"):
        assert title in body
