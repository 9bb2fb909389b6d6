"""Requirement catalogue model (see DESIGN.md, "catalog/").

A requirement is one normative statement from the seeds. The catalogue is data
(``conformance/catalog/data/*.toml``, one file per specification document); this module
holds its typed, frozen form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Strength(StrEnum):
    """Normative strength (RFC 2119 keywords as used by OMA).

    The ``FLOW_*`` values are the System Description flows' lower-case "shall"/"may"/"will"
    or keyword-less provisions: expected behaviour of the flow, kept distinct from the
    upper-case keywords (see PROTOCOL_NOTES "Lower-case keywords").
    """

    SHALL = "SHALL"
    SHALL_NOT = "SHALL NOT"
    SHOULD = "SHOULD"
    SHOULD_NOT = "SHOULD NOT"
    MAY = "MAY"
    FLOW_SHALL = "flow-shall"
    FLOW_MAY = "flow-may"

    @property
    def mandatory(self) -> bool:
        """True for what a SUT must do to conform (runs without --strict)."""
        return self in (Strength.SHALL, Strength.SHALL_NOT, Strength.FLOW_SHALL)


class Role(StrEnum):
    PF = "pf"
    CF = "cf"
    CLIENT = "client"


class Document(StrEnum):
    CONVERSATION_FUNCTION = "OMA-TS-CPM_Conversation_Function"
    SYSTEM_DESCRIPTION = "OMA-TS-CPM_System_Description"
    MESSAGE_STORAGE = "OMA-TS-CPM_Message_Storage"


@dataclass(frozen=True, slots=True)
class Testability:
    testable: bool
    #: why not, when untestable (e.g. "implementation-internal: no observable effect")
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str  #: stable id, e.g. "CF-8.3.2-8.a.vi"
    document: Document
    section: str  #: e.g. "8.3.2"
    step: str  #: e.g. "8.a.vi" ("" when the clause has no steps)
    seed: str  #: seed file name, e.g. "003_0557e26cc06c581a.txt"
    roles: tuple[Role, ...]  #: the role(s) the requirement binds; a flow names each role
    strength: Strength
    quote: str  #: short verbatim quote of the clause
    applicability: str = "true"  #: PICS expression (see catalog/pics.py)
    testability: Testability = field(default_factory=lambda: Testability(True))
    title: str = ""  #: a few words for tables
    #: recorded interpretation where the seed is ambiguous or refers to missing text
    interpretation: str = ""
    #: where the same provision is repeated in the seeds and was folded into this requirement
    #: instead of becoming another one (e.g. "004 D130 Proposed Change, item 2"); not counted
    duplicates: tuple[str, ...] = ()
    #: references to other documents/sections (e.g. "RFC 4028", "8.3.6")
    references: tuple[str, ...] = ()

    @property
    def role(self) -> Role:
        """The primary role (the first named)."""
        return self.roles[0]

    @property
    def clause(self) -> str:
        return f"{self.section} {self.step}".strip()

    @property
    def testable(self) -> bool:
        return self.testability.testable

    @property
    def untestable_reason(self) -> str:
        return self.testability.reason
