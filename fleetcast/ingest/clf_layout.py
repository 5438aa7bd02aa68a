"""Locate the fields of Common/Combined Log Format lines in a buffer, all lines at once (numpy).

The fast path accepts a line only when its layout is exactly::

    HOST SP IDENT SP USER SP [dd/Mon/yyyy:HH:MM:SS ±hhmm] SP "REQUEST" SP sss SP SIZE [SP "REF" SP "UA"]

(IDENT and USER ``-`` here; others are confirmed by the caller: ``check_ident``)
with no quote inside the quoted fields (two or six quotes in the line), only ASCII, a valid date and time,
status 100-599 and a size of digits or ``-``, optionally followed by ``\\r``. Anything else (escaped
quotes, extra fields, damage) is left to the careful line-by-line parser, which accepts or rejects
it. Offsets returned are relative to each line's start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_KEYS = np.array(sorted((ord(m[0]) << 16) | (ord(m[1]) << 8) | ord(m[2]) for m in MONTHS))
_MONTH_OF_KEY = np.array([MONTHS.index(chr(k >> 16) + chr((k >> 8) & 255) + chr(k & 255)) + 1
                          for k in _MONTH_KEYS])
_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_STAMP_SEPARATORS = {2: "/", 6: "/", 11: ":", 14: ":", 17: ":", 20: " "}
_SIZE_WIDTH = 14
_POWERS = 10.0 ** np.arange(_SIZE_WIDTH - 1, -1, -1)
_FROM_RIGHT = np.arange(_SIZE_WIDTH)[::-1]
PAD = 64  # bytes appended so fixed-width windows never run off the buffer


@dataclass(frozen=True)
class Layout:
    ok: np.ndarray  # the line has the exact layout: every field below is valid for it
    check_ident: np.ndarray  # as ok, but ident and user (not '- -') still to be checked
    host_end: np.ndarray
    request: tuple[np.ndarray, np.ndarray]  # [start, end) of the text between the first two quotes
    referrer: tuple[np.ndarray, np.ndarray]
    agent: tuple[np.ndarray, np.ndarray]
    combined: np.ndarray
    epoch_s: np.ndarray
    offset_min: np.ndarray
    status: np.ndarray
    size: np.ndarray
    has_size: np.ndarray


def decode(data: bytes, starts: np.ndarray, ends: np.ndarray, first_space: np.ndarray) -> Layout:
    """Decode every line ``[starts[i], ends[i])`` of ``data`` (``ends`` excludes the line break).

    ``first_space`` is each line's first space offset (relative; -1 for none): the host's end.
    """
    buf = np.concatenate([np.frombuffer(data, np.uint8), np.full(PAD, 10, np.uint8)])
    n = len(starts)
    quotes, brackets = (np.flatnonzero(buf[: len(data)] == ord(c)) for c in '"[')
    q_first = np.searchsorted(quotes, starts)
    n_quotes = np.searchsorted(quotes, ends) - q_first
    combined = n_quotes == 6
    ok = (n_quotes == 2) | combined
    # offsets are in bytes and text is sliced in characters: non-ASCII lines take the careful path
    non_ascii = np.flatnonzero(buf[: len(data)] >= 128)
    ok &= np.searchsorted(non_ascii, ends) == np.searchsorted(non_ascii, starts)
    q = [quotes[np.minimum(q_first + k, len(quotes) - 1)] if len(quotes) else np.zeros(n, np.int64)
         for k in range(6)]

    bracket = brackets[np.minimum(np.searchsorted(brackets, starts), max(len(brackets) - 1, 0))] \
        if len(brackets) else np.full(n, -1)
    ok &= (bracket >= starts) & (bracket + 29 < ends) & (bracket + 29 == q[0])
    host_end = starts + first_space
    ok &= (first_space > 0) & (buf[bracket + 27] == ord("]")) & (buf[bracket + 28] == ord(" "))
    simple_ident = (bracket - host_end == 5) & np.all(
        [buf[bracket - k] == ord(c) for k, c in zip(range(4, 0, -1), "- - ", strict=True)], axis=0)

    stamp = _window(buf, np.where(ok, bracket + 1, 0), 26)
    epoch, offset, stamp_ok = _timestamp(stamp)
    ok &= stamp_ok

    tail = _window(buf, np.where(ok, q[1], 0), 7)  # '" sss ' then the size
    digits = tail.astype(np.int64) - 48
    status = digits[:, 2] * 100 + digits[:, 3] * 10 + digits[:, 4]
    ok &= (tail[:, 1] == 32) & (tail[:, 5] == 32) & _all_digits(digits[:, 2:5]) \
        & (status >= 100) & (status <= 599)
    line_end = np.where(buf[np.maximum(ends - 1, 0)] == 13, ends - 1, ends)  # drop a '\r'
    size_end = np.where(combined, q[2] - 1, line_end)
    n_size = size_end - (q[1] + 6)
    dash = (tail[:, 6] == ord("-")) & (n_size == 1)
    size, size_ok = _number_ending_at(buf, np.where(ok, size_end, _SIZE_WIDTH), n_size)
    has_size = size_ok & (n_size > 0)
    ok &= (has_size | dash) & (n_size < _SIZE_WIDTH)
    combined_ok = (buf[size_end] == 32) & (q[4] == q[3] + 2) & (buf[q[3] + 1] == 32) & (q[5] + 1 == line_end)
    ok &= ~combined | combined_ok
    return Layout(
        ok=ok & simple_ident, check_ident=ok & ~simple_ident, host_end=host_end - starts,
        request=(q[0] + 1 - starts, q[1] - starts),
        referrer=(q[2] + 1 - starts, q[3] - starts), agent=(q[4] + 1 - starts, q[5] - starts),
        combined=combined, epoch_s=epoch, offset_min=offset, status=status, size=size,
        has_size=has_size & ~dash,
    )


def _timestamp(stamp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Epoch seconds (UTC), offset in minutes and validity of ``dd/Mon/yyyy:HH:MM:SS ±hhmm`` rows.

    Logs are in time order, so consecutive lines mostly share everything but the seconds: the
    rest is decoded once per run of equal prefixes and spread over the run.
    """
    n = len(stamp)
    key = np.concatenate([stamp[:, :18], stamp[:, 20:]], axis=1)
    changed = np.ones(n, bool)
    changed[1:] = (key[1:] != key[:-1]).any(axis=1)
    first = np.flatnonzero(changed)
    run = np.cumsum(changed) - 1
    minute, offset, prefix_ok = (v[run] for v in _minute_prefix(stamp[first]))
    seconds = stamp[:, 18:20].astype(np.int64) - 48
    seconds_ok = ((seconds >= 0) & (seconds <= 9)).all(axis=1)
    ss = seconds[:, 0] * 10 + seconds[:, 1]
    return minute + ss, offset, prefix_ok & seconds_ok & (ss < 61)


