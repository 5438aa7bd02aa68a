"""The fast path's rules for Common/Combined Log Format lines: one regular expression, and the minute.

The fast path accepts a line only when its layout is exactly::

    HOST SP IDENT SP USER SP [dd/Mon/yyyy:HH:MM:SS ±hhmm] SP "REQUEST" SP sss SP SIZE [SP "REF" SP "UA"]

with only ASCII characters, no quote inside the quoted fields, no space or ``[`` in host, ident and
user, a valid date and time (second 60 allowed, year >= 1970, offset within ±18 h), status 100-599
and a size of 1-13 digits or ``-``, optionally followed by ``\\r``. Anything else (escaped quotes,
extra fields, damage, non-ASCII text) is left to the careful line-by-line parser of
:mod:`fleetcast.ingest.access_log`, which accepts or rejects it. The Spark parser
(:mod:`fleetcast.spark.clf`) applies the same rules.

:mod:`fleetcast.ingest.access_log` runs the expression over all lines of a chunk at once (Polars) and
decodes each distinct minute with :func:`minute_epoch` (no ``strptime``), or, where the C extension
``fleetcast/ingest/_clf.c`` is built, applies the same rules in C (``tests/ingest/test_native_path.py``
proves the two accept the same lines with the same fields). This module imports neither Polars nor
NumPy: the Spark job shares its constants.
"""

from __future__ import annotations

import functools
from datetime import date

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NUMBER = {m: i + 1 for i, m in enumerate(MONTHS)}

# ASCII character classes (a non-ASCII line never matches): host has no space, quote or '['; ident
# and user neither, nor other whitespace; quoted fields have no quote.
_HOST = r'[\x00-\x1f!#-Z\\-\x7f]+'
_IDENT = r'[\x00-\x08\x0e-\x1f!#-Z\\-\x7f]+'
_QUOTED = r'"[\x00-!#-\x7f]*"'
_STAMP = (r"(?P<minute>[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}):(?P<second>[0-9]{2})"
          r" (?P<zone>[+-][0-9]{4})")
TEXT_PARTS = ("request", "referrer", "user_agent")  # quoted parts captured only when asked for


def pattern(parts: tuple[str, ...] = TEXT_PARTS) -> str:
    """The fast path's regular expression, capturing host, time stamp (``minute``, ``second``,
    ``zone``), status, size and ``parts``.

    Examples
    --------
    >>> import re
    >>> line = 'h - - [01/Aug/1995:00:00:01 -0400] "GET / HTTP/1.0" 200 7\\n'
    >>> re.match(pattern(()), line).groupdict()
    {'host': 'h', 'minute': '01/Aug/1995:00:00', 'second': '01', 'zone': '-0400', 'status': '200', 'size': '7'}
    """
    def quoted(name: str) -> str:
        return f'"(?P<{name}>{_QUOTED[1:-1]})"' if name in parts else _QUOTED

    return (f"^(?P<host>{_HOST}) {_IDENT} {_IDENT} \\[{_STAMP}\\] {quoted('request')} "
            f"(?P<status>[0-9]{{3}}) (?P<size>[0-9]{{1,13}}|-)"
            f"(?: {quoted('referrer')} {quoted('user_agent')})?\\r?\\n?$")


INVALID = -(2**63)  # minute_epoch of an invalid minute


def minute_epoch(minute: str | None, zone: str | None) -> tuple[int, int]:
    """Epoch seconds (UTC) of a ``dd/Mon/yyyy:HH:MM`` minute logged with offset ``±hhmm``, and the
    offset in minutes; :data:`INVALID` when the date, time or offset is not valid.

    Examples
    --------
    >>> minute_epoch("01/Jan/1970:01:00", "+0100"), minute_epoch("29/Feb/2023:00:00", "+0000")[0] == INVALID
    ((0, 60), True)
    """
    if minute is None or zone is None:
        return INVALID, 0
    day, clock, offset = _day(minute[:11]), _clock(minute[12:]), _offset(zone)
    if day is None or clock is None or offset is None:
        return INVALID, offset or 0
    return day * 86400 + clock - offset * 60, offset


@functools.lru_cache(maxsize=4096)
def _day(text: str) -> int | None:
    """Days since 1970-01-01 of ``dd/Mon/yyyy`` (None: not a date, or before 1970)."""
    year, month = int(text[7:11]), MONTH_NUMBER.get(text[3:6], 0)
    if not month or year < 1970:
        return None
    try:
        return date(year, month, int(text[0:2])).toordinal() - _EPOCH_DAY
    except ValueError:
        return None


@functools.lru_cache(maxsize=2048)
def _clock(text: str) -> int | None:
    """Seconds since midnight of ``HH:MM`` (None: not a time)."""
    hh, mm = int(text[0:2]), int(text[3:5])
    return hh * 3600 + mm * 60 if hh < 24 and mm < 60 else None


@functools.lru_cache(maxsize=1024)
def _offset(zone: str) -> int | None:
    """Minutes east of UTC of ``±hhmm`` (None: beyond ±18 h)."""
    minutes = int(zone[1:3]) * 60 + int(zone[3:5])
    return None if minutes > 18 * 60 else (-minutes if zone[0] == "-" else minutes)


_EPOCH_DAY = date(1970, 1, 1).toordinal()
