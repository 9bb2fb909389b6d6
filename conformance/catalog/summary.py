"""Counts of the requirement catalogue, rendered from the data.

The counts in ``docs/catalogue.md`` and the README are written by this module, never by
hand: a test (``tests/unit/test_catalogue_counts.py``) fails when a generated block no
longer matches the data. To rewrite the blocks after editing the TOML files::

    python -m conformance.catalog.summary --write

Each block sits between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->``.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from conformance.catalog.loader import Catalog, load_catalog
from conformance.catalog.model import Requirement, Strength

__all__ = ["BLOCKS", "blocks", "reason_class", "replace_blocks", "summary_line"]

#: the documents whose generated blocks this module keeps current, relative to the checkout
BLOCKS: tuple[str, ...] = ("docs/catalogue.md", "README.md")

_BLOCK = re.compile(
    r"(<!-- generated:(?P<name>[a-z-]+) -->\n?)(?P<body>.*?)(<!-- /generated:(?P=name) -->)",
    re.DOTALL,
)


def reason_class(reason: str) -> str:
    """The class of an untestable requirement's reason: the words before its colon, with
    the implementation-internal variants ("… state", "… lookup") folded into one."""
    head = reason.partition(":")[0].strip()
    if head.startswith("implementation-internal"):
        return "implementation-internal"
    if head.startswith("generic reference"):
        return "generic reference"
    return head


def _table(title: str, counts: Mapping[str, int], order: Iterable[str] | None = None) -> str:
    keys = list(order) if order is not None else sorted(counts)
    rows = [f"| {key} | {counts[key]} |" for key in keys if counts.get(key)]
    total = sum(counts.values())
    return "\n".join(
        [f"| {title} | requirements |", "|---|---:|", *rows, f"| **total** | **{total}** |"]
    )


def _counts(requirements: Iterable[Requirement]) -> str:
    reqs = list(requirements)
    by_doc = Counter(r.document.value for r in reqs)
    by_seed = Counter(r.seed for r in reqs)
    by_role = Counter(r.role.value for r in reqs)
    naming = Counter(role.value for r in reqs for role in r.roles)
    by_strength = Counter(r.strength.value for r in reqs)
    strength_order = list(dict.fromkeys(r.strength.value for r in _sorted_strengths(reqs)))
    by_testability = Counter("testable" if r.testable else "untestable" for r in reqs)
    by_section = Counter(f"{r.section} ({_short(r.document.value)})" for r in reqs)
    naming_line = ", ".join(f"{role} {naming[role]}" for role in sorted(naming))
    return (
        "\n\n".join(
            [
                "### By document",
                _table("document", by_doc),
                "### By seed",
                _table("seed", by_seed),
                "### By primary role (first named)",
                _table("role", by_role),
                f"Requirements naming each role (a flow step can name several): {naming_line}.",
                "### By strength",
                _table("strength", by_strength, strength_order),
                "### By testability",
                _table("testability", by_testability, ["testable", "untestable"]),
                "### By section",
                _table("section", by_section),
            ]
        )
        + "\n"
    )


def _sorted_strengths(reqs: list[Requirement]) -> list[Requirement]:
    order = {s: i for i, s in enumerate(Strength)}
    return sorted(reqs, key=lambda r: order[r.strength])


def _short(document: str) -> str:
    return {
        "OMA-TS-CPM_Conversation_Function": "Conversation Function",
        "OMA-TS-CPM_System_Description": "System Description",
    }.get(document, document)


def _untestable(requirements: Iterable[Requirement]) -> str:
    reqs = [r for r in requirements if not r.testable]
    classes = Counter(reason_class(r.untestable_reason) for r in reqs)
    listing = "\n".join(f"| {r.id} | {r.untestable_reason} |" for r in reqs)
    return _table("reason class", classes) + "\n\n| id | reason |\n|---|---|\n" + listing + "\n"


def summary_line(catalog: Catalog) -> str:
    reqs = list(catalog)
    testable = sum(r.testable for r in reqs)
    return (
        f"{len(reqs)} requirements, {testable} of them testable and"
        f" {len(reqs) - testable} untestable, each with its reason"
    )


def blocks(catalog: Catalog) -> dict[str, str]:
    """Every generated block by name, as it should read."""
    return {
        "counts": _counts(catalog),
        "untestable": _untestable(catalog),
        "summary": summary_line(catalog),
    }


def replace_blocks(text: str, generated: Mapping[str, str]) -> str:
    """``text`` with every generated block it holds rewritten from ``generated``."""

    def sub(match: re.Match[str]) -> str:
        body = generated.get(match["name"])
        if body is None:
            return match.group(0)
        return f"{match.group(1)}{body}{match.group(4)}"

    return _BLOCK.sub(sub, text)


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[2]
    generated = blocks(load_catalog())
    stale = []
    for name in BLOCKS:
        path = root / name
        text = path.read_text(encoding="utf-8")
        new = replace_blocks(text, generated)
        if new != text:
            stale.append(name)
            if "--write" in argv:
                path.write_text(new, encoding="utf-8")
    verb = "rewrote" if "--write" in argv else "stale"
    for name in stale:
        print(f"{verb}: {name}")
    return 1 if stale and "--write" not in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
