"""pcap writer: file header, IPv4/UDP/TCP headers, checksums and TCP sequence numbers."""

from __future__ import annotations

import struct
from pathlib import Path

from conformance.net.capture import Capture
from conformance.net.pcap import LINKTYPE_RAW, MAX_PAYLOAD, pcap_bytes, write_pcap

C = ("127.0.0.1", 40000)
S = ("127.0.0.1", 5060)


def _packets(data: bytes) -> list[tuple[float, bytes]]:
    magic, major, minor, _, _, _, linktype = struct.unpack("<IHHiIII", data[:24])
    assert (magic, major, minor, linktype) == (0xA1B2C3D4, 2, 4, LINKTYPE_RAW)
    out = []
    pos = 24
    while pos < len(data):
        sec, usec, caplen, length = struct.unpack("<IIII", data[pos : pos + 16])
        assert caplen == length
        out.append((sec + usec / 1e6, data[pos + 16 : pos + 16 + caplen]))
        pos += 16 + caplen
    return out


def _sum16(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _check_ipv4(pkt: bytes) -> tuple[int, bytes, bytes]:
    assert pkt[0] == 0x45
    assert _sum16(pkt[:20]) == 0xFFFF
    total = struct.unpack("!H", pkt[2:4])[0]
    assert total == len(pkt)
    proto = pkt[9]
    payload = pkt[20:]
    pseudo = pkt[12:20] + struct.pack("!BBH", 0, proto, len(payload))
    assert _sum16(pseudo + payload) == 0xFFFF  # transport checksum verifies
    return proto, pkt[12:16], payload


def test_udp_datagram() -> None:
    cap = Capture(clock=lambda: 1000.5)
    cap.record(direction="out", transport="udp", protocol="sip", src=C, dst=S, data=b"hello")
    [(ts, pkt)] = _packets(pcap_bytes(cap))
    assert ts == 1000.5
    proto, src, payload = _check_ipv4(pkt)
    assert proto == 17 and src == bytes([127, 0, 0, 1])
    sport, dport, length = struct.unpack("!HHH", payload[:6])
    assert (sport, dport, length) == (C[1], S[1], 13)
    assert payload[8:] == b"hello"


def _tcp(pkt: bytes) -> tuple[int, int, int, int, int, bytes]:
    proto, _, seg = _check_ipv4(pkt)
    assert proto == 6
    sport, _dport, seq, ack, off, flags = struct.unpack("!HHIIBB", seg[:14])
    return sport, seq, ack, flags, off >> 4, seg[(off >> 4) * 4 :]


def test_tcp_flow_has_handshake_and_consistent_sequence_numbers(tmp_path: Path) -> None:
    cap = Capture()
    cid = cap.open_connection(protocol="sip", local=S, remote=C, outgoing=False)  # C connected
    # the server speaks first, then the client, in odd sizes
    cap.record(
        direction="out", transport="tcp", protocol="sip", src=S, dst=C, data=b"abc", connection=cid
    )
    cap.record(
        direction="in", transport="tcp", protocol="sip", src=C, dst=S, data=b"12345", connection=cid
    )
    cap.record(
        direction="in", transport="tcp", protocol="sip", src=C, dst=S, data=b"6", connection=cid
    )
    cap.close_connection(cid)
    path = write_pcap(cap, tmp_path / "t.pcap")
    pkts = [_tcp(p) for _, p in _packets(path.read_bytes())]
    syn, synack, ack = pkts[:3]
    assert syn[0] == C[1] and syn[3] == 0x02
    assert synack[0] == S[1] and synack[3] == 0x12 and synack[2] == syn[1] + 1
    assert ack[0] == C[1] and ack[3] == 0x10 and ack[1] == syn[1] + 1 and ack[2] == synack[1] + 1
    d1, d2, d3 = pkts[3:6]
    assert d1[5] == b"abc" and d1[1] == synack[1] + 1 and d1[2] == syn[1] + 1
    assert d2[5] == b"12345" and d2[1] == syn[1] + 1 and d2[2] == d1[1] + 3
    assert d3[5] == b"6" and d3[1] == d2[1] + 5
    fins = pkts[6:]
    assert [f[3] & 0x01 for f in fins] == [1, 1, 0]
    # the last ACK acknowledges the peer's FIN
    assert fins[2][2] == fins[1][1] + 1


def test_large_segment_is_split() -> None:
    cap = Capture()
    cap.record(
        direction="out",
        transport="tcp",
        protocol="msrp",
        src=C,
        dst=S,
        data=b"x" * (MAX_PAYLOAD + 10),
    )
    pkts = [_tcp(p) for _, p in _packets(pcap_bytes(cap))]
    data = [p for p in pkts if p[5]]
    assert [len(p[5]) for p in data] == [MAX_PAYLOAD, 10]
    assert data[1][1] == data[0][1] + MAX_PAYLOAD
