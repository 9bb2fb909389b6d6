"""Expected and actual values read as words, never as Python reprs (conformance/checks)."""

from __future__ import annotations

from conformance.checks import VerdictRecorder, expect_equal


def test_values_are_recorded_in_words() -> None:
    recorder = VerdictRecorder()
    result = expect_equal(
        recorder, "X-1", expected=("connected", None), actual=(1, [True, False], [], {"b", "a"})
    )
    assert result.expected == "connected, none"
    assert result.actual == "1, [yes, no], [], [a, b]"
    result = expect_equal(recorder, "X-2", expected={"status": "connected"}, actual=True)
    assert (result.expected, result.actual) == ("status: connected", "yes")
    assert expect_equal(recorder, "X-3", expected=[], actual="text").expected == "(empty)"
