"""Typed errors shared by every layer.

- :class:`RemoteProtocolError`: the peer (the SUT) sent something invalid. It is
  evidence for a verdict, never a crash of the tool.
- :class:`LocalProtocolError`: the test system misused an API. It becomes the
  verdict ``error``.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base class of the protocol errors."""

    def __init__(self, message: str, *, raw: bytes | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: the bytes the error is about (a message, a header line, a document), if known
        self.raw = raw


class RemoteProtocolError(ProtocolError):
    """The remote peer sent bytes that violate the protocol."""


class LocalProtocolError(ProtocolError):
    """The local side (the tool itself) asked for something the protocol forbids."""


class DocumentError(RemoteProtocolError):
    """An XML document (conference-info, groupstate, ...) is unsafe or invalid."""
