"""Typed errors shared by every layer.

- :class:`RemoteProtocolError`: the peer (the SUT) sent something invalid. It is
  evidence for a verdict, never a crash of the tool.
- :class:`LocalProtocolError`: the test system misused an API. It becomes the
  verdict ``error``.
- :class:`GuardTimeout`: a bounded wait ran out (the SUT stayed silent); ``inconc``.
- :class:`Inconclusive` and :class:`NotApplicable` (:class:`VerdictOutcome`): a test case
  stops with the verdict ``inconc`` or ``n/a``.
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


class GuardTimeout(Exception):
    """A bounded wait ran out: the SUT never sent what the tool waited for (a role's
    expectation, a SIP or MSRP transaction timer).

    The base of the net layer's timeout errors. The pytest plugin maps it to ``inconc``:
    the SUT never reached the state the test case needs. Where the awaited message *is*
    the requirement, the test case records a failed check instead.
    """


#: prefix of the reason of an :class:`Inconclusive` (and of a pytest skip that means inconc)
INCONC_PREFIX = "inconc: "
#: prefix of the reason of a :class:`NotApplicable` (and of a pytest skip that means n/a)
NA_PREFIX = "n/a: "


class VerdictOutcome(Exception):
    """A test case stops with a verdict that is neither pass nor fail.

    A plain exception, so that the layers below the pytest plugin never import pytest. The
    plugin turns it into a pytest skip whose reason is ``str(exc)`` (the prefix and the
    reason), so that pytest does not count it as a failure and the verdict survives
    pytest-xdist, where only the report text travels.
    """

    prefix = ""

    def __init__(self, reason: str) -> None:
        super().__init__(self.prefix + reason)
        #: the reason without the prefix
        self.reason = reason

    @property
    def msg(self) -> str:
        """The reason with its prefix (the text of the pytest skip)."""
        return str(self)


class Inconclusive(VerdictOutcome):
    """The SUT never reached the state a check needs: verdict ``inconc``."""

    prefix = INCONC_PREFIX


class NotApplicable(VerdictOutcome):
    """The PICS rules the test case out: verdict ``n/a``."""

    prefix = NA_PREFIX
