"""MSRP framing throughput: build and parse a 1 MB message chunked at 2 KB.

Run: ``python benchmarks/msrp_framing.py [--repeat N]``. Prints MB/s (body bytes per second,
1 MB = 10**6 bytes) for building the chunks, serializing them, parsing the stream in
one piece and in 1460-byte TCP-sized segments, and reassembling the message.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from conformance.protocol.msrp import MsrpParser, MsrpRequest, Reassembled, Reassembler
from conformance.protocol.msrp.chunking import chunk_message
from conformance.protocol.msrp.uri import parse_uri

BODY_SIZE = 1024 * 1024
CHUNK = 2048
SEGMENT = 1460

TO = parse_uri("msrp://127.0.0.1:7002/bench-b;tcp")
FROM = parse_uri("msrp://127.0.0.1:7001/bench-a;tcp")


def best_of(repeat: int, func: object) -> float:
    assert callable(func)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    args_parser = argparse.ArgumentParser(description=__doc__)
    args_parser.add_argument("--repeat", type=int, default=5)
    args = args_parser.parse_args()
    body = os.urandom(BODY_SIZE)

    def build() -> list[MsrpRequest]:
        return chunk_message(TO, FROM, "bench", body, "message/cpim", CHUNK)

    chunks = build()
    stream = b"".join(c.to_bytes() for c in chunks)
    segments = [stream[i : i + SEGMENT] for i in range(0, len(stream), SEGMENT)]

    def serialize() -> bytes:
        return b"".join(c.to_bytes() for c in chunks)

    def parse_whole() -> None:
        items = MsrpParser().feed(stream)
        assert len(items) == len(chunks)

    def parse_segments() -> None:
        parser = MsrpParser()
        count = 0
        for segment in segments:
            count += len(parser.feed(segment))
        assert count == len(chunks)

    def reassemble() -> None:
        reassembler = Reassembler()
        result = None
        for chunk in chunks:
            result = reassembler.add(chunk)
        assert isinstance(result, Reassembled) and result.body == body

    print(
        f"MSRP framing: {BODY_SIZE} byte body in {len(chunks)} chunks of {CHUNK} bytes, "
        f"{len(stream)} bytes on the wire; best of {args.repeat}; "
        f"Python {platform.python_version()} on {platform.machine()}"
    )
    for name, func in [
        ("build chunks", build),
        ("serialize", serialize),
        ("parse (one feed)", parse_whole),
        (f"parse ({SEGMENT} B segments)", parse_segments),
        ("reassemble", reassemble),
    ]:
        seconds = best_of(args.repeat, func)
        print(f"  {name:28s} {BODY_SIZE / seconds / 1e6:8.1f} MB/s  ({seconds * 1e3:7.2f} ms)")


if __name__ == "__main__":
    main()
