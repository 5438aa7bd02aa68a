"""Tell what an input file is: an access log or a metrics table (CSV/Parquet), or unusable."""

from __future__ import annotations

import re
from pathlib import Path

from fleetcast.errors import InputError
from fleetcast.ingest.reader import PARQUET_MAGIC, check_text, head_bytes

ACCESS_LOG = "access_log"
METRICS = "metrics"
_LOG_PREFIX = re.compile(r'^\S+ \S+ \S+ \[[^\]]{10,40}\] "')
_SNIFF_LINES = 20
SEPARATORS = (",", ";", "\t", "|")


def csv_separator(header: str) -> str:
    """The separator a CSV header line uses: the most frequent of , ; tab |.

    Examples
    --------
    >>> csv_separator("timestamp;server_id;cpu"), csv_separator("a,b")
    (';', ',')
    """
    return max(SEPARATORS, key=header.count)


def detect(path: Path) -> str:
    """Return :data:`ACCESS_LOG` or :data:`METRICS`, or raise :class:`InputError` saying why neither.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_text("timestamp,server_id,cpu\\n2024-01-01,a,5\\n")
    >>> detect(p)
    'metrics'
    """
    where = str(path)
    if not path.exists():
        raise InputError("no such file", path=where)
    if path.is_dir():
        raise InputError("is a directory, not a file", path=where)
    try:
        head = head_bytes(path)
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", path=where) from None
    check_text(path, head)
    if head.startswith(PARQUET_MAGIC):
        return METRICS
    lines = [ln for ln in head.decode("utf-8", "replace").splitlines()[:_SNIFF_LINES * 5] if ln.strip()]
    lines = lines[:_SNIFF_LINES]
    if sum(bool(_LOG_PREFIX.match(ln)) for ln in lines) * 2 >= len(lines):
        return ACCESS_LOG
    first = lines[0].lstrip("\ufeff")
    if first.startswith(("{", "[")):
        raise InputError("looks like JSON; fleetcast reads Common/Combined Log Format access logs and "
                         "metrics as CSV or Parquet", path=where)
    if first.startswith("#"):
        raise InputError(f"starts with a comment line ({first[:40]!r}: W3C/IIS logs are not supported); "
                         f"fleetcast reads Common/Combined Log Format and CSV/Parquet metrics", path=where)
    header = [field.strip() for field in first.split(csv_separator(first))]
    if len(header) >= 2 and all(header):
        return METRICS
    raise InputError(
        f"neither an access log (Common/Combined Log Format) nor a metrics CSV/Parquet; "
        f"first line: {lines[0][:80]!r}", path=where)
