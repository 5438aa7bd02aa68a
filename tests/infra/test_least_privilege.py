"""Each function's role can do what its stage needs and nothing more (checked on the synthesized policies)."""


def statements(synth, role_prefix: str) -> list[dict]:
    """Allow statements of every policy attached to the role whose logical id starts with ``role_prefix``."""
    (role_id,) = [k for k in synth.of_type("AWS::IAM::Role") if k.startswith(role_prefix)]
    found = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            found += [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert found, role_prefix
    return found


def _listify(value) -> list:
    return value if isinstance(value, list) else [value]


def buckets_touched(stmts: list[dict], action_prefixes: tuple[str, ...]) -> set[str]:
    """Logical ids of the buckets on which any of the actions (by prefix) is allowed."""
    touched = set()
    for s in stmts:
        if not any(a.startswith(action_prefixes) for a in _listify(s["Action"])):
            continue
        for resource in _listify(s["Resource"]):
            text = str(resource)
            for bucket in ("StorageRaw", "StorageCurated", "StorageResults", "StorageAthenaResults"):
                if f"'{bucket}" in text:
                    touched.add(bucket)
    return touched


WRITE = ("s3:PutObject", "s3:DeleteObject", "s3:Abort", "s3:*")
READ = ("s3:GetObject", "s3:List", "s3:GetBucket")


def test_api_function_cannot_write_any_bucket_and_has_no_raw_access(synth):
    stmts = statements(synth, "Functionsapirole")
    assert buckets_touched(stmts, WRITE) == {"StorageAthenaResults"}  # query results only
    assert buckets_touched(stmts, READ) == {"StorageCurated", "StorageResults", "StorageAthenaResults"}
    assert "StorageRaw" not in buckets_touched(stmts, ("s3:",))


def test_validate_function_cannot_read_results_and_writes_only_quarantine_and_rejects(synth):
    stmts = statements(synth, "Functionsvalidaterole")
    assert buckets_touched(stmts, READ) == {"StorageRaw"}
    assert "StorageResults" not in buckets_touched(stmts, ("s3:",))
    writes = [
        r for s in stmts if any(a.startswith(WRITE) for a in _listify(s["Action"])) for r in _listify(s["Resource"])
    ]
    prefixes = sorted(r["Fn::Join"][1][1] for r in writes)
    assert prefixes == ["/quarantine/*", "/rejects/*"]


def test_forecast_reads_observations_and_writes_results_only(synth):
    stmts = statements(synth, "Functionsforecastrole")
    assert buckets_touched(stmts, WRITE) == {"StorageResults"}
    assert buckets_touched(stmts, READ) == {"StorageCurated", "StorageResults"}


def test_catalog_writes_are_scoped_to_the_tables_of_the_stage(synth):
    from infra.catalog import CURATED_TABLES

    def tables_with(stmts, action):
        return {
            r["Fn::Join"][1][-1].rsplit("/", 1)[1]
            for s in stmts
            if action in _listify(s["Action"])
            for r in _listify(s["Resource"])
            if "table/" in str(r)
        }

    forecast = tables_with(statements(synth, "Functionsforecastrole"), "glue:BatchCreatePartition")
    assert forecast and not forecast & CURATED_TABLES
    glue = tables_with(statements(synth, "AggregationRole"), "glue:BatchCreatePartition")
    assert glue == set(CURATED_TABLES)
    assert not tables_with(statements(synth, "Functionsapirole"), "glue:BatchCreatePartition")


def test_only_validate_and_risk_plan_publish_events_and_only_api_invokes_functions(synth):
    def can(prefix, action):
        return any(action in _listify(s["Action"]) for s in statements(synth, prefix))

    assert can("Functionsvalidaterole", "events:PutEvents")
    assert can("Functionsriskplanrole", "events:PutEvents")
    assert not can("Functionsapirole", "events:PutEvents")
    assert not can("Functionsforecastrole", "events:PutEvents")
    assert can("Functionsapirole", "lambda:InvokeFunction")
    assert not can("Functionsvalidaterole", "lambda:InvokeFunction")


def test_no_role_has_an_aws_managed_policy_except_cdk_helpers(synth):
    for key, role in synth.of_type("AWS::IAM::Role").items():
        if role["Properties"].get("ManagedPolicyArns"):
            assert key.startswith(
                ("BucketNotificationsHandler", "AnalyticsViewsProviderframework", "ApiRestApiCloudWatchRole")
            ), key
