"""The pytest plugin, through pytester, against a small catalogue written to tmp_path."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

CATALOG = """
document = "OMA-TS-CPM_Conversation_Function"

[[requirement]]
id = "PF-8.3.2-1"
section = "8.3.2"
step = "1"
seed = "003_0557e26cc06c581a.txt"
roles = ["pf"]
strength = "SHALL"
title = "first"
quote = "The PF SHALL do one."
applicability = "true"
testable = true

[[requirement]]
id = "PF-8.3.2-2"
section = "8.3.2"
step = "2"
seed = "003_0557e26cc06c581a.txt"
roles = ["pf"]
strength = "SHALL"
quote = "The PF SHALL do two."
applicability = "true"
testable = true

[[requirement]]
id = "PF-8.3.2.9-ADMIN"
section = "8.3.2.9"
step = "1"
seed = "003_0557e26cc06c581a.txt"
roles = ["pf"]
strength = "SHALL"
quote = "With an admin trigger the PF SHALL deliver."
applicability = "pf.admin_trigger"
testable = true

[[requirement]]
id = "PF-8.4-MAY"
section = "8.4"
step = "1"
seed = "003_0557e26cc06c581a.txt"
roles = ["pf"]
strength = "MAY"
quote = "The PF MAY do three."
applicability = "true"
testable = true

[[requirement]]
id = "CF-9.1-1"
section = "9.1"
step = "1"
seed = "003_0557e26cc06c581a.txt"
roles = ["cf"]
strength = "SHALL"
quote = "The CF SHALL do four."
applicability = "true"
testable = true

[[requirement]]
id = "PF-8.3.2-UNCOVERED"
section = "8.3.2"
step = "9"
seed = "003_0557e26cc06c581a.txt"
roles = ["pf"]
strength = "SHALL"
quote = "The PF SHALL do nine."
applicability = "true"
testable = true
"""

PROFILE = """
[sut]
name = "tiny"
target = "reference"
roles = ["pf", "cf"]
[pics]
"pf.admin_trigger" = false
"""

TESTS = """
import pytest
from conformance.checks import expect_equal, expect_true, inconclusive

@pytest.mark.requirement("PF-8.3.2-1", "PF-8.3.2-2")
def test_pass(recorder):
    expect_equal(recorder, "PF-8.3.2-1", expected=200, actual=200)
    expect_true(recorder, "PF-8.3.2-2", True, expected="two")

@pytest.mark.requirement("PF-8.3.2-1", "PF-8.3.2-2")
def test_soft_fail(recorder):
    expect_equal(recorder, "PF-8.3.2-1", expected=200, actual=486)
    expect_true(recorder, "PF-8.3.2-2", True, expected="still checked")

@pytest.mark.requirement("PF-8.3.2.9-ADMIN")
def test_pics_excluded(recorder):
    raise RuntimeError("must not run")

@pytest.mark.requirement("PF-8.4-MAY")
def test_optional(recorder):
    expect_true(recorder, "PF-8.4-MAY", True, expected="three")

@pytest.mark.requirement("CF-9.1-1")
def test_cf_inconc():
    inconclusive("no upper tester configured for client-offline")

@pytest.mark.requirement("CF-9.1-1")
def test_cf_error():
    raise RuntimeError("emulator crashed")
