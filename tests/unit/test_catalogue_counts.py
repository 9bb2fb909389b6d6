"""The catalogue counts in the docs come from the data, never from a hand edit."""

from __future__ import annotations

from pathlib import Path

from conformance.catalog import load_catalog
from conformance.catalog.summary import BLOCKS, blocks, reason_class, replace_blocks

ROOT = Path(__file__).resolve().parents[2]


def test_the_generated_blocks_match_the_data() -> None:
    generated = blocks(load_catalog())
    for name in BLOCKS:
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "<!-- generated:" in text, f"{name} holds no generated block"
        assert replace_blocks(text, generated) == text, (
            f"{name}: catalogue counts are stale; run"
            " `python -m conformance.catalog.summary --write`"
        )


def test_a_stale_block_is_rewritten() -> None:
    text = "a <!-- generated:summary -->1 requirement<!-- /generated:summary --> b"
    new = replace_blocks(text, {"summary": "2 requirements"})
    assert new == "a <!-- generated:summary -->2 requirements<!-- /generated:summary --> b"
    assert replace_blocks(text, {}) == text


def test_summary_counts_testable_and_untestable() -> None:
    catalog = load_catalog()
    testable = sum(r.testable for r in catalog)
    line = blocks(catalog)["summary"]
    assert f"{testable} of them testable" in line
    assert f"{len(list(catalog)) - testable} untestable" in line


def test_reason_classes_fold_the_internal_variants() -> None:
    assert reason_class("implementation-internal state: x") == "implementation-internal"
    assert reason_class("implementation-internal: y") == "implementation-internal"
    assert reason_class("capability statement: covered by A") == "capability statement"
