"""Errors a user can act on.

Anything raised as :class:`FleetcastError` is the user's to fix (a file, a flag, a value) and is
shown as one line on stderr with a non-zero exit, never as a traceback.
"""

from __future__ import annotations

LARGEST_VALUE = 1e100
"""Largest magnitude of an input value: no measurement comes near it, and the squares and sums that
scores and intervals are made of overflow beyond about 1e150. Larger values are rejected as garbage."""


class FleetcastError(Exception):
    """A problem with the user's input or request, described in words they can act on."""

    exit_code = 2

    def __init__(self, problem: str, *, where: str | None = None) -> None:
        self.problem = problem
        self.where = where
        super().__init__(f"{where}: {problem}" if where else problem)


class InputError(FleetcastError):
    """An input file cannot be used at all (empty, binary, wrong encoding, unknown layout...).

    Examples
    --------
    >>> str(InputError("no line is an access log line", path="x.log", line=3))
    'x.log:3: no line is an access log line'
    """

    def __init__(self, problem: str, *, path: str, line: int | None = None, field: str | None = None):
        where = path if line is None else f"{path}:{line}"
        if field:
            where = f"{where} [{field}]"
        self.path, self.line, self.field = path, line, field
        super().__init__(problem, where=where)
