"""cdk-nag AwsSolutions is enforced at synth; cfn-lint finds nothing beyond CDK's own noise."""

import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import aws_s3 as s3

#: CDK adds an explicit DependsOn from each function/state machine to its role's DefaultPolicy, which
#: cfn-lint reports as redundant next to the GetAtt of the role (W3005). That is CDK's template, not ours.
CFN_LINT_IGNORES = ["W3005"]


def test_both_synths_passed_cdk_nag(synth, synth_options):
    # The fixtures synthesize with AwsSolutionsChecks registered; an unacknowledged finding raises.
    for result in (synth, synth_options):
        report = result.outdir / "validation-report.json"
        assert not report.exists() or '"conclusion": "failure"' not in report.read_text()


@pytest.mark.slow
def test_an_unacknowledged_finding_fails_the_synth(tmp_path, monkeypatch):
    # Given the real app with one bucket added that has no access logs, TLS policy or encryption choice
    from app import build_app

    monkeypatch.setenv("CDK_DOCKER", "false")
    app = build_app(outdir=str(tmp_path))
    (stack,) = [c for c in app.node.children if c.node.id.startswith("Fleetcast-")]
    s3.Bucket(stack, "Careless")
    # When it is synthesized; Then AwsSolutions reports it and the synth fails
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    assert "AwsSolutions-S1" in (tmp_path / "validation-report.json").read_text()


@pytest.mark.parametrize("which", ["synth", "synth_options"])
def test_cfn_lint_is_clean(which, request):
    result = request.getfixturevalue(which)
    template = next(result.outdir.glob("Fleetcast-*.template.json"))
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    run = subprocess.run(
        [str(cfn_lint), "--ignore-checks", *CFN_LINT_IGNORES, "--", str(template)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
