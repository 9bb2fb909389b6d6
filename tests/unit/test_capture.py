"""Capture: records, marks, filters, thread safety and the text log."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from conformance.net.capture import Capture, TextLogWriter, format_record, write_text_log

A = ("127.0.0.1", 5060)
B = ("127.0.0.1", 5070)


def _clock() -> float:
    return 1_700_000_000.25


def test_records_keep_bytes_addresses_and_order() -> None:
    cap = Capture(clock=_clock)
    r1 = cap.record(direction="out", transport="udp", protocol="sip", src=A, dst=B, data=b"x")
    r2 = cap.record(direction="in", transport="udp", protocol="sip", src=B, dst=A, data=b"y")
    assert cap.records == [r1, r2]
    assert (r1.index, r2.index) == (0, 1)
    assert r1.local == A and r1.remote == B
    assert r2.local == A and r2.remote == B
    assert r1.timestamp == 1_700_000_000.25


def test_mark_since_and_filters() -> None:
    cap = Capture()
    cap.record(direction="out", transport="udp", protocol="sip", src=A, dst=B, data=b"old")
    m = cap.mark()
    cid = cap.open_connection(protocol="msrp", local=A, remote=B, outgoing=True)
    cap.record(
        direction="out", transport="tcp", protocol="msrp", src=A, dst=B, data=b"m", connection=cid
    )
    cap.record(direction="in", transport="udp", protocol="sip", src=B, dst=A, data=b"s")
    assert [r.data for r in cap.since(m)] == [b"m", b"s"]
    assert [r.data for r in cap.since(m, protocol="sip")] == [b"s"]
    assert [r.data for r in cap.filter(direction="out")] == [b"old", b"m"]
    assert [r.data for r in cap.filter(transport="tcp")] == [b"m"]
    assert [r.data for r in cap.filter(address=B, protocol="sip")] == [b"old", b"s"]
    assert cap.filter(address=("127.0.0.1", 1)) == []
    info = cap.connection(cid)
    assert info is not None and info.client == A and info.server == B
    cap.close_connection(cid)
    closed = cap.connection(cid)
    assert closed is not None and closed.closed_at is not None


def test_ipv6_socket_address_is_normalised() -> None:
    cap = Capture()
    rec = cap.record(
        direction="in",
        transport="udp",
        protocol=None,
        src=("::1", 9, 0, 0),
        dst=("::1", 8),
        data=b"",
    )
    assert rec.src == ("::1", 9)


def test_concurrent_writers_lose_nothing() -> None:
    cap = Capture()

    def writer(n: int) -> None:
        for i in range(500):
            cap.record(
                direction="out",
                transport="udp",
                protocol="sip",
                src=A,
                dst=B,
                data=f"{n}-{i}".encode(),
            )

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recs = cap.records
    assert len(recs) == 2000
    assert [r.index for r in recs] == list(range(2000))
    assert len({r.data for r in recs}) == 2000


def test_text_log(tmp_path: Path) -> None:
    cap = Capture(clock=_clock)
    stream = io.StringIO()
    live = TextLogWriter(cap, stream)
    rec = cap.record(
        direction="out",
        transport="udp",
        protocol="sip",
        src=A,
        dst=B,
        data=b"OPTIONS sip:b SIP/2.0\r\n\r\n",
    )
    live.close()
    cap.record(direction="in", transport="udp", protocol="sip", src=B, dst=A, data=b"late")
    text = format_record(rec)
    assert "2023-11-14T22:13:20.250000Z out udp sip 127.0.0.1:5060 -> 127.0.0.1:5070" in text
    assert "OPTIONS sip:b SIP/2.0\n" in text
    assert stream.getvalue() == text
    path = write_text_log(cap.records, tmp_path / "log.txt")
    content = path.read_text()
    assert "OPTIONS sip:b" in content and "late" in content
