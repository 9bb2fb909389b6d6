"""Verdict order, recorder and matchers (checks/verdict.py, checks/check.py)."""

from __future__ import annotations

import pytest

from conformance.checks import (
    CheckFailed,
    EvidenceRef,
    Inconclusive,
    NotApplicable,
    Verdict,
    VerdictRecorder,
    check,
    evidence,
    expect_contains,
    expect_equal,
    expect_false,
    expect_in,
    expect_match,
    expect_true,
    inconclusive,
    not_applicable,
    record_inconclusive,
    worst,
)
from conformance.checks.verdict import CheckResult, verdict_from_skip_reason
from conformance.errors import LocalProtocolError


def test_order_only_gets_worse() -> None:
    order = [Verdict.NA, Verdict.PASS, Verdict.INCONC, Verdict.FAIL, Verdict.ERROR]
    assert sorted(reversed(order)) == order
    assert worst([]) is Verdict.NA
    assert worst([Verdict.PASS, Verdict.NA]) is Verdict.PASS
    assert worst([Verdict.PASS, Verdict.FAIL, Verdict.INCONC]) is Verdict.FAIL
    assert worst([Verdict.FAIL, Verdict.ERROR]) is Verdict.ERROR
    assert Verdict.parse("na") is Verdict.NA and Verdict.parse("n/a") is Verdict.NA
    assert str(Verdict.INCONC) == "inconc"


def test_recorder_worst_of_its_checks() -> None:
    rec = VerdictRecorder()
    assert rec.verdict() is Verdict.NA
    expect_equal(rec, "R-1", expected=200, actual=200)
    assert rec.verdict() is Verdict.PASS
    expect_in(rec, "R-2", expected={"sent", "received"}, actual="lost")
    expect_true(rec, "R-3", True, expected="Supported: timer present")
    assert rec.verdict() is Verdict.FAIL
    assert [r.requirement for r in rec.failures()] == ["R-2"]
    assert rec.by_requirement() == {"R-1": Verdict.PASS, "R-2": Verdict.FAIL, "R-3": Verdict.PASS}
    assert len(rec.results) == 3  # soft: every check recorded


def test_fatal_check_raises_and_failure_text_names_everything() -> None:
    rec = VerdictRecorder()
    ev = evidence("sip", "200 OK to INVITE", "capture.pcap#frame=7", "SIP/2.0 200 OK\r\n")
    with pytest.raises(CheckFailed) as info:
        expect_equal(rec, "PF-8.3.2-3", expected=200, actual=486, evidence=ev, fatal=True)
    text = str(info.value)
    for part in ("PF-8.3.2-3", "expected: 200", "actual:   486", "capture.pcap#frame=7"):
        assert part in text
    assert isinstance(info.value, AssertionError)


def test_all_matchers() -> None:
    rec = VerdictRecorder()
    assert expect_contains(rec, "A", item="timer", container="timer, 100rel").verdict == "pass"
    assert expect_false(rec, "A", False, expected="no SUBSCRIBE").verdict is Verdict.PASS
    assert (
        expect_match(
            rec,
            "A",
            predicate=lambda v: str(v).startswith("CPM-serv/"),
            expected="CPM-serv/...",
            actual="CPM-serv/OMA2.0",
        ).verdict
        == "pass"
    )
    r = check(rec, "A", ok=False, expected=b"x", actual=b"\xff")
    assert r.verdict is Verdict.FAIL and r.actual == "\\xff"
    r = record_inconclusive(rec, "B", expected="NOTIFY", actual="nothing", reason="no client")
    assert r.verdict is Verdict.INCONC
    assert rec.verdict() is Verdict.FAIL


def test_allowed_and_not_applicable() -> None:
    rec = VerdictRecorder(allowed=frozenset({"A", "B"}), not_applicable={"B": "PICS: x"})
    with pytest.raises(LocalProtocolError, match="does not declare"):
        expect_true(rec, "C", True, expected="x")
    r = expect_true(rec, "B", False, expected="x")
    assert r.verdict is Verdict.NA and "PICS: x" in r.message and "fail" in r.message
    assert rec.verdict() is Verdict.NA


def test_outcomes_are_plain_exceptions_with_prefix() -> None:
    with pytest.raises(Inconclusive) as i:
        inconclusive("no upper tester configured for client-offline")
    assert i.value.msg == "inconc: no upper tester configured for client-offline"
    with pytest.raises(NotApplicable) as n:
        not_applicable("PICS")
    assert str(n.value) == "n/a: PICS" and n.value.reason == "PICS"
    # checks/ never imports pytest: the plugin turns these into pytest skips
    assert not isinstance(n.value, pytest.skip.Exception)
    assert verdict_from_skip_reason("n/a: PICS") == (Verdict.NA, "PICS")
    assert verdict_from_skip_reason("Skipped: inconc: x") == (Verdict.INCONC, "x")
    assert verdict_from_skip_reason("needs kamailio")[0] is Verdict.INCONC


def test_json_round_trip() -> None:
    r = CheckResult(
        "A",
        Verdict.FAIL,
        "200",
        "486",
        (EvidenceRef("sip", "resp", "frame=3", b"SIP/2.0 486"),),
        "busy",
    )
    assert CheckResult.from_json(r.to_json()) == r
