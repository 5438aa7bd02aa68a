"""Context -> Config: defaults, string values from -c, one-line errors."""

import json
from pathlib import Path

import pytest

from infra.config import Config, ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_cdk_json_context_is_the_documented_default():
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    assert Config.from_mapping(context) == Config()


def test_cli_strings_are_parsed():
    config = Config.from_mapping({"reservedConcurrency": "false", "glueWorkers": "10", "apiAuth": "apiKey"})
    assert (config.reserved_concurrency, config.glue_workers, config.api_auth) == (False, 10, "apiKey")


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("envName", "Prod_1", "envName 'Prod_1'"),
        ("apiAuth", "cognito", "apiAuth 'cognito'"),
        ("glueWorkers", "two", "glueWorkers: expected a whole number"),
        ("retainData", "maybe", "retainData: expected true or false"),
        ("refreshSchedule", "0 3 * * *", "refreshSchedule"),
        ("quicksightPrincipalArn", "analyst", "must be an ARN"),
    ],
)
def test_bad_values_name_the_key(key, value, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_mapping({key: value})
