"""Write a :class:`~conformance.net.capture.Capture` as a classic pcap file.

The file uses LINKTYPE_RAW (101): each packet starts with an IPv4 (or IPv6) header.
UDP datagrams become IP/UDP packets; TCP segments become IP/TCP packets of a synthesized
flow:

- each TCP connection starts with a SYN, SYN-ACK, ACK handshake at its open time;
- sequence numbers advance by the payload length per direction, and each segment
  acknowledges everything the other side sent so far, so Wireshark reassembles streams;
- a closed connection ends with FIN/ACK from the side that saw the close;
- IPv4, UDP and TCP checksums are computed.

Segments larger than one IP packet can carry are split.
"""

from __future__ import annotations

import io
import ipaddress
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from conformance.net.capture import Capture, CaptureRecord, Endpoint, TcpConnectionInfo

LINKTYPE_RAW = 101
PCAP_MAGIC = 0xA1B2C3D4
SNAPLEN = 262144
#: payload bytes per synthesized IP packet (keeps the IPv4 total length below 65535)
MAX_PAYLOAD = 65000

_TCP_FIN = 0x01
_TCP_SYN = 0x02
_TCP_PSH = 0x08
_TCP_ACK = 0x10

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip(host: str) -> _IPAddress:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return ipaddress.IPv4Address("127.0.0.1")


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _pseudo_header(src: _IPAddress, dst: _IPAddress, proto: int, length: int) -> bytes:
    if src.version == 4:
        return src.packed + dst.packed + struct.pack("!BBH", 0, proto, length)
    return src.packed + dst.packed + struct.pack("!I3xB", length, proto)


def _ip_packet(src: _IPAddress, dst: _IPAddress, proto: int, payload: bytes, ident: int) -> bytes:
    if src.version != dst.version:  # mixed families: map both into IPv6
        src = ipaddress.IPv6Address(f"::ffff:{src}") if src.version == 4 else src
        dst = ipaddress.IPv6Address(f"::ffff:{dst}") if dst.version == 4 else dst
    if src.version == 4:
        header = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(payload),
            ident & 0xFFFF,
            0x4000,  # don't fragment
            64,
            proto,
            0,
            src.packed,
            dst.packed,
        )
        csum = _checksum(header)
        header = header[:10] + struct.pack("!H", csum) + header[12:]
        return header + payload
    header = struct.pack("!IHBB16s16s", 6 << 28, len(payload), proto, 64, src.packed, dst.packed)
    return header + payload


def _udp_packet(src: Endpoint, dst: Endpoint, data: bytes, ident: int) -> bytes:
    sip, dip = _ip(src[0]), _ip(dst[0])
    length = 8 + len(data)
    header = struct.pack("!HHHH", src[1], dst[1], length, 0)
    csum = _checksum(_pseudo_header(sip, dip, 17, length) + header + data) or 0xFFFF
    header = header[:6] + struct.pack("!H", csum)
    return _ip_packet(sip, dip, 17, header + data, ident)


def _tcp_packet(
    src: Endpoint, dst: Endpoint, seq: int, ack: int, flags: int, data: bytes, ident: int
) -> bytes:
    sip, dip = _ip(src[0]), _ip(dst[0])
    header = struct.pack(
        "!HHIIBBHHH",
        src[1],
        dst[1],
        seq & 0xFFFFFFFF,
        ack & 0xFFFFFFFF,
        5 << 4,
        flags,
        65535,
        0,
        0,
    )
    csum = _checksum(_pseudo_header(sip, dip, 6, len(header) + len(data)) + header + data)
    header = header[:16] + struct.pack("!H", csum) + header[18:]
    return _ip_packet(sip, dip, 6, header + data, ident)


@dataclass(slots=True)
class _Flow:
    client: Endpoint
    server: Endpoint
    #: next sequence number per sending endpoint
    next_seq: dict[Endpoint, int]
    finished: bool = False

    def ack_for(self, sender: Endpoint) -> int:
        other = self.server if sender == self.client else self.client
        return self.next_seq[other]


