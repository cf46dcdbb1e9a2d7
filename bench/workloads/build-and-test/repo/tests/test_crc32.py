import random
import zlib

import codec

from .conftest import scaled, vendored


def test_check_value():
    cat = vendored("crc-catalogue")["crc32"]
    assert codec.crc32(cat["input"].encode()) == int(cat["check"], 16)


def test_catalogue_samples():
    for text, expected in vendored("crc-catalogue")["samples"]:
        assert codec.crc32(text.encode()) == int(expected, 16)


def test_matches_zlib():
    rng = random.Random(3)
    for _ in range(scaled(3000)):
        data = rng.randbytes(rng.randrange(0, 400))
        assert codec.crc32(data) == zlib.crc32(data)


def test_incremental():
    rng = random.Random(4)
    data = rng.randbytes(scaled(2_000_000))
    crc = 0
    for i in range(0, len(data), 65536):
        crc = codec.crc32(data[i:i + 65536], crc)
    assert crc == zlib.crc32(data)
