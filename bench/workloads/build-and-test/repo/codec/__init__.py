"""Python bindings of libcodec (``make build`` first: it builds build/libcodec.so)."""

from __future__ import annotations

import ctypes
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "build" / "libcodec.so"


def _load() -> ctypes.CDLL:
    if not LIBRARY.exists():
        raise ImportError(f"{LIBRARY} is missing: run `make build`")
    lib = ctypes.CDLL(str(LIBRARY))
    size, u8p, cp = ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint8), ctypes.c_char_p
    lib.b64_encoded_len.argtypes, lib.b64_encoded_len.restype = [size], size
    lib.b64_encode.argtypes, lib.b64_encode.restype = [cp, size, cp, ctypes.c_int], size
    lib.b64_decode.argtypes, lib.b64_decode.restype = [cp, size, u8p, ctypes.c_int], ctypes.c_long
    lib.crc32_update.argtypes, lib.crc32_update.restype = [ctypes.c_uint32, cp, size], ctypes.c_uint32
    lib.hex_encode.argtypes, lib.hex_encode.restype = [cp, size, cp], size
    lib.hex_decode.argtypes, lib.hex_decode.restype = [cp, size, u8p], ctypes.c_long
    return lib


_lib = _load()


def b64encode(data: bytes, *, url: bool = False) -> str:
    out = ctypes.create_string_buffer(_lib.b64_encoded_len(len(data)) + 1)
    n = _lib.b64_encode(data, len(data), out, int(url))
    return out.raw[:n].decode("ascii")


def b64decode(text: str, *, url: bool = False) -> bytes:
    raw = text.encode("ascii")
    out = (ctypes.c_uint8 * (len(raw) * 3 // 4 + 3))()
    n = _lib.b64_decode(raw, len(raw), out, int(url))
    if n < 0:
        raise ValueError(f"not base64{'url' if url else ''}: {text[:40]!r}")
    return bytes(out[:n])


def crc32(data: bytes, crc: int = 0) -> int:
    return int(_lib.crc32_update(crc, data, len(data)))


def hexlify(data: bytes) -> str:
    out = ctypes.create_string_buffer(2 * len(data) + 1)
    n = _lib.hex_encode(data, len(data), out)
    return out.raw[:n].decode("ascii")


def unhexlify(text: str) -> bytes:
    raw = text.encode("ascii")
    out = (ctypes.c_uint8 * (len(raw) // 2 + 1))()
    n = _lib.hex_decode(raw, len(raw), out)
    if n < 0:
        raise ValueError(f"not hex: {text[:40]!r}")
    return bytes(out[:n])
