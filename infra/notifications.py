"""Where fleetcast speaks: its EventBridge bus and two SNS topics (operations, capacity risk).

- Bus: every fleetcast event (source ``fleetcast``: InputRejected, PipelineRunSucceeded,
  PipelineRunFailed, CapacityRiskDetected) goes to this stack's own bus, so two environments in one
  account never see each other's events and permissions name one bus.
- ``alarms`` topic: CloudWatch alarms and failed pipeline runs (operators).
- ``risk`` topic: CapacityRiskDetected events, for capacity planners (a rule on the bus feeds it).
Topics are encrypted with a customer-managed key (the AWS-managed SNS key cannot be used by
CloudWatch alarms or EventBridge) and refuse non-TLS publishing.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import Config
from infra.nag import suppress


class Notifications(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: Config) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "TopicKey",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
            description="fleetcast SNS topics (alarms, pipeline failures, capacity risk)",
        )
        for service in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
            self.key.grant(iam.ServicePrincipal(service), "kms:Decrypt", "kms:GenerateDataKey*")
        self.bus = events.EventBus(self, "Bus", description=f"fleetcast events ({config.env_name})")
        self.alarm_topic = sns.Topic(
            self, "Alarms", display_name="fleetcast alarms", master_key=self.key, enforce_ssl=True
        )
        self.risk_topic = sns.Topic(
            self, "CapacityRisk", display_name="fleetcast capacity risk", master_key=self.key, enforce_ssl=True
        )
        if config.alarm_email:
            for topic in (self.alarm_topic, self.risk_topic):
                topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.rule_dlq = sqs.Queue(
            self,
            "RiskRuleFailures",
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            retention_period=Duration.days(14),
        )
        suppress(self.rule_dlq, "SQS3", "This queue is the dead-letter queue of the capacity-risk rule target.")
        self.risk_rule = events.Rule(
            self,
            "OnCapacityRisk",
            event_bus=self.bus,
            description="CapacityRiskDetected -> risk topic",
            event_pattern=events.EventPattern(source=["fleetcast"], detail_type=["CapacityRiskDetected"]),
            targets=[
                targets.SnsTopic(
                    self.risk_topic, dead_letter_queue=self.rule_dlq, retry_attempts=8, max_event_age=Duration.hours(6)
                )
            ],
        )
