"""Just enough of PNG to read a screenshot's size and pixels (8-bit RGB or RGBA)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], len(SIGNATURE)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunks.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter_row(kind: int, line: bytearray, prev: bytearray, bpp: int) -> bytearray:
    if kind == 0:
        return line
    if kind == 2:  # up: no dependency along the row, so one pass over both
        return bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        if kind == 1:
            pred = left
        elif kind == 3:
            pred = (left + prev[i]) // 2
        else:
            pred = _paeth(left, prev[i], prev[i - bpp] if i >= bpp else 0)
        line[i] = (line[i] + pred) & 0xFF
    return line


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> list[bytes]:
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        pos = y * (stride + 1)
        prev = _unfilter_row(raw[pos], bytearray(raw[pos + 1 : pos + 1 + stride]), prev, bpp)
        rows.append(bytes(prev))
    return rows


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the rows of pixels (``bpp`` bytes each) of an 8-bit PNG."""
    data = path.read_bytes()
    if not data.startswith(SIGNATURE):
        raise ValueError(f"{path} is not a PNG")
    chunks = _chunks(data)
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    if depth != 8 or colour not in (2, 6):
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    return width, height, _unfilter(raw, width, height, 3 if colour == 2 else 4)


def colours(path: Path, step: int = 7) -> set[bytes]:
    """The distinct colours of a sample of the pixels (every ``step``-th, row and column)."""
    width, _, rows = read_png(path)
    bpp = len(rows[0]) // width
    return {row[x * bpp : x * bpp + 3] for row in rows[::step] for x in range(0, width, step)}