"""


QUIET = ("-o", "asyncio_default_fixture_loop_scope=function")


@pytest.fixture
def env(pytester: pytest.Pytester, tmp_path: Path) -> dict[str, Path]:
    cat = tmp_path / "catalog"
    cat.mkdir()
    (cat / "cf.toml").write_text(CATALOG, encoding="utf-8")
    profile = tmp_path / "tiny.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    return {"catalog": cat, "profile": profile, "out": tmp_path / "out"}


def run(
    pytester: pytest.Pytester, env: dict[str, Path], *args: str, tests: str = TESTS
) -> pytest.RunResult:
    pytester.makepyfile(test_cases=textwrap.dedent(tests))
    return pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--strict-markers",
        *QUIET,
        "--catalog-dir",
        str(env["catalog"]),
        "--sut",
        str(env["profile"]),
        "--cpm-report-dir",
        str(env["out"]),
        f"--junitxml={env['out'] / 'junit.xml'}",
        *args,
    )


def results(env: dict[str, Path]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((env["out"] / "results.json").read_text())
    return data


def verdicts(data: dict[str, Any]) -> dict[str, str]:
    return {t["nodeid"].split("::")[-1]: t["verdict"] for t in data["test_cases"]}


def test_verdicts_and_results_json(pytester: pytest.Pytester, env: dict[str, Path]) -> None:
    r = run(pytester, env)
    data = results(env)
    assert verdicts(data) == {
        "test_pass": "pass",
        "test_soft_fail": "fail",
        "test_pics_excluded": "n/a",
        "test_optional": "n/a",
        "test_cf_inconc": "inconc",
        "test_cf_error": "error",
    }
    tcs = {t["nodeid"].split("::")[-1]: t for t in data["test_cases"]}
    soft = tcs["test_soft_fail"]
    assert soft["requirements"] == ["PF-8.3.2-1", "PF-8.3.2-2"]
    assert [(c["requirement"], c["verdict"]) for c in soft["checks"]] == [
        ("PF-8.3.2-1", "fail"),
        ("PF-8.3.2-2", "pass"),
    ]  # soft: both checks recorded
    assert soft["checks"][0]["expected"] == "200" and soft["checks"][0]["actual"] == "486"
    assert tcs["test_pics_excluded"]["reason"].startswith("PICS rules out every requirement")
    assert tcs["test_optional"]["reason"] == "optional; use --strict"
    assert tcs["test_cf_inconc"]["reason"] == "no upper tester configured for client-offline"
    assert "emulator crashed" in tcs["test_cf_error"]["reason"]
    assert tcs["test_pass"]["duration"] >= 0 and tcs["test_pass"]["role"] == "pf"
    reqs = {q["id"]: q for q in data["requirements"]}
    # per requirement: worst over its checks in every test case
    assert reqs["PF-8.3.2-1"]["verdict"] == "fail"
    assert reqs["PF-8.3.2-2"]["verdict"] == "pass"
    assert len(reqs["PF-8.3.2-1"]["test_cases"]) == 2
    assert reqs["PF-8.3.2.9-ADMIN"]["verdict"] == "n/a"
    assert reqs["CF-9.1-1"]["verdict"] == "error"
    assert reqs["PF-8.3.2-1"]["section"] == "8.3.2" and reqs["PF-8.3.2-1"]["strength"] == "SHALL"
    s = data["summary"]["test_cases"]
    assert (s["pass"], s["fail"], s["n/a"], s["inconc"], s["error"], s["total"]) == (
        1,
        1,
        2,
        1,
        1,
        6,
    )
    assert data["summary"]["verdict"] == "error"
    assert data["run"]["profile"]["name"] == "tiny"
    # the failure prints requirement / expected / actual
    r.stdout.fnmatch_lines(["*requirement: PF-8.3.2-1*", "*expected: 200*", "*actual:   486*"])
    # the JSON Lines side file has every test case (a killed run keeps what it finished)
    lines = (env["out"] / "results.jsonl").read_text().splitlines()
    assert sum(json.loads(x)["type"] == "test_case" for x in lines) == 6


def test_junit_properties(pytester: pytest.Pytester, env: dict[str, Path]) -> None:
    run(pytester, env)
    root = ET.parse(env["out"] / "junit.xml").getroot()  # noqa: S314 - our own file
    case = next(c for c in root.iter("testcase") if c.get("name") == "test_soft_fail")
    props = [(p.get("name"), p.get("value")) for p in case.iter("property")]
    assert ("requirement", "PF-8.3.2-1") in props and ("requirement", "PF-8.3.2-2") in props
    assert ("document", "OMA-TS-CPM_Conversation_Function") in props
    assert ("section", "8.3.2") in props and ("role", "pf") in props
    assert ("strength", "SHALL") in props and ("verdict", "fail") in props
    assert any(n == "links" and v.startswith("003_0557e26cc06c581a.txt#") for n, v in props)


def test_strict_runs_may(pytester: pytest.Pytester, env: dict[str, Path]) -> None:
    run(pytester, env, "--cpm-strict")
    assert verdicts(results(env))["test_optional"] == "pass"


def test_strict_requirements_alias(pytester: pytest.Pytester, env: dict[str, Path]) -> None:
    run(pytester, env, "--strict-requirements", "--requirement", "PF-8.4-MAY")
    assert verdicts(results(env)) == {"test_optional": "pass"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--role", "cf"), {"test_cf_inconc", "test_cf_error"}),
        (("--clause", "8.3.2"), {"test_pass", "test_soft_fail", "test_pics_excluded"}),
        (("--clause", "8.3.2.9"), {"test_pics_excluded"}),
        (
            ("--clause", "8.4", "--clause", "9"),
            {"test_optional", "test_cf_inconc", "test_cf_error"},
        ),
        (("--requirement", "PF-8.3.2-2"), {"test_pass", "test_soft_fail"}),
        (("--role", "pf", "--requirement", "CF-9.1-1"), set()),
    ],
)
def test_selection(
    pytester: pytest.Pytester, env: dict[str, Path], args: tuple[str, ...], expected: set[str]
) -> None:
    r = run(pytester, env, *args)
    assert set(verdicts(results(env))) == expected
    assert r.parseoutcomes().get("deselected", 0) == 6 - len(expected)


def test_role_not_under_test_is_na(pytester: pytest.Pytester, env: dict[str, Path]) -> None:
    env["profile"].write_text(PROFILE.replace('["pf", "cf"]', '["pf"]'), encoding="utf-8")
    run(pytester, env, "--role", "cf")
    data = results(env)
    assert set(verdicts(data).values()) == {"n/a"}
    assert data["test_cases"][0]["reason"].startswith("role not under test: cf")


FLOW = """
import pytest
from conformance.checks import expect_true

