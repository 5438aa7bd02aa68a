"""Stream a text file (plain or gzip) as chunks of whole lines, with line numbers.

Files of any size are read in fixed-size chunks; each chunk ends at a line break (the last chunk
may end without one: a cut last line). Encoding problems that make a file unusable (binary
content, UTF-16, truncated gzip) raise :class:`~fleetcast.errors.InputError` naming the file.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from fleetcast.errors import InputError

try:  # the C fast path (fleetcast/ingest/_clf.c), built by `pip install` where there is a compiler
    from fleetcast.ingest import _clf as NATIVE
except ImportError:  # e.g. the pure-Python Lambda layer: NumPy and Polars do the same, slower
    NATIVE = None

CHUNK_BYTES = 8 << 20
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class Chunk:
    """Whole lines of a file: ``data`` holds them with their line breaks.

    ``line_ends`` are the offsets of the ``\\n`` bytes; a last line without one ends at ``len(data)``.
    ``first_line`` is the 1-based number of the first line in the file.
    """

    data: bytes | memoryview
    line_ends: np.ndarray
    first_line: int

    @property
    def ends_with_break(self) -> bool:
        return self.data[-1:] == b"\n"

    @property
    def n_lines(self) -> int:
        return len(self.line_ends) + (0 if self.ends_with_break or not len(self.data) else 1)


def head_bytes(path: Path, n: int = 64 << 10) -> bytes:
    """The first ``n`` bytes of a file, decompressed when it is gzip."""
    with open_binary(path) as fh:
        try:
            return fh.read(n)
        except (EOFError, OSError, zlib.error) as exc:
            raise InputError(f"broken gzip ({exc})", path=str(path)) from None


def open_binary(path: Path) -> BinaryIO:
    """Open ``path`` for reading, transparently decompressing gzip."""
    with open(path, "rb") as raw:
        magic = raw.read(2)
    if magic == GZIP_MAGIC:
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


_OTHER_FORMATS = {
    b"PK\x03\x04": "is a zip archive (or an Excel workbook): unzip it or export the sheet as CSV",
    b"BZh": "is bzip2-compressed: decompress it or recompress with gzip",
    b"\xfd7zXZ": "is xz-compressed: decompress it or recompress with gzip",
    b"\x28\xb5\x2f\xfd": "is zstd-compressed: decompress it or recompress with gzip",
}


def check_text(path: Path, head: bytes) -> None:
    """Raise when the start of a file shows it is not UTF-8 (or ASCII) text."""
    for magic, problem in _OTHER_FORMATS.items():
        if head.startswith(magic):
            raise InputError(f"file {problem}", path=str(path))
    if not head.strip():
        raise InputError("file is empty", path=str(path))
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("file is UTF-16 encoded; convert it to UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)",
                         path=str(path))
    if head.startswith(PARQUET_MAGIC):
        return
    sample = head[:8192]
    if b"\x00" in sample:
        raise InputError("file is binary, not text (it contains NUL bytes)", path=str(path))
    undecodable = len(sample) - len(sample.decode("utf-8", "ignore").encode("utf-8"))
    if undecodable > 0.3 * len(sample):
        raise InputError("file is not UTF-8 text (most bytes are not valid characters)", path=str(path))


def read_blocks(path: Path, block_bytes: int = CHUNK_BYTES) -> Iterator[memoryview]:
    """Yield the file's bytes in blocks of whole lines (the last block may lack a final ``\\n``).

    Each block is a fresh buffer, so it can be handed to another thread while the next is read.
    """
    rest = b""
    with open_binary(path) as fh:
        while True:
            buf = bytearray(block_bytes + len(rest))
            buf[: len(rest)] = rest
            try:
                n = fh.readinto(memoryview(buf)[len(rest):])
            except EOFError:
                raise InputError("gzip file is truncated (it ends before its end-of-stream marker)",
                                 path=str(path)) from None
            except (OSError, zlib.error) as exc:
                raise InputError(f"broken gzip ({exc})", path=str(path)) from None
            size = len(rest) + n
            if n == 0:
                break
            cut = buf.rfind(b"\n", 0, size) + 1
            if cut == 0:
                rest = bytes(buf[:size])
                continue
            rest = bytes(buf[cut:size])
            yield memoryview(buf)[:cut]
    if rest:
        yield memoryview(rest)


def read_chunks(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Chunk]:
    """Yield the file's lines in chunks of whole lines, numbered from 1.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.log"
    >>> _ = p.write_bytes(b"one\\ntwo\\nthree")
    >>> [(c.first_line, c.n_lines) for c in read_chunks(p)]
    [(1, 2), (3, 1)]
    """
    line_no = 1
    for block in read_blocks(path, chunk_bytes):
        chunk = make_chunk(block, line_no)
        line_no += chunk.n_lines
        yield chunk


def make_chunk(block: bytes | memoryview, first_line: int = 1) -> Chunk:
    """Index the lines of a block of whole lines (invalid UTF-8 is replaced when lines are parsed).

    Examples
    --------
    >>> make_chunk(b"one\\ntwo\\nthree", first_line=5).line_ends.tolist()
    [3, 7]
    """
    if NATIVE is not None:
        line_ends = np.frombuffer(NATIVE.line_ends(block), np.int64)
    else:
        line_ends = np.flatnonzero(np.frombuffer(block, np.uint8) == 10)
    return Chunk(data=block, line_ends=line_ends, first_line=first_line)  # not copied