class PcapWriter:
    """Low-level pcap writer (microsecond timestamps, LINKTYPE_RAW)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._out = stream
        self._ident = 0
        self._out.write(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_RAW))

    def packet(self, timestamp: float, packet: bytes) -> None:
        seconds = int(timestamp)
        micros = round((timestamp - seconds) * 1_000_000)
        if micros >= 1_000_000:
            seconds, micros = seconds + 1, micros - 1_000_000
        caplen = min(len(packet), SNAPLEN)
        self._out.write(struct.pack("<IIII", seconds, micros, caplen, len(packet)))
        self._out.write(packet[:caplen])

    def next_ident(self) -> int:
        self._ident += 1
        return self._ident


class _CaptureToPcap:
    def __init__(self, writer: PcapWriter, capture: Capture) -> None:
        self.w = writer
        self.capture = capture
        self.flows: dict[int | frozenset[Endpoint], _Flow] = {}

    def udp(self, rec: CaptureRecord) -> None:
        for start in range(0, max(len(rec.data), 1), MAX_PAYLOAD):
            chunk = rec.data[start : start + MAX_PAYLOAD]
            self.w.packet(rec.timestamp, _udp_packet(rec.src, rec.dst, chunk, self.w.next_ident()))

    def _open(self, cid: int | None, rec: CaptureRecord) -> _Flow:
        info: TcpConnectionInfo | None = self.capture.connection(cid) if cid is not None else None
        if info is not None:
            client, server, ts = info.client, info.server, min(info.opened_at, rec.timestamp)
        else:  # unknown connection: the first sender is taken as the client
            client, server, ts = rec.src, rec.dst, rec.timestamp
        isn_c, isn_s = 1000, 5000
        flow = _Flow(client, server, {client: isn_c + 1, server: isn_s + 1})
        ident = self.w.next_ident
        self.w.packet(ts, _tcp_packet(client, server, isn_c, 0, _TCP_SYN, b"", ident()))
        self.w.packet(
            ts, _tcp_packet(server, client, isn_s, isn_c + 1, _TCP_SYN | _TCP_ACK, b"", ident())
        )
        self.w.packet(ts, _tcp_packet(client, server, isn_c + 1, isn_s + 1, _TCP_ACK, b"", ident()))
        return flow

    def tcp(self, rec: CaptureRecord) -> None:
        key: int | frozenset[Endpoint] = (
            rec.connection if rec.connection is not None else frozenset((rec.src, rec.dst))
        )
        flow = self.flows.get(key)
        if flow is None:
            flow = self.flows[key] = self._open(rec.connection, rec)
        sender = rec.src
        if sender not in flow.next_seq:  # addresses disagree with the connection table
            return
        for start in range(0, len(rec.data), MAX_PAYLOAD):
            chunk = rec.data[start : start + MAX_PAYLOAD]
            seq = flow.next_seq[sender]
            pkt = _tcp_packet(
                sender,
                rec.dst,
                seq,
                flow.ack_for(sender),
                _TCP_PSH | _TCP_ACK,
                chunk,
                self.w.next_ident(),
            )
            self.w.packet(rec.timestamp, pkt)
            flow.next_seq[sender] = seq + len(chunk)

    def finish(self) -> None:
        """FIN/ACK exchanges for the connections the capture saw closed."""
        for key, flow in self.flows.items():
            info = self.capture.connection(key) if isinstance(key, int) else None
            if info is None or info.closed_at is None:
                continue
            ts = info.closed_at
            first, second = info.local, info.remote
            for sender, receiver in ((first, second), (second, first)):
                seq = flow.next_seq[sender]
                pkt = _tcp_packet(
                    sender,
                    receiver,
                    seq,
                    flow.ack_for(sender),
                    _TCP_FIN | _TCP_ACK,
                    b"",
                    self.w.next_ident(),
                )
                self.w.packet(ts, pkt)
                flow.next_seq[sender] = seq + 1
            last = _tcp_packet(
                first,
                second,
                flow.next_seq[first],
                flow.next_seq[second],
                _TCP_ACK,
                b"",
                self.w.next_ident(),
            )
            self.w.packet(ts, last)


def _convert(capture: Capture, stream: BinaryIO, records: list[CaptureRecord] | None) -> None:
    conv = _CaptureToPcap(PcapWriter(stream), capture)
    recs = capture.records if records is None else records
    for rec in sorted(recs, key=lambda r: (r.timestamp, r.index)):
        if rec.transport == "udp":
            conv.udp(rec)
        else:
            conv.tcp(rec)
    conv.finish()


def write_pcap(
    capture: Capture, path: str | Path, records: list[CaptureRecord] | None = None
) -> Path:
    """Write ``records`` (default: all of ``capture``) to a pcap file at ``path``."""
    out = Path(path)
    with out.open("wb") as fh:
        _convert(capture, fh, records)
    return out


def pcap_bytes(capture: Capture, records: list[CaptureRecord] | None = None) -> bytes:
    """The pcap file content of ``records`` (default: all of ``capture``), e.g. for attachments."""
    buf = io.BytesIO()
    _convert(capture, buf, records)
    return buf.getvalue()


__all__ = ["LINKTYPE_RAW", "PcapWriter", "pcap_bytes", "write_pcap"]
