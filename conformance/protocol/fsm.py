"""Transition tables: the one way a state machine of this package moves.

A table maps ``(state, event)`` to the next state; a pair it lacks is our own misuse
(:class:`~conformance.errors.LocalProtocolError`), never the peer's.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

from conformance.errors import LocalProtocolError

S = TypeVar("S", bound=Enum)


def step(table: Mapping[tuple[S, str], S], state: S, event: str, what: str) -> S:
    """The state ``event`` leads to from ``state``; ``what`` names the machine in errors."""
    try:
        return table[(state, event)]
    except KeyError:
        raise LocalProtocolError(f"{what}: no transition {event} from {state}") from None


__all__ = ["step"]
