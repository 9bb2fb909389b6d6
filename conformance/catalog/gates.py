"""What each PICS option gates: the requirements whose applicability names it.

Used by the PICS proforma (``cpm-conformance pics``) and by the HTML report's PICS table.
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.catalog.model import Requirement
from conformance.catalog.pics import names_in, parse_expression

__all__ = ["pics_gates"]


def pics_gates(catalog: Iterable[Requirement]) -> dict[str, list[str]]:
    """PICS option -> the requirement ids whose applicability names it (catalogue order)."""
    gates: dict[str, list[str]] = {}
    for q in catalog:
        if q.applicability:
            for name in sorted(names_in(parse_expression(q.applicability))):
                gates.setdefault(name, []).append(q.id)
    return gates
