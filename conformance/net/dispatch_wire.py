"""The control connection between the dispatcher and its workers: frames and their checks.

One frame (docs/dev/topology.md, "Parallel workers against one SUT")::

    4 bytes  big-endian length of what follows (2 + header + payload), at most MAX_FRAME
             (1 MiB + 64 KiB)
    2 bytes  big-endian length of the header
    header   UTF-8 JSON object with a string "type"
    payload  raw bytes (a SIP message), may be empty

Types, worker to dispatcher: ``hello`` and ``claim`` (``seq``, ``claim``), ``reply``
(``to``: [host, port, "UDP"|"TCP"], ``conn``: the dispatcher's TCP connection id or null,
``seq``; payload: a response). Dispatcher to worker: ``ack`` (``seq``), ``request``
(``source`` and ``arrived_at`` addresses, ``conn``, ``received``: the dispatcher's time of
reading it; payload: the request as received), ``sent`` (``seq`` of a ``reply`` it has
handed to its socket or connection).

:func:`encode_frame` builds a frame, :func:`decode_body` checks one (both sans-IO), and
:func:`read_frame` reads one from an asyncio stream. Any violation is a :class:`FrameError`, after
which the connection is closed.
"""

from __future__ import annotations

import asyncio
import json
import struct
from dataclasses import dataclass
from typing import Any

from conformance.protocol.sip.dispatch import Claim
from conformance.protocol.sip.message import MAX_MESSAGE_SIZE
from conformance.protocol.sip.timers import Address, Transport

#: the largest JSON header
MAX_HEADER = 0xFFFF
#: the largest frame (after the 4-byte length prefix): a SIP message of the largest size
#: the codec accepts (1 MiB) and its header
MAX_FRAME = MAX_MESSAGE_SIZE + 2 + MAX_HEADER
#: frame types each side may send
FROM_WORKER = frozenset({"hello", "claim", "reply"})
FROM_DISPATCHER = frozenset({"ack", "request", "sent"})

_PREFIX = struct.Struct(">I")
_HEADER_LENGTH = struct.Struct(">H")


class FrameError(ValueError):
    """A control frame that breaks the format: the connection it came on is closed."""


@dataclass(frozen=True, slots=True)
class Frame:
    type: str
    header: dict[str, Any]
    payload: bytes = b""


def encode_frame(kind: str, header: dict[str, Any] | None = None, payload: bytes = b"") -> bytes:
    """One frame: ``header`` (with ``type`` = ``kind``) and ``payload``."""
    text = json.dumps({**(header or {}), "type": kind}, separators=(",", ":")).encode()
    if len(text) > MAX_HEADER:
        raise FrameError(f"frame header of {len(text)} bytes is too large")
    size = _HEADER_LENGTH.size + len(text) + len(payload)
    if size > MAX_FRAME:
        raise FrameError(f"frame of {size} bytes exceeds {MAX_FRAME}")
    return _PREFIX.pack(size) + _HEADER_LENGTH.pack(len(text)) + text + payload


def frame_size(prefix: bytes) -> int:
    """The length a 4-byte prefix announces (FrameError when out of bounds)."""
    if len(prefix) != _PREFIX.size:
        raise FrameError("truncated frame length")
    (size,) = _PREFIX.unpack(prefix)
    if size < _HEADER_LENGTH.size or size > MAX_FRAME:
        raise FrameError(f"frame length {size} out of bounds (2..{MAX_FRAME})")
    return int(size)


def decode_body(body: bytes, allowed: frozenset[str]) -> Frame:
    """The frame whose bytes after the length prefix are ``body``."""
    if len(body) < _HEADER_LENGTH.size:
        raise FrameError("frame shorter than its header length")
    (hlen,) = _HEADER_LENGTH.unpack_from(body)
    end = _HEADER_LENGTH.size + hlen
    if hlen == 0 or end > len(body):
        raise FrameError(f"header length {hlen} does not fit a frame of {len(body)} bytes")
    try:
        header = json.loads(body[_HEADER_LENGTH.size : end].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FrameError(f"frame header is not UTF-8 JSON: {exc}") from None
    if not isinstance(header, dict):
        raise FrameError("frame header is not a JSON object")
    kind = header.get("type")
    if not isinstance(kind, str) or kind not in allowed:
        raise FrameError(f"unexpected frame type {kind!r} (expected one of {sorted(allowed)})")
    return Frame(kind, header, bytes(body[end:]))


async def read_frame(reader: asyncio.StreamReader, allowed: frozenset[str]) -> Frame | None:
    """The next frame on ``reader``; None at end of stream between frames."""
    try:
        prefix = await reader.readexactly(_PREFIX.size)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise FrameError("stream ended inside a frame length") from None
    size = frame_size(prefix)
    try:
        body = await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        raise FrameError(f"stream ended inside a frame of {size} bytes") from None
    return decode_body(body, allowed)


# -- values inside headers --------------------------------------------------------------
def _strings(value: object, what: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FrameError(f"{what} is not a list of strings")
    return frozenset(value)


def _endpoint(value: object, what: str) -> tuple[str, int]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], str)
        or not value[0]
        or not isinstance(value[1], int)
        or isinstance(value[1], bool)
        or not 0 <= value[1] <= 65535
    ):
        raise FrameError(f"{what} is not [host, port]")
    return (value[0], value[1])


def claim_to_json(claim: Claim) -> dict[str, Any]:
    return {
        "worker": claim.worker,
        "users": sorted(claim.users),
        "instances": sorted(claim.instances),
        "addresses": [[h, p] for h, p in sorted(claim.addresses)],
        "xdms": list(claim.xdms) if claim.xdms is not None else None,
    }


def claim_from_json(value: object) -> Claim:
    if not isinstance(value, dict):
        raise FrameError("claim is not a JSON object")
    worker = value.get("worker")
    if not isinstance(worker, str) or not worker:
        raise FrameError("claim without a worker name")
    addresses = value.get("addresses", [])
    if not isinstance(addresses, list):
        raise FrameError("claim addresses is not a list")
    xdms = value.get("xdms")
    return Claim(
        worker=worker,
        users=_strings(value.get("users"), "claim users"),
        instances=_strings(value.get("instances", []), "claim instances"),
        addresses=frozenset(_endpoint(a, "claim address") for a in addresses),
        xdms=_endpoint(xdms, "claim xdms") if xdms is not None else None,
    )


def address_to_json(address: Address) -> list[Any]:
    return [address.host, address.port, address.transport.value]


def address_from_json(value: object, what: str) -> Address:
    if not isinstance(value, list) or len(value) != 3 or value[2] not in ("UDP", "TCP"):
        raise FrameError(f"{what} is not [host, port, UDP|TCP]")
    host, port = _endpoint(value[:2], what)
    return Address(host, port, Transport(value[2]))


def connection_id(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FrameError("conn is not a connection id")
    return value


def sequence(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise FrameError("seq is not an integer")
    return value


__all__ = [
    "FROM_DISPATCHER",
    "FROM_WORKER",
    "MAX_FRAME",
    "Frame",
    "FrameError",
    "address_from_json",
    "address_to_json",
    "claim_from_json",
    "claim_to_json",
    "connection_id",
    "decode_body",
    "encode_frame",
    "frame_size",
    "read_frame",
    "sequence",
]
