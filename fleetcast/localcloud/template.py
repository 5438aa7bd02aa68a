"""The CloudFormation template CDK synthesizes, with its intrinsics resolved to local names.

The local cloud never hand-copies a definition: it synthesizes the app (``app.build_app``, offline,
as ``python app.py`` does) or reads a ``cdk.out`` template, then resolves ``Ref``, ``Fn::GetAtt``,
``Fn::Join``, ``Fn::Sub``, ``Fn::Select`` and ``Fn::Split`` against names chosen here for each
resource (bucket ``fleetcast-local-<logical id>``, function ``<logical id>``, ARNs in account
123456789012), so the state machine, rules, environments and catalog tables refer to each other
exactly as they do in the deployed stack.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"
_CREDENTIAL_VARS = ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                    "CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")


def synthesize(outdir: Path | None = None, context: Mapping[str, Any] | None = None) -> dict:
    """Synthesize the CDK app offline (no credentials, no Docker) and return its stack template.

    Examples
    --------
    >>> template = synthesize()  # doctest: +SKIP
    >>> sorted(template["Resources"])[:1]  # doctest: +SKIP
    ['AnalyticsAthenaViews...']
    """
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    if str(REPO) not in sys.path:  # app.py, infra/ and layers/ live beside the package, not in it
        sys.path.insert(0, str(REPO))
    from app import build_app

    outdir = Path(outdir or tempfile.mkdtemp(prefix="fleetcast-synth-"))
    saved = dict(os.environ)
    for var in _CREDENTIAL_VARS:
        os.environ.pop(var, None)
    os.environ["CDK_DOCKER"] = "false"  # any Docker call during synth fails
    try:
        app = build_app(dict(context or {}), outdir=str(outdir))
        app.synth()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    (path,) = outdir.glob("Fleetcast-*.template.json")
    return json.loads(path.read_text())


def load_template(path: str | os.PathLike) -> dict:
    """A template synthesized earlier (``cdk.out/Fleetcast-<env>.template.json``)."""
    return json.loads(Path(path).read_text())


_NAME_PROPERTY = {
    "AWS::SNS::Topic": "TopicName", "AWS::SQS::Queue": "QueueName", "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Lambda::Function": "FunctionName", "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::IAM::Role": "RoleName", "AWS::Lambda::LayerVersion": "LayerName",
}


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    properties: dict


class LocalNames:
    """Physical names and attributes of every resource of a template, as the local cloud creates them.

    Examples
    --------
    >>> names = LocalNames({"Resources": {"StorageRawAB12": {"Type": "AWS::S3::Bucket", "Properties": {}}}})
    >>> names.resolve({"Fn::Join": ["", ["s3://", {"Ref": "StorageRawAB12"}, "/x"]]})
    's3://fleetcast-local-storagerawab12/x'
    """

    def __init__(self, template: dict, *, region: str = REGION, account: str = ACCOUNT) -> None:
        self.template = template
        self.region, self.account = region, account
        self.resources = {k: Resource(k, v["Type"], v.get("Properties", {}))
                          for k, v in template["Resources"].items()}
        self.parameters = {k: v.get("Default") for k, v in template.get("Parameters", {}).items()}

    def of_type(self, cfn_type: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type == cfn_type]

    # -- names ------------------------------------------------------------------------------------

    def name(self, logical_id: str) -> str:
        """The physical name the local cloud gives a resource (what ``Ref`` means for most types)."""
        resource = self.resources[logical_id]
        props = resource.properties
        if resource.type == "AWS::S3::Bucket":
            return f"fleetcast-local-{logical_id.lower()}"[:63]
        if resource.type == "AWS::Glue::Database":
            return props["DatabaseInput"]["Name"]
        explicit = props.get(_NAME_PROPERTY.get(resource.type, "Name"))
        return str(self.resolve(explicit)) if explicit is not None else logical_id

    def arn(self, logical_id: str) -> str:
        r, a = self.region, self.account
        resource = self.resources[logical_id]
        name = self.name(logical_id)
        arns = {
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{r}:{a}:function:{name}",
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{r}:{a}:stateMachine:{name}",
            "AWS::Events::EventBus": f"arn:aws:events:{r}:{a}:event-bus/{name}",
            "AWS::Events::Rule": f"arn:aws:events:{r}:{a}:rule/{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{r}:{a}:{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{r}:{a}:{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{a}:role/{name}",
            "AWS::KMS::Key": f"arn:aws:kms:{r}:{a}:key/{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{r}:{a}:log-group:{name}:*",
            "AWS::Glue::Job": f"arn:aws:glue:{r}:{a}:job/{name}",
            "AWS::Lambda::LayerVersion": f"arn:aws:lambda:{r}:{a}:layer:{name}:1",
        }
        if resource.type not in arns:
            raise KeyError(f"no local ARN for {resource.type} ({logical_id})")
        return arns[resource.type]

    def ref(self, logical_id: str) -> str:
        if logical_id in self.parameters:
            return str(self.parameters[logical_id])
        pseudo = {"AWS::Partition": "aws", "AWS::Region": self.region, "AWS::AccountId": self.account,
                  "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "fleetcast-local", "AWS::NoValue": None}
        if logical_id in pseudo:
            return pseudo[logical_id]  # type: ignore[return-value]
        resource = self.resources[logical_id]
        if resource.type in ("AWS::SNS::Topic", "AWS::StepFunctions::StateMachine", "AWS::Lambda::LayerVersion"):
            return self.arn(logical_id)
        if resource.type == "AWS::SQS::Queue":
            return self.queue_url(logical_id)
        return self.name(logical_id)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in ("Name", "TopicName", "QueueName"):
            return self.name(logical_id)
        if attribute == "QueueUrl":
            return self.queue_url(logical_id)
        raise KeyError(f"Fn::GetAtt {logical_id}.{attribute} is not emulated")

    def queue_url(self, logical_id: str) -> str:
        return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self.name(logical_id)}"

    # -- intrinsics -------------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function replaced by its local result."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Join":
                separator, parts = arg
                return separator.join(str(self.resolve(p)) for p in self.resolve(parts))
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.resolve(text)).split(separator)
            if key.startswith("Fn::"):
                raise NotImplementedError(f"{key} is not resolved by the local cloud")
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!][^}]*)\}", replace, text)
