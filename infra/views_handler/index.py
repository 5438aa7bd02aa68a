"""CloudFormation custom resource (Provider framework onEvent): create, replace and drop Athena views.

Properties: ``Database``, ``WorkGroup``, ``Views`` = [{"Name", "Sql"}] in creation order. Athena
itself parses each query and derives the view's columns from the catalog, so a bad view fails the
deployment with Athena's own message. Deleting never blocks a stack deletion (errors are logged).
"""

from __future__ import annotations

import logging
import time

import boto3

log = logging.getLogger()
log.setLevel(logging.INFO)


def on_event(event, context):
    props = event["ResourceProperties"]
    athena = boto3.client("athena")
    database, workgroup = props["Database"], props["WorkGroup"]
    views = props.get("Views", [])
    physical_id = event.get("PhysicalResourceId") or f"{database}-views"
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - 10
    run = lambda sql: _run(athena, sql, database, workgroup, deadline)  # noqa: E731
    if event["RequestType"] == "Delete":
        for view in reversed(views):
            try:
                run(f'DROP VIEW IF EXISTS "{view["Name"]}"')
            except Exception as err:  # a view left behind must not block deleting the stack
                log.warning("could not drop view %s: %s", view["Name"], err)
        return {"PhysicalResourceId": physical_id}
    if event["RequestType"] == "Update":
        keep = {view["Name"] for view in views}
        for view in reversed(event.get("OldResourceProperties", {}).get("Views", [])):
            if view["Name"] not in keep:
                run(f'DROP VIEW IF EXISTS "{view["Name"]}"')
    for view in views:
        run(f'CREATE OR REPLACE VIEW "{view["Name"]}" AS\n{view["Sql"]}')
        log.info("view %s.%s created", database, view["Name"])
    return {"PhysicalResourceId": physical_id, "Data": {"Views": ",".join(v["Name"] for v in views)}}


def _run(athena, sql: str, database: str, workgroup: str, deadline: float) -> None:
    query_id = athena.start_query_execution(
        QueryString=sql, QueryExecutionContext={"Database": database}, WorkGroup=workgroup
    )["QueryExecutionId"]
    delay = 0.5
    while True:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        if status["State"] == "SUCCEEDED":
            return
        if status["State"] in ("FAILED", "CANCELLED"):
            raise RuntimeError(f"{sql.splitlines()[0]}: {status.get('StateChangeReason', status['State'])}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{sql.splitlines()[0]}: still {status['State']} at the deadline")
        time.sleep(delay)
        delay = min(delay * 2, 5)
