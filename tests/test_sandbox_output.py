"""A command's output on the host: bounded streaming, head and tail kept."""

from __future__ import annotations

import asyncio
import socket
import struct

from asyncfc_agent.sandboxes.channel import MAX_LINE, Channel
from asyncfc_agent.sandboxes.output import OutputBuffer


def test_small_output_passes_through_whole() -> None:
    streamed: list[str] = []
    buf = OutputBuffer(100, streamed.append)
    buf.feed("hello ")
    buf.feed("world\n")
    buf.finish()
    assert buf.text() == ("hello world\n", False)
    assert "".join(streamed) == "hello world\n"


def test_flood_keeps_head_and_tail_and_streams_a_bounded_amount() -> None:
    streamed: list[str] = []
    buf = OutputBuffer(100, streamed.append)
    buf.feed("H" * 50)
    for _ in range(1000):
        buf.feed("m" * 1000)
    buf.feed("T" * 70)
    buf.finish()
    text, truncated = buf.text()
    assert truncated
    # 40 characters of head, 60 of tail, and the count of the 1000080 between
    assert text == "H" * 40 + "\n[... 1000020 characters cut ...]\n" + "T" * 60
    shown = "".join(streamed)
    assert shown.startswith("H" * 50 + "m" * 50)  # the first 100 as they came
    assert shown.endswith("\n[... 999960 characters cut ...]\n" + "T" * 60)


def test_bytes_cut_upstream_are_counted() -> None:
    buf = OutputBuffer(100, None)
    buf.feed("a" * 40)
    buf.skip(5000)
    buf.feed("z" * 60)
    assert buf.text() == ("a" * 40 + "\n[... 5000 characters cut ...]\n" + "z" * 60, True)


def _frame(payload: bytes) -> bytes:
    return struct.pack(">BxxxL", 1, len(payload)) + payload


async def test_a_line_without_end_is_dropped_and_the_stream_goes_on() -> None:
    ours, theirs = socket.socketpair()
    channel = Channel(ours)
    flood = b"x" * (64 << 10)

    def write() -> None:
        for _ in range((MAX_LINE // len(flood)) * 3):  # three times the longest line
            theirs.sendall(_frame(flood))
        theirs.sendall(_frame(b'\n{"ev": "ready", "pid": 1, "shell": "/bin/sh"}\n'))

    writer = asyncio.create_task(asyncio.to_thread(write))
    info = await channel.open(60)
    await writer
    assert info["pid"] == 1 and not channel.lost
    channel.close()
    theirs.close()
