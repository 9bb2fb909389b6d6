"""MSRP chunking and reassembly (RFC 4975 5.1, 7.1.1)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.protocol.msrp import (
    Aborted,
    ByteRange,
    MsrpParser,
    MsrpRequest,
    Reassembled,
    Reassembler,
    build_send,
    chunk_message,
    parse_uri,
)

A = parse_uri("msrp://a.example.com:7001/sa;tcp")
B = parse_uri("msrp://b.example.com:7002/sb;tcp")


def test_split_gives_ranges_flags_and_distinct_tids() -> None:
    body = bytes(range(256)) * 20  # 5120 bytes
    chunks = chunk_message(B, A, "msg1", body, "message/cpim", 2048, success_report="yes")
    assert [len(c.body) for c in chunks] == [2048, 2048, 1024]
    assert [c.byte_range for c in chunks] == [
        ByteRange(1, 2048, 5120),
        ByteRange(2049, 4096, 5120),
        ByteRange(4097, 5120, 5120),
    ]
    assert [c.flag for c in chunks] == ["+", "+", "$"]
    assert {c.message_id for c in chunks} == {"msg1"}
    assert len({c.tid for c in chunks}) == 3
    assert all(c.content_type == "message/cpim" and c.success_report == "yes" for c in chunks)
    assert b"".join(c.body for c in chunks) == body


def test_unknown_total_uses_star_until_the_last_chunk() -> None:
    chunks = chunk_message(B, A, "m", b"x" * 5, "text/plain", 2, total_known=False)
    assert [str(c.byte_range) for c in chunks] == ["1-2/*", "3-4/*", "5-5/5"]


def test_empty_message_is_one_empty_chunk() -> None:
    (chunk,) = chunk_message(B, A, "m", b"", None, 10)
    assert chunk.byte_range == ByteRange(1, 0, 0)
    assert chunk.is_keepalive
    assert Reassembler().add(chunk) == Reassembled("m", None, b"", (chunk,), (0,))


def test_bad_chunk_size_is_local_misuse() -> None:
    with pytest.raises(LocalProtocolError):
        chunk_message(B, A, "m", b"x", "text/plain", 0)


@settings(max_examples=100, deadline=None)
@given(
    st.binary(min_size=1, max_size=3000),
    st.integers(1, 700),
    st.randoms(use_true_random=False),
    st.booleans(),
)
def test_reassembly_in_any_order(
    body: bytes, size: int, rnd: random.Random, total_known: bool
) -> None:
    chunks = chunk_message(B, A, "m", body, "text/plain", size, total_known=total_known)
    order = list(chunks)
    rnd.shuffle(order)
    reassembler = Reassembler()
    results = [reassembler.add(c) for c in order]
    assert results[:-1] == [None] * (len(order) - 1)
    done = results[-1]
    assert isinstance(done, Reassembled)
    assert done.body == body
    assert done.content_type == "text/plain"
    assert done.chunk_sizes == tuple(len(c.body) for c in order)
    assert max(done.chunk_sizes) <= size
    assert reassembler.pending == ()
    assert reassembler.chunk_sizes("m") == done.chunk_sizes


def test_chunks_survive_the_wire() -> None:
    body = b"hello world, " * 500
    chunks = chunk_message(B, A, "m", body, "text/plain", 1000)
    parser = MsrpParser()
    parsed = parser.feed(b"".join(c.to_bytes() for c in chunks))
    assert parsed == chunks
    reassembler = Reassembler()
    results = [reassembler.add(c) for c in parsed if isinstance(c, MsrpRequest)]
    assert isinstance(results[-1], Reassembled) and results[-1].body == body


def test_abort() -> None:
    reassembler = Reassembler()
    first, second, _ = chunk_message(B, A, "m", b"abcdefghi", "text/plain", 3)
    assert reassembler.add(first) is None
    aborted = build_send(B, A, "m", b"def", "text/plain", ByteRange(4, None, 9), flag="#")
    result = reassembler.add(aborted)
    assert isinstance(result, Aborted)
    assert result.received == 6
    assert result.chunk_sizes == (3, 3)
    assert result.chunks == (first, aborted)
    assert reassembler.pending == ()
    assert second.message_id == "m"


def test_interleaved_messages() -> None:
    one = chunk_message(B, A, "one", b"1" * 10, "text/plain", 4)
    two = chunk_message(B, A, "two", b"2" * 10, "text/plain", 3)
    reassembler = Reassembler()
    done = {}
    for chunk in [x for pair in zip(one, two, strict=False) for x in pair] + two[len(one) :]:
        result = reassembler.add(chunk)
        if isinstance(result, Reassembled):
            done[result.message_id] = result.body
    assert done == {"one": b"1" * 10, "two": b"2" * 10}


def test_no_byte_range_means_a_whole_message() -> None:
    send = build_send(B, A, "m", b"abc", "text/plain").with_header("Byte-Range", None)
    result = Reassembler().add(send)
    assert isinstance(result, Reassembled) and result.body == b"abc"


@pytest.mark.parametrize(
    "chunks",
    [
        # total changes between chunks
        [("1-3/9", b"abc", "+"), ("4-6/10", b"def", "+")],
        # beyond the total
        [("1-3/4", b"abc", "+"), ("4-6/4", b"def", "$")],
        # range end does not match the body
        [("1-5/9", b"abc", "+")],
    ],
)
def test_inconsistent_chunks_are_remote_errors(chunks: list[tuple[str, bytes, str]]) -> None:
    reassembler = Reassembler()
    with pytest.raises(RemoteProtocolError):
        for brange, body, flag in chunks:
            reassembler.add(
                build_send(B, A, "m", body, "text/plain", ByteRange.parse(brange), flag)
            )
    assert reassembler.pending == ()


def test_missing_message_id_and_oversize() -> None:
    send = build_send(B, A, "m", b"abc", "text/plain").with_header("Message-ID", None)
    with pytest.raises(RemoteProtocolError):
        Reassembler().add(send)
    big = build_send(B, A, "m", b"abc", "text/plain", ByteRange(100, 102, 200), "+")
    with pytest.raises(RemoteProtocolError):
        Reassembler(max_message_size=50).add(big)


def test_only_sends_are_reassembled() -> None:
    report = MsrpRequest("abcd1234", "REPORT", ())
    with pytest.raises(LocalProtocolError):
        Reassembler().add(report)
