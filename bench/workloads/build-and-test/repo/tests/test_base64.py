import base64
import random

import pytest

import codec

from .conftest import scaled, vendored


@pytest.mark.parametrize("raw, encoded", vendored("rfc4648-vectors")["base64"])
def test_rfc4648_vectors(raw, encoded):
    assert codec.b64encode(raw.encode()) == encoded
    assert codec.b64decode(encoded) == raw.encode()


def test_padding_is_optional():
    assert codec.b64decode("Zm9vYg") == b"foob"


@pytest.mark.parametrize("bad", ["Zm9v!", "Z", "Zm9v Yg=="])
def test_bad_input(bad):
    with pytest.raises(ValueError):
        codec.b64decode(bad)


def test_url_alphabet_has_no_plus_or_slash():
    data = bytes([0xFB, 0xFF, 0xBF]) * 5
    assert codec.b64encode(data) == base64.b64encode(data).decode()
    assert codec.b64encode(data, url=True) == base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_standard_round_trips():
    rng = random.Random(1)
    for _ in range(scaled(4000)):
        data = rng.randbytes(rng.randrange(0, 200))
        encoded = codec.b64encode(data)
        assert encoded == base64.b64encode(data).decode()
        assert codec.b64decode(encoded) == data


def test_url_round_trips():
    rng = random.Random(2)
    for _ in range(scaled(4000)):
        data = rng.randbytes(rng.randrange(0, 200))
        assert codec.b64decode(codec.b64encode(data, url=True), url=True) == data
