"""Transition tables: the one way a state machine of this package moves.

Every state machine of ``protocol/`` is a :class:`Machine`: a name and a table that maps
``(state, input)`` to what follows (the next state, or a record holding it and the
effects). The machine's code moves only through :meth:`Machine.step`, so the table is the
one place a transition is defined. (A machine may still judge a message before it becomes
an input, as the notifier answers 481 to a SUBSCRIBE for an ended subscription.)

The convention for an input the table has no entry for depends on who caused the input,
the :class:`Origin` the caller passes to :meth:`Machine.step`:

- :attr:`Origin.LOCAL`: our own call (the TU, a test case, a role), our own timer or our
  own transport. A missing pair is our misuse: :meth:`Machine.step` raises
  :class:`~conformance.errors.LocalProtocolError`, which becomes the verdict ``error``.
- :attr:`Origin.PEER`: a message the peer sent. A missing pair is the peer's fault:
  :meth:`Machine.step` raises :class:`~conformance.errors.RemoteProtocolError`, and the
  machine reports it the way it reports every other fault of the peer, never as a crash:

  - the SIP transaction layer emits a ``ProtocolViolation`` event
    (:mod:`conformance.protocol.sip.layer`);
  - the MSRP connection emits a ``ProtocolViolation`` event
    (:mod:`conformance.protocol.msrp.session`), for its transactions and for the
    reassembly of a message;
  - the subscriber returns it from ``on_response`` (a NOTIFY with no subscription is
    answered 481 before the table is asked), the notifier answers the SUBSCRIBE with 481
    (:mod:`conformance.protocol.sip.subscription`);
  - the dialog raises it from ``receive_request``, as it raises the other faults of a
    request it is given (:mod:`conformance.protocol.sip.dialog`; the responses given to
    ``confirm`` are the TU's to sort, so they are LOCAL inputs).

An input that the protocol says to ignore in some state is not left out of the table: it
has an explicit entry that keeps the state and has no effect, so a missing entry always
means a fault of one side. Each machine is declared once, with its name, next to its
table:

- ``INVITE client transaction``, ``non-INVITE client transaction``, ``INVITE server
  transaction``, ``non-INVITE server transaction``: ``INVITE_CLIENT`` (over
  ``INVITE_CLIENT_TABLE``), ``NON_INVITE_CLIENT``, ``INVITE_SERVER``, ``NON_INVITE_SERVER``
  in :mod:`conformance.protocol.sip.transaction`;
- ``2xx retransmission until ACK``: ``UAS_ACK_WAIT`` in :mod:`conformance.protocol.sip.layer`;
- ``dialog``: ``DIALOG`` in :mod:`conformance.protocol.sip.dialog`;
- ``subscriber``, ``notifier``: ``SUBSCRIBER``, ``NOTIFIER`` in
  :mod:`conformance.protocol.sip.subscription`;
- ``MSRP transaction``, ``MSRP connection``: ``TRANSACTION_MACHINE``,
  ``CONNECTION_MACHINE`` in :mod:`conformance.protocol.msrp.session`;
- ``MSRP reassembly``: ``REASSEMBLY_MACHINE`` in :mod:`conformance.protocol.msrp.chunking`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from conformance.errors import LocalProtocolError, RemoteProtocolError

S = TypeVar("S", bound=Enum)
I = TypeVar("I")  # noqa: E741 - the input of a machine
V = TypeVar("V")


class Origin(Enum):
    """Who caused an input: decides what a missing transition means."""

    LOCAL = "local"
    """Our own call, timer or transport: a missing transition is a LocalProtocolError."""
    PEER = "peer"
    """A message the peer sent: a missing transition is a RemoteProtocolError."""


def _describe(value: object) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


@dataclass(frozen=True, slots=True, eq=False)
class Machine(Generic[S, I, V]):
    """A named transition table ``(state, input) -> V`` (see the module docstring).

    One object per machine, compared and hashed by identity."""

    name: str
    table: Mapping[tuple[S, I], V]

    def allows(self, state: S, stimulus: I) -> bool:
        """Whether the table has an entry for ``stimulus`` in ``state``."""
        return (state, stimulus) in self.table

    def step(self, state: S, stimulus: I, origin: Origin, *, raw: bytes | None = None) -> V:
        """The entry for ``stimulus`` in ``state``.

        A missing entry raises LocalProtocolError (``origin`` LOCAL) or RemoteProtocolError
        (``origin`` PEER, with ``raw``, the peer's bytes, as its evidence).
        """
        try:
            return self.table[(state, stimulus)]
        except KeyError:
            text = f"{self.name}: no transition for {_describe(stimulus)} in state " + (
                _describe(state)
            )
            if origin is Origin.PEER:
                raise RemoteProtocolError(text, raw=raw) from None
            raise LocalProtocolError(text) from None


def step(table: Mapping[tuple[S, str], S], state: S, event: str, what: str) -> S:
    """The state ``event`` leads to from ``state``, a LOCAL input of machine ``what``."""
    return Machine(what, table).step(state, event, Origin.LOCAL)


__all__ = ["Machine", "Origin", "step"]
