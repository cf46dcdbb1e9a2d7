"""The gateway's use: tokens of the auth service, and checksums of uploads streamed from
an upstream (a stand-in that sends in chunks, with its delay between them)."""

import socket
import threading
import time
import zlib

import codec

from .conftest import SCALE, vendored

CHUNK_DELAY_S = 0.04 * SCALE


def test_tokens_of_the_auth_service():
    for raw_hex, token in vendored("gateway-tokens")["tokens"]:
        assert codec.b64decode(token, url=True).hex() == raw_hex


def _serve(sock: socket.socket, payload: bytes, chunk: int) -> None:
    with sock:
        for i in range(0, len(payload), chunk):
            sock.sendall(payload[i:i + chunk])
            time.sleep(CHUNK_DELAY_S)


def test_streamed_upload_checksum():
    payload = bytes(range(256)) * 256  # 64 KiB
    server, client = socket.socketpair()
    sender = threading.Thread(target=_serve, args=(server, payload, 1024))
    sender.start()
    crc, size = 0, 0
    with client:
        while data := client.recv(4096):
            crc = codec.crc32(data, crc)
            size += len(data)
    sender.join()
    assert size == len(payload) and crc == zlib.crc32(payload)


def test_token_round_trip_through_hex():
    for raw_hex, token in vendored("gateway-tokens")["tokens"][:5]:
        raw = codec.unhexlify(raw_hex)
        assert codec.b64encode(raw, url=True) == token
