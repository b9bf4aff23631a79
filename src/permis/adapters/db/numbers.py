"""Opposition list numbers packed as sorted int64 blocks (see ``schema.opposition_blocks``).

A phone number is stored as the integer of its E.164 digits (``+33612345678`` → 33612345678:
at most 15 digits, so it fits an int64). A snapshot's numbers are sorted, de-duplicated and cut
into blocks of :data:`BLOCK` numbers, each packed little-endian into one binary value.

- A single check reads the one block whose range may hold the number and bisects it: one
  indexed row, no Polars (the gate's process must start fast).
- A scrub reads every block of a snapshot and views the bytes as one Arrow int64 array.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

BLOCK = 4096
Block = tuple[int, int, int, bytes]  # first number, last number, count, packed numbers


def to_int(e164: str) -> int | None:
    """``+33612345678`` → 33612345678; None for anything that is not ``+`` and digits."""
    digits = e164[1:]
    if not e164.startswith("+") or not digits.isdigit() or len(digits) > 15:
        return None
    return int(digits)


def _little(values: array[int]) -> array[int]:
    if sys.byteorder != "little":  # pragma: no cover - every supported machine is little-endian
        values.byteswap()
    return values


def pack_blocks(numbers: Sequence[int]) -> Iterator[Block]:
    """Blocks of a sorted, de-duplicated sequence of numbers."""
    for start in range(0, len(numbers), BLOCK):
        chunk = numbers[start : start + BLOCK]
        yield chunk[0], chunk[-1], len(chunk), _little(array("q", chunk)).tobytes()


def pack_series(numbers: pl.Series) -> Iterator[Block]:
    """The same blocks from a sorted, unique Int64 Polars series, without Python integers."""
    data = numbers.rechunk().to_arrow()
    raw = data.buffers()[1]
    assert raw is not None and data.offset == 0 and data.null_count == 0
    body = raw.to_pybytes()[: 8 * len(numbers)]
    if sys.byteorder != "little":  # pragma: no cover
        body = _little(array("q", body)).tobytes()
    for start in range(0, len(numbers), BLOCK):
        end = min(start + BLOCK, len(numbers))
        yield int(numbers[start]), int(numbers[end - 1]), end - start, body[8 * start : 8 * end]


def unpack(data: bytes) -> array[int]:
    values = array("q")
    values.frombytes(data)
    return _little(values)


def block_holds(data: bytes | memoryview, number: int) -> bool:
    """Whether a packed block holds ``number``: a bisection over the bytes viewed as int64 in
    place (a block is 32 KB; copying it into an array was a measurable part of a check)."""
    if sys.byteorder == "little" and len(data) % 8 == 0:
        values: Sequence[int] = memoryview(data).cast("B").cast("q")
    else:  # pragma: no cover - every supported machine is little-endian
        values = unpack(bytes(data))
    index = bisect_left(values, number)
    return index < len(values) and values[index] == number


def series_from_blocks(blocks: Sequence[bytes], name: str = "number") -> pl.Series:
    """Every number of a snapshot's blocks (in order) as one Int64 series, zero-copy."""
    import polars as pl
    import pyarrow as pa

    body = b"".join(bytes(b) for b in blocks)
    if sys.byteorder != "little":  # pragma: no cover
        body = _little(array("q", body)).tobytes()
    arrow = pa.Array.from_buffers(pa.int64(), len(body) // 8, [None, pa.py_buffer(body)])
    return pl.Series(name, arrow)
