"""Builds the optional C fast path of the access-log parser (fleetcast/ingest/_clf.c).

Everything else is in pyproject.toml. ``optional=True``: without a C compiler the package installs
anyway and parses access logs with Polars (the same results, about 3x slower).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("fleetcast.ingest._clf", ["fleetcast/ingest/_clf.c"], optional=True,
                             extra_compile_args=["-O3"])])
