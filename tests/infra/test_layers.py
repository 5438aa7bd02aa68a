"""The core layer: built without Docker, pure Python, the fleetcast package, nothing stale or stripped-worthy."""

from pathlib import Path

import pytest

from layers.build import LayerBuildError, build_core_layer, pip_command, requirement_lines
from layers.managed import ManagedLayer

REPO = Path(__file__).resolve().parents[2]


def test_core_layer_holds_the_package_under_python_and_nothing_compiled(tmp_path):
    # Given the repository's package and its (pure-Python) layer requirements
    build = build_core_layer(tmp_path / "core")
    site = build.path / "python"
    # Then the package is importable from the layer's python/ folder, without caches or binaries
    assert (site / "fleetcast" / "lake" / "tables.py").read_text() == (REPO / "fleetcast/lake/tables.py").read_text()
    assert not list(site.rglob("__pycache__")) and not list(site.rglob("*.so"))
    assert build.size_mib < 10
    assert build.files == len([p for p in site.rglob("*") if p.is_file()])


def test_every_build_copies_the_package_fresh(tmp_path):
    package = tmp_path / "pkg" / "fleetcast"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("VERSION = 1\n")
    requirements = tmp_path / "req.txt"
    requirements.write_text("# nothing\n")
    build_core_layer(tmp_path / "out", requirements=requirements, package=package)
    (package / "__init__.py").write_text("VERSION = 2\n")
    build = build_core_layer(tmp_path / "out", requirements=requirements, package=package)
    assert (build.path / "python/fleetcast/__init__.py").read_text() == "VERSION = 2\n"


def test_a_compiled_file_fails_the_build(tmp_path):
    package = tmp_path / "pkg" / "fleetcast"
    package.mkdir(parents=True)
    (package / "_speedups.cpython-312-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    requirements = tmp_path / "req.txt"
    requirements.write_text("")
    with pytest.raises(LayerBuildError, match="must be pure Python.*_speedups"):
        build_core_layer(tmp_path / "out", requirements=requirements, package=package)


def test_dependencies_are_installed_for_lambda_without_docker(tmp_path):
    command = pip_command(tmp_path / "req.txt", tmp_path / "target")
    assert command[1:4] == ["-m", "pip", "install"]
    joined = " ".join(command)
    assert "--platform manylinux2014_x86_64" in joined and "--only-binary=:all:" in joined
    assert "--python-version 3.12" in joined and f"--target {tmp_path / 'target'}" in joined
    assert requirement_lines(REPO / "layers/core/requirements.txt") == []


def test_managed_layers_resolve_from_public_ssm_parameters():
    powertools = ManagedLayer("powertools", "3.37.0")
    assert (
        powertools.arn_reference(region=None)
        == "{{resolve:ssm:/aws/service/powertools/python/x86_64/python3.12/3.37.0}}"
    )
    pandas = ManagedLayer("sdk-pandas", "3.16.0")
    assert (
        pandas.arn_reference(region="eu-west-1")
        == "{{resolve:ssm:/aws/service/aws-sdk-pandas/3.16.0/eu-west-1/py3.12/x86_64/layer-arn}}"
    )
    assert pandas.arn_reference(region=None).count("${AWS::Region}") == 1


def test_a_known_region_is_written_literally(synth, synth_options):
    def layer_refs(result):
        fn = next(r for k, r in result.of_type("AWS::Lambda::Function").items() if k.startswith("Functionsvalidate"))
        return [layer for layer in fn["Properties"]["Layers"] if not (isinstance(layer, dict) and "Ref" in layer)]

    assert {
        "Fn::Sub": "{{resolve:ssm:/aws/service/aws-sdk-pandas/3.16.0/${AWS::Region}/py3.12/x86_64/layer-arn}}"
    } in layer_refs(synth)
    assert "{{resolve:ssm:/aws/service/aws-sdk-pandas/3.16.0/eu-west-1/py3.12/x86_64/layer-arn}}" in layer_refs(
        synth_options
    )


def test_the_optional_c_fast_path_stays_out_of_the_layer(tmp_path):
    # Given the package with the access-log parser's C extension built in place
    package = tmp_path / "pkg" / "fleetcast"
    (package / "ingest").mkdir(parents=True)
    (package / "ingest" / "_clf.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    (package / "ingest" / "_clf.c").write_text("/* C */")
    (package / "ingest" / "logs.py").write_text("")
    requirements = tmp_path / "req.txt"
    requirements.write_text("")
    # When the layer is built, then it holds the Python modules only
    build = build_core_layer(tmp_path / "out", requirements=requirements, package=package)
    assert sorted(p.name for p in (build.path / "python" / "fleetcast" / "ingest").iterdir()) == ["logs.py"]
