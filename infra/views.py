"""The Athena views of the lake, read from ``fleetcast/lake/views/*.sql`` (one view per file).

File convention (shared with the local ``fleetcast query``): the file name is the view name
(``forecast_vs_actual.sql`` -> view ``forecast_vs_actual``); the file holds one Athena (Trino) query,
a ``SELECT`` or ``WITH ... SELECT``, that refers to lake tables and other views by bare name. Views
that use other views are created after them (dependency order; a cycle fails the synth).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp

VIEWS_DIR = Path(__file__).resolve().parent.parent / "fleetcast" / "lake" / "views"
NAME = re.compile(r"[a-z][a-z0-9_]{0,127}")


class ViewError(ValueError):
    """A view file that cannot become an Athena view (named after the file)."""


@dataclass(frozen=True)
class View:
    name: str
    sql: str
    depends_on: tuple[str, ...]  # other views it selects from


def load_views(directory: Path = VIEWS_DIR) -> list[View]:
    """Every view in ``directory``, each after the views it depends on.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "b.sql").write_text("SELECT series_id FROM a")
    >>> _ = (d / "a.sql").write_text("SELECT series_id FROM observations;")
    >>> [(v.name, v.depends_on) for v in load_views(d)]
    [('a', ()), ('b', ('a',))]
    """
    files = sorted(directory.glob("*.sql")) if directory.is_dir() else []
    texts = {path.stem: path.read_text(encoding="utf-8") for path in files}
    for name in texts:
        if not NAME.fullmatch(name):
            raise ViewError(f"{name}.sql: view names are lower-case letters, digits and '_'")
    views = {name: _parse(name, sql, set(texts)) for name, sql in texts.items()}
    return _ordered(views)


def _parse(name: str, sql: str, view_names: set[str]) -> View:
    body = sql.strip().rstrip(";").strip()
    try:
        statements = [s for s in sqlglot.parse(body, read="athena") if s is not None]
    except sqlglot.errors.ParseError as err:
        raise ViewError(f"{name}.sql: not valid Athena SQL: {str(err).splitlines()[0]}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise ViewError(f"{name}.sql: must hold exactly one SELECT (or WITH ... SELECT) query")
    query = statements[0]
    ctes = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
    referenced = {t.name for t in query.find_all(exp.Table)} - ctes
    if name in referenced:
        raise ViewError(f"{name}.sql: a view cannot select from itself")
    return View(name, body, tuple(sorted(referenced & view_names)))


def _ordered(views: dict[str, View]) -> list[View]:
    done: list[View] = []
    seen: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise ViewError(f"views depend on each other in a cycle: {' -> '.join((*path, name))}")
        if name in seen:
            return
        for dependency in views[name].depends_on:
            visit(dependency, (*path, name))
        seen.add(name)
        done.append(views[name])

    for name in sorted(views):
        visit(name, ())
    return done
