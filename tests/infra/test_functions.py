"""Lambda functions: packaging, sizing, Powertools, concurrency, async failure destinations, 250 MB guard."""

import json

import pytest

from infra.functions import SPECS
from layers.managed import LAMBDA_LIMIT_MIB, ManagedLayer


def _resources(synth) -> dict[str, dict]:
    """The four fleetcast functions' resources by name (the views loader and CDK helpers excluded)."""
    found = {}
    for key, fn in synth.of_type("AWS::Lambda::Function").items():
        for name in SPECS:
            if key.startswith(f"Functions{name.replace('_', '')}"):
                found[name] = fn
    return found


def _functions(synth) -> dict[str, dict]:
    return {name: fn["Properties"] for name, fn in _resources(synth).items()}


def test_four_functions_with_their_memory_timeout_and_tracing(synth):
    functions = _functions(synth)
    assert sorted(functions) == ["api", "forecast", "risk_plan", "validate"]
    for name, props in functions.items():
        assert props["MemorySize"] == SPECS[name].memory_mb
        assert props["Timeout"] == SPECS[name].timeout_s
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["Architectures"] == ["x86_64"]
    assert functions["api"]["Timeout"] <= 29  # API Gateway's integration limit
    assert functions["forecast"]["Timeout"] == 900


def test_forecast_and_risk_plan_share_one_container_image(synth):
    functions = _functions(synth)
    for name in ("forecast", "risk_plan"):
        assert functions[name]["PackageType"] == "Image"
        assert functions[name]["ImageConfig"] == {"Command": [f"{name}.handler.handler"]}
    assert functions["forecast"]["Code"] == functions["risk_plan"]["Code"]
    # the image is an asset built at deploy time from the repository's Dockerfile
    assets = json.loads((synth.outdir / "Fleetcast-dev.assets.json").read_text())
    (image,) = assets["dockerImages"].values()
    assert image["source"]["dockerFile"] == "lambdas/forecast/Dockerfile"
    assert image["source"]["platform"] == "linux/amd64"
    staged = synth.outdir / image["source"]["directory"]
    assert sorted(p.name for p in staged.iterdir()) == ["fleetcast", "lambdas", "requirements.txt"]


def test_zip_functions_run_python_312_with_core_and_managed_layers(synth):
    functions = _functions(synth)
    for name in ("validate",):
        props = functions[name]
        assert props["Runtime"] == "python3.12"
        assert props["Handler"] == "handler.handler"
        assert len(props["Layers"]) == 3
        refs = [layer for layer in props["Layers"] if not isinstance(layer, dict) or "Ref" not in layer]
        assert len(refs) == 2  # Powertools + AWS SDK for pandas, resolved from public SSM parameters


def test_powertools_environment_on_every_function(synth):
    for name, props in _functions(synth).items():
        env = props["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == "fleetcast"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "fleetcast"
        assert env["POWERTOOLS_METRICS_FUNCTION_NAME"] == name
        assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
        assert env["LAKE_DATABASE"] == "fleetcast"
        assert "Fn::Join" in env["LAKE_TABLE_LOCATIONS"]  # JSON map table -> s3://bucket/table/


def test_reserved_concurrency_protects_downstream_and_can_be_switched_off(synth, synth_options):
    functions = _functions(synth)
    assert functions["forecast"]["ReservedConcurrentExecutions"] == 16  # = Distributed Map concurrency
    assert functions["api"]["ReservedConcurrentExecutions"] == 10
    assert "ReservedConcurrentExecutions" not in functions["validate"]
    assert all("ReservedConcurrentExecutions" not in p for p in _functions(synth_options).values())


def test_async_invocations_fail_into_a_queue(synth):
    configs = synth.of_type("AWS::Lambda::EventInvokeConfig")
    assert len(configs) == 4
    for config in configs.values():
        props = config["Properties"]
        assert props["MaximumRetryAttempts"] == 2
        destination = props["DestinationConfig"]["OnFailure"]["Destination"]
        assert destination["Fn::GetAtt"][0].startswith("FunctionsAsyncFailures")


def test_log_groups_have_retention(synth):
    groups = [g["Properties"] for k, g in synth.of_type("AWS::Logs::LogGroup").items() if k.startswith("Functions")]
    assert len(groups) == 4 and {g["RetentionInDays"] for g in groups} == {30}


def _managed(reference: str) -> ManagedLayer:
    path = reference.split("{{resolve:ssm:")[1].rstrip("}")
    if path.startswith("/aws/service/powertools/"):
        return ManagedLayer("powertools", path.rsplit("/", 1)[1])
    return ManagedLayer("sdk-pandas", path.split("/")[4])


def _unzipped_mib(folder) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def zip_function_sizes(synth) -> dict[str, float]:
    """Unzipped MiB of each zip function: its code asset + every layer (managed ones by measured size)."""
    files = json.loads((synth.outdir / "Fleetcast-dev.assets.json").read_text())["files"]

    def asset_dir(code: dict):
        return synth.outdir / files[code["S3Key"].removesuffix(".zip")]["source"]["path"]

    layer_assets = {
        k: asset_dir(r["Properties"]["Content"]) for k, r in synth.of_type("AWS::Lambda::LayerVersion").items()
    }
    sizes = {}
    for name, fn in _resources(synth).items():
        props = fn["Properties"]
        if props.get("PackageType") == "Image":
            continue
        total = _unzipped_mib(asset_dir(props["Code"]))
        for layer in props["Layers"]:
            if isinstance(layer, dict) and "Ref" in layer:
                total += _unzipped_mib(layer_assets[layer["Ref"]])
            else:
                text = layer if isinstance(layer, str) else layer["Fn::Sub"]
                total += _managed(text).unzipped_mib
        sizes[name] = total
    return sizes


def test_zip_functions_and_their_layers_stay_under_250_mb_unzipped(synth):
    # Given each zip function's code, the core layer as built, and the managed layers' measured sizes
    sizes = zip_function_sizes(synth)
    # Then every zip function fits Lambda's limit (the SDK-for-pandas layer alone is 167 MiB)
    assert sorted(sizes) == ["validate"]  # api, forecast and risk_plan run from the container image
    for name, mib in sizes.items():
        assert 167 + 40 < mib < LAMBDA_LIMIT_MIB, (name, mib)


def test_the_size_guard_fails_for_a_layer_version_that_would_not_fit():
    # Given the 3.16.1 SDK-for-pandas layer (204 MiB) with Powertools (40 MiB) and a 7 MiB handler
    total = ManagedLayer("sdk-pandas", "3.16.1").unzipped_mib + ManagedLayer("powertools", "3.37.0").unzipped_mib + 7
    # Then the sum is over the limit, which is what the test above would report
    assert total > LAMBDA_LIMIT_MIB
    with pytest.raises(ValueError, match="no measured unzipped size"):
        _ = ManagedLayer("sdk-pandas", "9.9.9").unzipped_mib
