"""Number the lines of a text file read by Spark, and place them in the local reader's chunks.

Spark reads a large file in splits, in parallel. A line's number is the lines before its split plus its
position in the split: :func:`raw_lines` tags every line with its split's byte offset
(``input_file_block_start``) and a per-partition counter (``monotonically_increasing_id``), both taken in
the scan itself, and :func:`number_lines` turns them into 1-based file line numbers and byte offsets.

The local reader parses a file in chunks of ``CHUNK_BYTES`` (:func:`fleetcast.ingest.reader.read_blocks`):
a chunk holds the lines whose line break falls in one ``CHUNK_BYTES`` window, and a last line without a
line break is a chunk of its own. Split lines are only repaired inside a chunk, so the chunk of every line
is computed here too, from the byte offsets.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from fleetcast.ingest.reader import CHUNK_BYTES

CUT_CHUNK = -1  # the chunk of a last line without a line break


def raw_lines(spark: SparkSession, uri: str) -> DataFrame:
    """The lines of a text file (split on ``\\n`` only; gzip by the ``.gz`` suffix), tagged for numbering.

    Columns: ``value`` (the line's bytes, ``\\r`` kept), ``block`` (byte offset of its split), ``row``
    (a counter that grows along the file within a partition).
    """
    return spark.read.option("lineSep", "\n").text(uri).select(
        "value", F.input_file_block_start().alias("block"), F.monotonically_increasing_id().alias("row"))


def number_lines(raw: DataFrame, total_bytes: int | None = None, chunk_bytes: int = CHUNK_BYTES) -> DataFrame:
    """Lines as ``line`` (1-based), ``text`` (UTF-8, invalid bytes as U+FFFD), ``chunk``, ``cut``.

    ``total_bytes`` is the (decompressed) size of the file: when the lines and their line breaks add up
    to one byte more, the last line has no line break (``cut``) and is a chunk of its own, as locally.

    Examples
    --------
    >>> raw = spark.createDataFrame([(b"a", 0, 0), (b"b", 0, 1)], "value binary, block long, row long")
    >>> [tuple(r) for r in number_lines(raw, total_bytes=3).collect()]  # doctest: +SKIP
    [(1, 'a', 0, False), (2, 'b', -1, True)]
    """
    size = F.octet_length("value") + 1  # the line and its line break
    blocks = raw.groupBy("block").agg(F.count(F.lit(1)).alias("n"), F.sum(size).alias("nbytes"),
                                      F.min("row").alias("first_row"))
    before = Window.orderBy("block").rowsBetween(Window.unboundedPreceding, -1)
    blocks = blocks.select(
        "block", "first_row",
        F.coalesce(F.sum("n").over(before), F.lit(0)).alias("lines_before"),
        F.coalesce(F.sum("nbytes").over(before), F.lit(0)).alias("bytes_before"))
    upto = Window.partitionBy("block").orderBy("row").rowsBetween(Window.unboundedPreceding, 0)
    lines = raw.join(F.broadcast(blocks), "block").select(
        (F.col("lines_before") + F.col("row") - F.col("first_row") + 1).alias("line"),
        utf8_as_python(F.col("value").cast("binary")).alias("text"),
        (F.col("bytes_before") + F.sum(size).over(upto) - 1).alias("newline_at"))
    cut = F.lit(False) if total_bytes is None else F.col("newline_at") >= F.lit(total_bytes)
    return lines.select(
        "line", "text",
        F.when(cut, F.lit(CUT_CHUNK)).otherwise(F.expr(f"newline_at div {int(chunk_bytes)}")).alias("chunk"),
        cut.alias("cut"))


def utf8_as_python(data: Column) -> Column:
    """Bytes decoded as UTF-8 with invalid bytes replaced exactly as Python's ``bytes.decode("utf-8", "replace")``.

    Java's decoder replaces a UTF-16 surrogate encoded in UTF-8 (``ED A0..BF xx``) with one U+FFFD where
    Python writes one per byte. Python's rule (``ED`` is an invalid start when a byte in ``A0..BF``
    follows; each stray continuation byte is one U+FFFD) is applied first: that ``ED`` becomes the bytes
    of U+FFFD (through ISO-8859-1, which maps bytes to characters one to one), and Java's decoder then
    replaces the stray continuation bytes one by one, as Python does.
    """
    latin1 = F.decode(data, "ISO-8859-1")
    fixed = F.regexp_replace(latin1, "\u00ED(?=[\u00A0-\u00BF])", "\u00EF\u00BF\u00BD")
    return F.decode(F.encode(fixed, "ISO-8859-1"), "UTF-8")


def lines_from_text(spark: SparkSession, text: str | bytes, chunk_bytes: int = CHUNK_BYTES) -> DataFrame:
    """Numbered lines of an in-memory text, as :func:`number_lines` gives them (for tests and examples)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts = parts[:-1]
    rows = [(bytearray(p), 0, i) for i, p in enumerate(parts)]
    raw = spark.createDataFrame(rows, "value binary, block long, row long")
    return number_lines(raw, total_bytes=len(data), chunk_bytes=chunk_bytes)
