"""AWS-managed Lambda layers used by ARN, and the sizes the 250 MB check counts for them.

The ARNs are resolved by CloudFormation at deploy time from the public SSM parameters both projects
publish, so no account id, layer version number or region is written into the app:

- Powertools for AWS Lambda (Python): ``/aws/service/powertools/python/<arch>/python<py>/<version>``.
- AWS SDK for pandas (pandas, numpy, pyarrow, awswrangler):
  ``/aws/service/aws-sdk-pandas/<version>/<region>/py<py>/<arch>/layer-arn``.

A layer's unzipped size cannot be read from an API without downloading it, so every version the app
may use is listed in ``UNZIPPED_MIB`` with where the number comes from; choosing a version that is not
listed fails the synth (the zip-size guard must never be silently skipped).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Lambda runtime of every function (zip and image). Python 3.12 is the oldest Lambda runtime on
#: Amazon Linux 2023 (glibc 2.34); the pinned numpy 2.4 / pyarrow 25 / lightgbm 4.7 / duckdb 2.0 wheels
#: need glibc >= 2.27/2.28, which the Amazon Linux 2 based python3.11 runtime (glibc 2.26) lacks.
PYTHON = "3.12"
ARCH = "x86_64"
#: Platform tag for `pip install --platform ... --only-binary=:all:` when building layers.
PIP_PLATFORM = "manylinux2014_x86_64"

LAMBDA_LIMIT_MIB = 250  # function code + all layers, unzipped (262,144,000 bytes)


@dataclass(frozen=True)
class ManagedLayer:
    """One AWS-managed layer at one version.

    Examples
    --------
    >>> layer = ManagedLayer("powertools", "3.37.0")
    >>> layer.unzipped_mib
    40.0
    >>> layer.ssm_parameter(region="eu-west-1")
    '/aws/service/powertools/python/x86_64/python3.12/3.37.0'
    """

    name: str
    version: str

    @property
    def unzipped_mib(self) -> float:
        try:
            return UNZIPPED_MIB[(self.name, self.version)][0]
        except KeyError:
            raise ValueError(
                f"no measured unzipped size for the {self.name} layer {self.version}: add it to "
                "layers/managed.py UNZIPPED_MIB (download the layer zip, unzip, `du -sm`)"
            ) from None

    def ssm_parameter(self, *, region: str) -> str:
        """Name of the public SSM parameter holding this layer's ARN in ``region``."""
        if self.name == "powertools":
            return f"/aws/service/powertools/python/{ARCH}/python{PYTHON}/{self.version}"
        if self.name == "sdk-pandas":
            return f"/aws/service/aws-sdk-pandas/{self.version}/{region}/py{PYTHON}/{ARCH}/layer-arn"
        raise ValueError(f"unknown managed layer {self.name!r}")

    def arn_reference(self, *, region: str | None) -> str:
        """A CloudFormation dynamic reference that resolves to the layer ARN at deploy time.

        With ``region=None`` (an environment-agnostic synth) the region is left to ``Fn::Sub``;
        ``cdk deploy`` always knows the region, so deployed templates carry a literal path.
        """
        return "{{resolve:ssm:" + self.ssm_parameter(region=region or "${AWS::Region}") + "}}"


#: (layer, version) -> (unzipped MiB, where the number comes from)
UNZIPPED_MIB: dict[tuple[str, str], tuple[float, str]] = {
    ("powertools", "3.37.0"): (
        40.0,
        "upper bound: `pip install --target` of aws-lambda-powertools[tracer,parser,validation]==3.37.0 "
        "for manylinux x86_64 / cp312 is 55 MiB of which botocore+boto3+s3transfer (not in the layer) "
        "are 33 MiB; 40 leaves room for the layer's remaining extras",
    ),
    ("sdk-pandas", "3.16.0"): (
        167.0,
        "aws/aws-sdk-pandas issue #3331: `du -h` of awswrangler-layer-3.16.0 = 167M",
    ),
    ("sdk-pandas", "3.16.1"): (
        204.0,
        "aws/aws-sdk-pandas issue #3331: `du -h` of awswrangler-layer-3.16.1 = 204M",
    ),
}
