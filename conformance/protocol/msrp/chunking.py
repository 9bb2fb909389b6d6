"""MSRP message chunking and reassembly (RFC 4975 sections 5.1, 7.1.1 and 7.1.3; sans-IO).

A message is sent as one or more SEND chunks that share one Message-ID. Each chunk has its
own transaction id and a ``Byte-Range: start-end/total`` (``*`` for an unknown end or
total). Every chunk but the last ends with ``+``; the last with ``$``; ``#`` aborts the
message.

The :class:`Reassembler` accepts chunks in any order and records the body size of every
chunk in arrival order (``chunk_sizes``), so that a check can judge whether a SUT respects
a chunk size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.protocol.fsm import Machine, Origin
from conformance.protocol.msrp.codec import (
    FLAG_ABORT,
    FLAG_COMPLETE,
    FLAG_CONTINUE,
    ByteRange,
    MsrpRequest,
    PathArg,
    build_send,
    new_tid,
)

DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024


def chunk_message(
    to_path: PathArg,
    from_path: PathArg,
    message_id: str,
    body: bytes,
    content_type: str | None,
    chunk_size: int,
    *,
    success_report: str | None = None,
    failure_report: str | None = None,
    total_known: bool = True,
    tid_factory: Callable[[], str] = new_tid,
    extra_headers: Iterable[tuple[str, str]] = (),
) -> list[MsrpRequest]:
    """Split ``body`` into SEND chunks of at most ``chunk_size`` body bytes.

    ``total_known=False`` writes ``*`` as the total of every chunk but the last, as a
    sender that streams a message of unknown size does (RFC 4975 7.1.1).
    """
    if chunk_size < 1:
        raise LocalProtocolError(f"chunk size must be positive, got {chunk_size}")
    extra = tuple(extra_headers)
    if not body:
        return [
            build_send(
                to_path,
                from_path,
                message_id,
                b"",
                content_type,
                ByteRange(1, 0, 0),
                FLAG_COMPLETE,
                success_report,
                failure_report,
                tid_factory(),
                extra,
            )
        ]
    total = len(body)
    chunks: list[MsrpRequest] = []
    for offset in range(0, total, chunk_size):
        piece = body[offset : offset + chunk_size]
        last = offset + len(piece) >= total
        brange = ByteRange(
            offset + 1, offset + len(piece), total if (total_known or last) else None
        )
        chunks.append(
            build_send(
                to_path,
                from_path,
                message_id,
                piece,
                content_type,
                brange,
                FLAG_COMPLETE if last else FLAG_CONTINUE,
                success_report,
                failure_report,
                tid_factory(),
                extra,
            )
        )
    return chunks


class ReassemblyState(Enum):
    """State of one incoming message (RFC 4975 7.1.1 continuation flags, 7.3 receiving)."""

    RECEIVING = "receiving"
    """Some chunks arrived; the byte ranges do not yet cover the whole message."""
    COMPLETE = "complete"
    """Every byte from 1 to the total arrived (the total is known)."""
    ABORTED = "aborted"
    """A chunk ended with ``#``: the sender gave up on the message."""


#: allowed transitions; every input is a chunk from the peer (PEER origin in
#: :mod:`conformance.protocol.fsm`): a missing one is a RemoteProtocolError of ``add``
TRANSITIONS: dict[tuple[ReassemblyState, str], ReassemblyState] = {
    (ReassemblyState.RECEIVING, "chunk"): ReassemblyState.RECEIVING,
    (ReassemblyState.RECEIVING, "covered"): ReassemblyState.COMPLETE,
    (ReassemblyState.RECEIVING, "abort"): ReassemblyState.ABORTED,
}
REASSEMBLY_MACHINE = Machine("MSRP reassembly", TRANSITIONS)


@dataclass(frozen=True, slots=True)
class Reassembled:
    """A complete message."""

    message_id: str
    content_type: str | None
    body: bytes
    chunks: tuple[MsrpRequest, ...]
    #: the body size of every chunk, in arrival order
    chunk_sizes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Aborted:
    """A message the sender aborted with ``#`` (RFC 4975 7.1.1)."""

    message_id: str
    content_type: str | None
    received: int
    chunks: tuple[MsrpRequest, ...]
    chunk_sizes: tuple[int, ...]


