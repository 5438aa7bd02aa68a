"""CloudWatch alarms (-> the alarms topic) and one dashboard for the whole pipeline."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import Config

FIVE_MINUTES = Duration.minutes(5)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        topic: sns.ITopic,
        state_machine: sfn.StateMachine,
        functions: dict[str, lambda_.IFunction],
        queues: dict[str, sqs.IQueue],
        api: apigw.RestApi,
    ) -> None:
        super().__init__(scope, construct_id)
        self._action = cw_actions.SnsAction(topic)
        self.alarms: list[cw.Alarm] = []
        failed = state_machine.metric_failed(period=FIVE_MINUTES, statistic="Sum")
        timed_out = state_machine.metric_timed_out(period=FIVE_MINUTES, statistic="Sum")
        self._alarm(
            "PipelineFailed", failed, config.failed_executions_threshold, "fleetcast pipeline executions failed"
        )
        self._alarm("PipelineTimedOut", timed_out, 1, "fleetcast pipeline executions timed out")
        for name, fn in functions.items():
            self._alarm(
                f"{name}-errors",
                fn.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                config.lambda_error_threshold,
                f"fleetcast {name} function errors",
            )
        for name, queue in queues.items():
            depth = queue.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES, statistic="Maximum")
            self._alarm(
                f"{name}-depth", depth, config.dlq_depth_threshold, f"messages waiting in the {name} dead-letter queue"
            )
        server_errors = api.metric_server_error(period=FIVE_MINUTES, statistic="Sum")
        self._alarm("Api5xx", server_errors, config.api_5xx_threshold, "fleetcast API 5XX responses")
        self.dashboard = self._dashboard(config, state_machine, functions, queues, api)

    def _alarm(self, name: str, metric: cw.IMetric, threshold: int, description: str) -> cw.Alarm:
        alarm = metric.create_alarm(
            self,
            name,
            threshold=threshold,
            evaluation_periods=1,
            alarm_description=description,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def _dashboard(
        self,
        config: Config,
        state_machine: sfn.StateMachine,
        functions: dict[str, lambda_.IFunction],
        queues: dict[str, sqs.IQueue],
        api: apigw.RestApi,
    ) -> cw.Dashboard:
        board = cw.Dashboard(
            self, "Dashboard", dashboard_name=f"{config.prefix}-pipeline", default_interval=Duration.days(7)
        )
        board.add_widgets(
            cw.GraphWidget(
                title="Pipeline executions",
                width=12,
                left=[
                    state_machine.metric_started(period=FIVE_MINUTES, statistic="Sum"),
                    state_machine.metric_succeeded(period=FIVE_MINUTES, statistic="Sum"),
                    state_machine.metric_failed(period=FIVE_MINUTES, statistic="Sum"),
                ],
            ),
            cw.AlarmStatusWidget(title="Alarms", width=12, alarms=self.alarms),
        )
        board.add_widgets(
            cw.GraphWidget(
                title="Lambda errors",
                width=8,
                left=[
                    fn.metric_errors(period=FIVE_MINUTES, statistic="Sum", label=name) for name, fn in functions.items()
                ],
            ),
            cw.GraphWidget(
                title="Lambda duration p95 (ms)",
                width=8,
                left=[
                    fn.metric_duration(period=FIVE_MINUTES, statistic="p95", label=name)
                    for name, fn in functions.items()
                ],
            ),
            cw.GraphWidget(
                title="Lambda throttles",
                width=8,
                left=[
                    fn.metric_throttles(period=FIVE_MINUTES, statistic="Sum", label=name)
                    for name, fn in functions.items()
                ],
            ),
        )
        board.add_widgets(
            cw.GraphWidget(
                title="Dead-letter queues",
                width=8,
                left=[
                    q.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES, statistic="Maximum", label=n)
                    for n, q in queues.items()
                ],
            ),
            cw.GraphWidget(
                title="API requests and errors",
                width=8,
                left=[
                    api.metric_count(period=FIVE_MINUTES, statistic="Sum"),
                    api.metric_client_error(period=FIVE_MINUTES, statistic="Sum"),
                    api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"),
                ],
            ),
            cw.GraphWidget(
                title="API latency p95 (ms)", width=8, left=[api.metric_latency(period=FIVE_MINUTES, statistic="p95")]
            ),
        )
        return board