def _minute_prefix(stamp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Epoch of the minute (UTC), offset and validity of each row, seconds ignored."""
    d = stamp.astype(np.int64) - 48

    def number(*columns: int) -> np.ndarray:
        value = np.zeros(len(stamp), np.int64)
        for k in columns:
            value = value * 10 + d[:, k]
        return value

    numeric = _all_digits(d[:, [0, 1, 7, 8, 9, 10, 12, 13, 15, 16, 22, 23, 24, 25]])
    separators = np.all([stamp[:, k] == ord(c) for k, c in _STAMP_SEPARATORS.items()], axis=0)
    sign = stamp[:, 21]
    day, year, hh, mm = (number(*c) for c in ((0, 1), (7, 8, 9, 10), (12, 13), (15, 16)))
    offset = number(22, 23) * 60 + number(24, 25)
    offset = np.where(sign == ord("-"), -offset, offset)
    key = (stamp[:, 3].astype(np.int64) << 16) | (stamp[:, 4].astype(np.int64) << 8) | stamp[:, 5]
    slot = np.clip(np.searchsorted(_MONTH_KEYS, key), 0, 11)
    month = _MONTH_OF_KEY[slot]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _DAYS_IN_MONTH[month] - ((month == 2) & ~leap)
    ok = (numeric & separators & ((sign == ord("+")) | (sign == ord("-"))) & (_MONTH_KEYS[slot] == key)
          & (day >= 1) & (day <= month_days) & (hh < 24) & (mm < 60) & (year >= 1970)
          & (np.abs(offset) <= 18 * 60))
    epoch = days_from_civil(year, month, day) * 86400 + hh * 3600 + mm * 60 - offset * 60
    return epoch, offset, ok


def days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm), vectorised.

    Examples
    --------
    >>> days_from_civil(np.array([1970, 2000]), np.array([1, 3]), np.array([1, 1])).tolist()
    [0, 11017]
    """
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _window(buf: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """Rows of ``width`` bytes starting at each offset in ``at``."""
    return np.lib.stride_tricks.sliding_window_view(buf, width)[np.clip(at, 0, len(buf) - width)]


def _all_digits(d: np.ndarray) -> np.ndarray:
    return ((d >= 0) & (d <= 9)).all(axis=1)


def _number_ending_at(buf: np.ndarray, end: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Value of the ``length`` bytes before ``end`` read as a decimal number, and whether they are
    all digits (right-aligned windows: the last digit always sits in the last column)."""
    d = _window(buf, end - _SIZE_WIDTH, _SIZE_WIDTH).astype(np.float64) - 48
    inside = length[:, None] > _FROM_RIGHT
    ok = (((d >= 0) & (d <= 9)) | ~inside).all(axis=1)
    return (np.where(inside, d, 0.0) @ _POWERS).astype(np.int64), ok  # exact: < 2**53