@dataclass(slots=True)
class _Partial:
    message_id: str
    state: ReassemblyState = ReassemblyState.RECEIVING
    pieces: list[tuple[int, bytes]] = field(default_factory=list)
    chunks: list[MsrpRequest] = field(default_factory=list)
    total: int | None = None
    content_type: str | None = None
    received: int = 0

    def move(self, event: str, raw: bytes | None = None) -> None:
        self.state = REASSEMBLY_MACHINE.step(self.state, event, Origin.PEER, raw=raw)


class Reassembler:
    """Collects SEND chunks by Message-ID until a message is complete or aborted."""

    def __init__(self, *, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self.max_message_size = max_message_size
        self._partials: dict[str, _Partial] = {}
        self._sizes: dict[str, list[int]] = {}

    @property
    def pending(self) -> tuple[str, ...]:
        """Message-IDs of messages still being received."""
        return tuple(self._partials)

    def chunk_sizes(self, message_id: str) -> tuple[int, ...]:
        """Body sizes of the chunks seen for ``message_id`` (kept after completion)."""
        return tuple(self._sizes.get(message_id, ()))

    def discard(self, message_id: str) -> None:
        self._partials.pop(message_id, None)

    def add(self, request: MsrpRequest) -> Reassembled | Aborted | None:
        """Add one SEND chunk. Returns the message when it completes or aborts, else
        ``None``. Inconsistent chunks raise :class:`RemoteProtocolError` (the partial
        message is dropped)."""
        if request.method != "SEND":
            raise LocalProtocolError(f"only SEND chunks are reassembled, not {request.method}")
        message_id = request.message_id
        if not message_id:
            raise RemoteProtocolError("SEND without Message-ID", raw=request.raw)
        brange = request.byte_range
        size = len(request.body)
        if brange is None:
            # no Byte-Range: the chunk is the whole message (RFC 4975 7.1.1 default 1-*/*)
            brange = ByteRange(1, None, None if request.flag != FLAG_COMPLETE else size)
        partial = self._partials.get(message_id)
        if partial is None:
            partial = self._partials[message_id] = _Partial(message_id)
            self._sizes[message_id] = []
        self._sizes[message_id].append(size)
        partial.chunks.append(request)
        if partial.content_type is None:
            partial.content_type = request.content_type
        try:
            self._place(partial, request, brange, size)
        except RemoteProtocolError:
            self.discard(message_id)
            raise
        if request.flag == FLAG_ABORT:
            partial.move("abort", request.raw)
            del self._partials[message_id]
            return Aborted(
                message_id,
                partial.content_type,
                partial.received,
                tuple(partial.chunks),
                self.chunk_sizes(message_id),
            )
        if partial.total is None or not self._covered(partial):
            partial.move("chunk", request.raw)
            return None
        partial.move("covered", request.raw)
        del self._partials[message_id]
        body = bytearray(partial.total)
        for start, data in partial.pieces:
            body[start - 1 : start - 1 + len(data)] = data
        return Reassembled(
            message_id,
            partial.content_type,
            bytes(body),
            tuple(partial.chunks),
            self.chunk_sizes(message_id),
        )

    def _place(self, partial: _Partial, request: MsrpRequest, brange: ByteRange, size: int) -> None:
        end = brange.start + size - 1
        if brange.end is not None and brange.end != end and request.flag != FLAG_ABORT:
            raise RemoteProtocolError(
                f"Byte-Range {brange} does not match the chunk body of {size} bytes",
                raw=request.raw,
            )
        total = brange.total
        if total is None and request.flag == FLAG_COMPLETE:
            total = end
        if total is not None:
            if partial.total is not None and partial.total != total:
                raise RemoteProtocolError(
                    f"message {partial.message_id}: total changed from {partial.total} to {total}",
                    raw=request.raw,
                )
            partial.total = total
        if partial.total is not None and end > partial.total:
            raise RemoteProtocolError(
                f"chunk {brange} goes beyond the message total {partial.total}", raw=request.raw
            )
        if end > self.max_message_size:
            raise RemoteProtocolError(
                f"message {partial.message_id} exceeds {self.max_message_size} bytes",
                raw=request.raw,
            )
        if size:
            partial.pieces.append((brange.start, request.body))
            partial.received += size

    @staticmethod
    def _covered(partial: _Partial) -> bool:
        assert partial.total is not None
        if partial.received < partial.total:
            return False
        reach = 0
        for start, data in sorted(partial.pieces, key=lambda piece: piece[0]):
            if start > reach + 1:
                return False
            reach = max(reach, start + len(data) - 1)
        return reach >= partial.total
