"""The README's table reference, generated from the table registry so docs match the code.

    python -m fleetcast.lake.docs README.md   # rewrite the section between the markers
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa

from fleetcast.lake.tables import TABLES

START, END = "<!-- tables:start -->", "<!-- tables:end -->"


def markdown() -> str:
    """The table reference as Markdown: one section per table with its columns."""
    parts = []
    for table in TABLES.values():
        kind = " (staging, internal)" if table.internal else ""
        parts.append(f"**`{table.name}`**{kind}: {table.doc}")
        parts.append("")
        parts.append("| column | type | meaning |")
        parts.append("|---|---|---|")
        for column in table.columns:
            parts.append(f"| `{column.name}` | {_type(column.type)} | {column.doc} |")
        for column in table.partitions:
            parts.append(f"| `{column.name}` | {_type(column.type)} | partition: {column.doc} |")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def rewrite(path: Path) -> bool:
    """Replace the marked section of ``path``; return whether it changed."""
    text = path.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    new = f"{head}{START}\n{markdown()}{END}{tail}"
    if new != text:
        path.write_text(new)
    return new != text


def _type(arrow_type: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_list(arrow_type):
        return f"array<{_type(arrow_type.value_type)}>"
    return {"large_string": "string", "double": "double", "int64": "bigint", "int32": "int",
            "int16": "smallint", "bool": "boolean"}.get(str(arrow_type), str(arrow_type))


if __name__ == "__main__":
    changed = rewrite(Path(sys.argv[1] if len(sys.argv) > 1 else "README.md"))
    print("README table reference " + ("updated" if changed else "already up to date"))
