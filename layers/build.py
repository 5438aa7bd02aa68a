"""Build the pure-Python core layer without Docker: the ``fleetcast`` package plus its pure-Python deps.

Layout of the result (what Lambda expects of a Python layer)::

    build/layers/core/python/fleetcast/...
    build/layers/core/python/<pure-python dependency>/...

Third-party dependencies (``layers/core/requirements.txt``) are installed with
``pip install --platform manylinux2014_x86_64 --implementation cp --python-version 3.12
--only-binary=:all: --target`` (cached per requirements hash, so only a change of pins downloads),
then boto*, tests and ``__pycache__`` are stripped. The package itself is copied fresh on every build,
so a synth never ships stale domain code. Any compiled file fails the build: binary dependencies come
from the managed AWS SDK for pandas layer or live in the container image.

The same folder is the ``--extra-py-files`` zip of the Glue job (zip imports need pure Python too).

Usage: ``python -m layers.build`` (prints the layer folder and its unzipped size).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from layers.managed import PIP_PLATFORM, PYTHON

REPO = Path(__file__).resolve().parent.parent
CORE_REQUIREMENTS = REPO / "layers" / "core" / "requirements.txt"
DEFAULT_OUT = REPO / "build" / "layers" / "core"
STRIP_DIRS = ("boto3", "botocore", "s3transfer", "tests", "test", "__pycache__")
BINARY_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
# The access-log parser's optional C fast path (built in place for this machine's Python) stays out:
# the layer parses access logs with Polars, as fleetcast does wherever the extension is missing.
OPTIONAL_NATIVE = ("_clf.c", "_clf.*.so")


class LayerBuildError(RuntimeError):
    """The layer cannot be built as asked (a binary file, a failed pip run)."""


@dataclass(frozen=True)
class LayerBuild:
    path: Path
    files: int
    size_bytes: int

    @property
    def size_mib(self) -> float:
        return self.size_bytes / 2**20


def requirement_lines(requirements: Path) -> list[str]:
    """Requirement specifiers in ``requirements`` (comments and blank lines dropped).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.txt"
    >>> _ = p.write_text("# pure python only\\nsqlglot==30.30.0  # SQL\\n\\n")
    >>> requirement_lines(p)
    ['sqlglot==30.30.0']
    """
    lines = (line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines())
    return [line for line in lines if line]


def pip_command(requirements: Path, target: Path) -> list[str]:
    """The pip invocation that installs Lambda-compatible wheels into ``target`` (no Docker)."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-compile",
        "--disable-pip-version-check",
        "--platform",
        PIP_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        PYTHON,
        "--only-binary=:all:",
        "--target",
        str(target),
        "-r",
        str(requirements),
    ]


def build_core_layer(
    out: Path = DEFAULT_OUT, *, requirements: Path = CORE_REQUIREMENTS, package: Path = REPO / "fleetcast"
) -> LayerBuild:
    """Assemble the core layer in ``out`` and return its unzipped size.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> build = build_core_layer(pathlib.Path(tempfile.mkdtemp()) / "core")
    >>> (build.path / "python" / "fleetcast" / "lake" / "tables.py").is_file()
    True
    """
    site = out / "python"
    shutil.rmtree(out, ignore_errors=True)
    site.mkdir(parents=True)
    deps = _dependencies(requirements, out.parent / ".cache")
    if deps is not None:
        shutil.copytree(deps, site, dirs_exist_ok=True)
    shutil.copytree(package, site / package.name,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests", *OPTIONAL_NATIVE))
    _strip(site)
    binaries = sorted(str(p.relative_to(site)) for p in site.rglob("*") if _is_binary(p))
    if binaries:
        raise LayerBuildError(f"the core layer must be pure Python, found: {', '.join(binaries[:5])}")
    files = [p for p in site.rglob("*") if p.is_file()]
    return LayerBuild(out, len(files), sum(p.stat().st_size for p in files))


def _dependencies(requirements: Path, cache: Path) -> Path | None:
    """Installed third-party packages for ``requirements`` (cached by content), or None if none."""
    if not requirement_lines(requirements):
        return None
    key = hashlib.sha256(f"{PIP_PLATFORM} {PYTHON}\n{requirements.read_text()}".encode()).hexdigest()[:16]
    done = cache / f"core-deps-{key}"
    if done.is_dir():
        return done
    tmp = cache / f".core-deps-{key}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    result = subprocess.run(pip_command(requirements, tmp), capture_output=True, text=True)
    if result.returncode != 0:
        raise LayerBuildError(f"pip could not install {requirements}: {result.stderr.strip()[-500:]}")
    tmp.rename(done)
    return done


def _strip(site: Path) -> None:
    for path in sorted(site.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and path.name in STRIP_DIRS or (
            path.is_dir()
            and path.name.split("-")[0] in ("boto3", "botocore", "s3transfer")
            and path.suffix == ".dist-info"
        ):
            shutil.rmtree(path)
    for pyc in site.rglob("*.pyc"):
        pyc.unlink()


def _is_binary(path: Path) -> bool:
    name = path.name
    return path.is_file() and (name.endswith(BINARY_SUFFIXES) or ".so." in name)


def main() -> int:
    try:
        build = build_core_layer()
    except LayerBuildError as err:
        print(f"layers: {err}", file=sys.stderr)
        return 2
    print(f"core layer: {build.path.relative_to(REPO)} ({build.files} files, {build.size_mib:.2f} MiB unzipped)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
