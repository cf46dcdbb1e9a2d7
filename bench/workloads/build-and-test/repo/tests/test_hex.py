import random

import pytest

import codec

from .conftest import scaled, vendored


@pytest.mark.parametrize("raw, encoded", vendored("rfc4648-vectors")["base16"])
def test_vectors(raw, encoded):
    assert codec.hexlify(raw.encode()) == encoded
    assert codec.unhexlify(encoded.upper()) == raw.encode()


def test_round_trips():
    rng = random.Random(5)
    for _ in range(scaled(3000)):
        data = rng.randbytes(rng.randrange(0, 100))
        assert codec.hexlify(data) == data.hex()
        assert codec.unhexlify(codec.hexlify(data)) == data


@pytest.mark.parametrize("bad", ["abc", "zz", "0g"])
def test_bad_input(bad):
    with pytest.raises(ValueError):
        codec.unhexlify(bad)