@pytest.mark.sut_roles("pf", "cf")
@pytest.mark.requirement("PF-8.3.2-1")
def test_flow(recorder):
    expect_true(recorder, "PF-8.3.2-1", True, expected="both roles")
"""


@pytest.mark.parametrize(
    ("roles", "verdict"), [('["pf", "cf"]', "pass"), ('["pf"]', "n/a"), ('["cf"]', "n/a")]
)
def test_system_flow_needs_every_sut_role(
    pytester: pytest.Pytester, env: dict[str, Path], roles: str, verdict: str
) -> None:
    env["profile"].write_text(PROFILE.replace('["pf", "cf"]', roles), encoding="utf-8")
    run(pytester, env, tests=FLOW)
    data = results(env)
    assert verdicts(data) == {"test_flow": verdict}
    if verdict == "n/a":
        missing = "cf" if roles == '["pf"]' else "pf"
        reason = data["test_cases"][0]["reason"]
        assert reason.startswith(f"role not under test: {missing} ")
        assert "needs the SUT roles pf, cf" in reason


def test_system_flow_is_selected_by_any_of_its_roles(
    pytester: pytest.Pytester, env: dict[str, Path]
) -> None:
    run(pytester, env, "--role", "cf", tests=FLOW)
    assert verdicts(results(env)) == {"test_flow": "pass"}


def test_unknown_requirement_fails_collection(
    pytester: pytest.Pytester, env: dict[str, Path]
) -> None:
    tests = """
    import pytest
    @pytest.mark.requirement("PF-8.3.2-11")
    def test_typo():
        pass
    """
    r = run(pytester, env, tests=tests)
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["*test_typo: unknown requirement id 'PF-8.3.2-11'*did you mean*"])


def test_check_against_undeclared_requirement_is_error(
    pytester: pytest.Pytester, env: dict[str, Path]
) -> None:
    tests = """
    import pytest
    from conformance.checks import expect_true
    @pytest.mark.requirement("PF-8.3.2-1")
    def test_wrong_id(recorder):
        expect_true(recorder, "PF-8.3.2-2", True, expected="x")
    """
    run(pytester, env, tests=tests)
    assert verdicts(results(env)) == {"test_wrong_id": "error"}


def test_fatal_and_inconc_after_fail(pytester: pytest.Pytester, env: dict[str, Path]) -> None:
    tests = """
    import pytest
    from conformance.checks import expect_equal, inconclusive, record_inconclusive
    @pytest.mark.requirement("PF-8.3.2-1", "PF-8.3.2-2")
    def test_fatal(recorder):
        expect_equal(recorder, "PF-8.3.2-1", expected=1, actual=2, fatal=True)
        raise RuntimeError("not reached")

    @pytest.mark.requirement("PF-8.3.2-1", "PF-8.3.2-2")
    def test_fail_then_inconc(recorder):
        expect_equal(recorder, "PF-8.3.2-1", expected=1, actual=2)
        inconclusive("gave up")

    @pytest.mark.requirement("PF-8.3.2-1", "PF-8.3.2-2")
    def test_soft_inconc(recorder):
        expect_equal(recorder, "PF-8.3.2-1", expected=1, actual=1)
        record_inconclusive(recorder, "PF-8.3.2-2", expected="NOTIFY", actual="none",
                            reason="client never subscribed")

    @pytest.mark.requirement("PF-8.3.2-1")
    def test_plain_assert():
        assert 1 == 2

    @pytest.mark.requirement("PF-8.3.2-1")
    def test_fixture_error(missing_fixture):
        pass
    """
    run(pytester, env, tests=tests)
    data = results(env)
    assert verdicts(data) == {
        "test_fatal": "fail",
        "test_fail_then_inconc": "fail",
        "test_soft_inconc": "inconc",
        "test_plain_assert": "fail",
        "test_fixture_error": "error",
    }
    soft = next(t for t in data["test_cases"] if t["nodeid"].endswith("test_soft_inconc"))
    assert "client never subscribed" in soft["reason"]


def test_outcomes_and_timeouts_map_to_verdicts_and_pytest_skips(
    pytester: pytest.Pytester, env: dict[str, Path]
) -> None:
    """inconc / n/a are plain exceptions below the plugin: raised in a test, a fixture's
    set-up or its teardown they are pytest skips (never failures in pytest's summary), and
    every guard timeout of the net layer is inconc."""
    tests = """
    import pytest
    from conformance.checks import inconclusive
    from conformance.errors import GuardTimeout
    from conformance.net.clock import WaitTimeout
    from conformance.roles.upper_tester import UpperTesterUnavailable

    @pytest.fixture
    def refused():
        inconclusive("preamble refused")

    @pytest.fixture
    def gone():
        yield
        inconclusive("left at teardown")

    @pytest.mark.requirement("PF-8.3.2-1")
    def test_in_fixture(refused):
        pass

    @pytest.mark.requirement("PF-8.3.2-1")
    def test_in_teardown(gone):
        pass

    @pytest.mark.requirement("PF-8.3.2-1")
    def test_upper_tester():
        raise UpperTesterUnavailable("no upper tester configured for reset")

    @pytest.mark.requirement("PF-8.3.2-1")
    def test_wait_timeout():
        raise WaitTimeout("SIP request INVITE", 0.5)

    @pytest.mark.requirement("PF-8.3.2-1")
    def test_other_guard_timeout():
        class Silence(GuardTimeout):
            pass
        raise Silence("no answer")
    """
    r = run(pytester, env, "-rs", tests=tests)
    data = results(env)
    assert verdicts(data) == {
        "test_in_fixture": "inconc",
        "test_in_teardown": "inconc",
        "test_upper_tester": "inconc",
        "test_wait_timeout": "inconc",
        "test_other_guard_timeout": "inconc",
    }
    reasons = {t["nodeid"].split("::")[-1]: t["reason"] for t in data["test_cases"]}
    assert reasons["test_in_fixture"] == "preamble refused"
    assert reasons["test_upper_tester"] == "no upper tester configured for reset"
    assert reasons["test_wait_timeout"] == "WaitTimeout: no SIP request INVITE within 0.5 s"
    r.assert_outcomes(passed=1, skipped=3, failed=2)
    r.stdout.fnmatch_lines(["*SKIPPED*inconc: preamble refused*"])


def test_invalid_profile_is_a_usage_error(pytester: pytest.Pytester, env: dict[str, Path]) -> None:
    env["profile"].write_text(PROFILE + '"pf.nope" = true\n', encoding="utf-8")
    r = run(pytester, env)
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines([f"*{env['profile']}: pics.pf.nope: unknown PICS option*"])


def test_inert_without_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    r = pytester.runpytest("-p", "no:cacheprovider", *QUIET)
    r.assert_outcomes(passed=1)
    assert "cpm-conformance verdicts" not in r.stdout.str()


def test_xdist_controller_writes_results(pytester: pytest.Pytester, env: dict[str, Path]) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_cases=textwrap.dedent(TESTS))
    r = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        *QUIET,
        "--catalog-dir",
        str(env["catalog"]),
        "--sut",
        str(env["profile"]),
        "--cpm-report-dir",
        str(env["out"]),
        f"--junitxml={env['out'] / 'junit.xml'}",
    )
    assert r.ret == pytest.ExitCode.TESTS_FAILED
    data = results(env)
    assert verdicts(data)["test_soft_fail"] == "fail"
    assert verdicts(data)["test_pics_excluded"] == "n/a"
    soft = next(t for t in data["test_cases"] if t["nodeid"].endswith("test_soft_fail"))
    assert len(soft["checks"]) == 2  # check results survive the worker boundary
    root = ET.parse(env["out"] / "junit.xml").getroot()  # noqa: S314 - our own file
    assert any(p.get("name") == "requirement" for p in root.iter("property"))
