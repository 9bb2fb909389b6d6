"""Named faults of the reference SUT (topology.md, "Faults").

A fault is a switch that makes the reference SUT break exactly one requirement (or one
item of a compound requirement). Each :class:`Fault` names the catalogue requirement ids
it breaks, so that the selftest can run the test cases carrying those ids against a
reference SUT started with that fault and expect them to fail. The faults are declared in
:mod:`conformance.reference.faultsets`, one module per role and spec section, and the
reference SUT asks ``faults.on("name")``: an unknown name is refused
(tests/reference/test_fault_names.py also finds every name used in the source).

The ids are catalogue ids (``conformance/catalog/data/*.toml``); this layer does not
import the catalogue, a test in ``tests/reference/`` cross-checks them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from conformance.errors import LocalProtocolError
from conformance.reference.faultsets import Fault, discovered_faults


def _collect() -> Mapping[str, Fault]:
    registry: dict[str, Fault] = {}
    for fault in discovered_faults():
        if fault.name in registry:
            raise LocalProtocolError(f"fault {fault.name!r} is defined twice")
        registry[fault.name] = fault
    return MappingProxyType(registry)


#: every known fault by name (the fault sets of :mod:`conformance.reference.faultsets`)
FAULTS: Mapping[str, Fault] = _collect()


def _check_known(names: Iterable[str]) -> None:
    unknown = sorted(n for n in names if n not in FAULTS)
    if unknown:
        raise LocalProtocolError(
            f"unknown fault(s) {', '.join(unknown)}; known faults: {', '.join(sorted(FAULTS))}"
        )


@dataclass(frozen=True, slots=True)
class ActiveFaults:
    """The faults a reference SUT runs with (profile key ``faults`` or ``--faults a,b``)."""

    names: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _check_known(self.names)

    @classmethod
    def parse(cls, text: str) -> ActiveFaults:
        """``"a,b"`` (the command-line form); blanks and empty items are ignored."""
        return cls(frozenset(n.strip() for n in text.split(",") if n.strip()))

    def on(self, name: str) -> bool:
        """Whether fault ``name`` is active; an unknown name is our own misuse."""
        _check_known((name,))
        return name in self.names

    @property
    def sorted(self) -> tuple[str, ...]:
        return tuple(sorted(self.names))


NO_FAULTS = ActiveFaults()

__all__ = ["FAULTS", "NO_FAULTS", "ActiveFaults", "Fault"]
