"""The command line: requirements, coverage, run and its exit status (conformance/cli.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from conformance import cli
from tests.plugin.test_plugin import CATALOG, PROFILE

PASSING = """
import pytest
from conformance.checks import expect_equal

@pytest.mark.requirement("PF-8.3.2-1")
def test_one(recorder):
    expect_equal(recorder, "PF-8.3.2-1", expected=1, actual=1)

@pytest.mark.requirement("PF-8.3.2.9-ADMIN")
def test_excluded():
    raise RuntimeError("n/a: never runs")
"""
FAILING = (
    PASSING
    + """
@pytest.mark.requirement("PF-8.3.2-2")
def test_two(recorder):
    expect_equal(recorder, "PF-8.3.2-2", expected=1, actual=2)
"""
)
INCONC = (
    PASSING
    + """
from conformance.checks import inconclusive

@pytest.mark.requirement("CF-9.1-1")
def test_three():
    inconclusive("no upper tester configured for admin-trigger")
"""
)


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    cat = tmp_path / "catalog"
    cat.mkdir()
    (cat / "cf.toml").write_text(CATALOG, encoding="utf-8")
    profile = tmp_path / "tiny.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    tc = tmp_path / "tc"
    tc.mkdir()
    return {"catalog": cat, "profile": profile, "tc": tc, "out": tmp_path / "out"}


def run(world: dict[str, Path], tests: str, *extra: str) -> int:
    (world["tc"] / "test_cases.py").write_text(textwrap.dedent(tests), encoding="utf-8")
    return cli.main(
        [
            "run",
            "--catalog-dir",
            str(world["catalog"]),
            "--testcases",
            str(world["tc"]),
            "--sut",
            str(world["profile"]),
            "--report-dir",
            str(world["out"]),
            *extra,
            "--",
            "-q",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
        ]
    )


def results(world: dict[str, Path]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((world["out"] / "results.json").read_text())
    return data


def test_run_all_pass_is_0(world: dict[str, Path]) -> None:
    assert run(world, PASSING) == 0
    data = results(world)
    assert {t["verdict"] for t in data["test_cases"]} == {"pass", "n/a"}
    assert (world["out"] / "junit.xml").exists()


def test_run_any_fail_is_1(world: dict[str, Path]) -> None:
    assert run(world, FAILING + INCONC.replace(PASSING, "")) == 1


def test_run_inconc_without_fail_is_2(world: dict[str, Path]) -> None:
    assert run(world, INCONC) == 2
    assert results(world)["summary"]["test_cases"]["inconc"] == 1


def test_run_where_nothing_is_applicable_is_4(world: dict[str, Path]) -> None:
    assert run(world, PASSING, "--requirement", "PF-8.3.2.9-ADMIN") == 4
    assert {t["verdict"] for t in results(world)["test_cases"]} == {"n/a"}


def test_run_strict_and_selection_are_passed(world: dict[str, Path]) -> None:
    assert run(world, FAILING, "--requirement", "PF-8.3.2-1", "--strict") == 0
    data = results(world)
    assert [t["nodeid"].split("::")[-1] for t in data["test_cases"]] == ["test_one"]
    assert data["run"]["strict"] is True
    # what the run was: kept so that a run with faults never reads like a real SUT failing
    assert data["run"]["faults"] == [] and data["run"]["layout"] == "direct"
    assert data["run"]["store"] == "maildir" and data["run"]["reference_process"] == "inprocess"
    assert data["run"]["command"].startswith("cpm-conformance run --catalog-dir ")
    assert data["run"]["version"]


def test_run_invalid_profile_is_one_line_and_3(
    world: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    text = '[sut]\ntarget = "reference"\nroles = ["pf"]\n[timers]\nt1 = "x"\n'
    world["profile"].write_text(text, encoding="utf-8")
    assert run(world, PASSING) == 3
    err = capsys.readouterr().err
    assert err == (
        f"cpm-conformance: error: invalid SUT profile: {world['profile']}: "
        "timers.t1: expected a number of seconds, got a string 'x'\n"
    ).replace("a string 'x'", "a string")
    assert "Traceback" not in err


def test_run_missing_profile(world: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    world["profile"].unlink()
    assert run(world, PASSING) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err and "Traceback" not in err


def test_run_unknown_requirement_is_3(world: dict[str, Path]) -> None:
    tests = 'import pytest\n@pytest.mark.requirement("NOPE")\ndef test_x():\n    pass\n'
    assert run(world, tests) == 3


def test_requirements_table_and_json(
    world: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["requirements", "--catalog-dir", str(world["catalog"]), "--role", "cf"]) == 0
    out = capsys.readouterr().out
    assert "CF-9.1-1" in out and "PF-8.3.2-1" not in out and "1 requirements" in out
    assert (
        cli.main(["requirements", "--catalog-dir", str(world["catalog"]), "--format", "json"]) == 0
    )
    items = json.loads(capsys.readouterr().out)
    assert len(items) == 6 and items[0]["id"] == "PF-8.3.2-1"


def test_coverage(world: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    (world["tc"] / "test_cases.py").write_text(textwrap.dedent(FAILING), encoding="utf-8")
    base = ["coverage", "--catalog-dir", str(world["catalog"]), "--testcases", str(world["tc"])]
    assert cli.main(base) == 1
    out = capsys.readouterr().out
    # SHALLs without a test case; the MAY is not listed
    assert "PF-8.3.2-UNCOVERED" in out and "CF-9.1-1" in out and "PF-8.4-MAY" not in out
    assert "3 of 5 testable mandatory requirements covered; 2 uncovered" in out
    assert cli.main([*base, "--report-only"]) == 0
    capsys.readouterr()
    assert cli.main([*base, "--role", "pf", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [u["id"] for u in data["uncovered"]] == ["PF-8.3.2-UNCOVERED"]
    # --strict also counts the testable SHOULD and MAY requirements
    assert cli.main([*base, "--strict"]) == 1
    out = capsys.readouterr().out
    assert "PF-8.4-MAY" in out and "3 of 6 testable requirements covered; 3 uncovered" in out


def test_coverage_from_results(world: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    run(world, PASSING)
    capsys.readouterr()
    assert (
        cli.main(
            [
                "coverage",
                "--catalog-dir",
                str(world["catalog"]),
                "--results",
                str(world["out"] / "results.json"),
                "--role",
                "pf",
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "2 of 4" in out and "PF-8.3.2-2" in out


def test_python_dash_m() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0
    for name in ("requirements", "coverage", "run"):
        assert name in proc.stdout


def test_locate_testcases() -> None:
    assert (cli.locate_testcases() / "conftest.py").exists()


def test_run_parallel(world: dict[str, Path]) -> None:
    pytest.importorskip("xdist")
    assert run(world, FAILING, "-n", "2") == 1
    assert results(world)["summary"]["test_cases"]["fail"] == 1


def test_killed_run_keeps_what_it_finished(world: dict[str, Path]) -> None:
    from xml.etree import ElementTree as ET

    from conformance.report.results import load_results, write_junit

    run(world, FAILING)
    (world["out"] / "results.json").unlink()
    jsonl = world["out"] / "results.jsonl"
    lines = jsonl.read_text().splitlines()
    # drop the end record and cut the last test case in the middle of its line
    jsonl.write_text("\n".join(lines[:-2]) + "\n" + lines[-2][:20], encoding="utf-8")
    partial = load_results(world["out"])
    assert len(partial.test_cases) == 2 and partial.run["incomplete"] is True
    out = write_junit(partial, world["out"] / "rebuilt.xml")
    root = ET.parse(out).getroot()  # noqa: S314 - our own file
    assert len(list(root.iter("testcase"))) == 2
    assert any(p.get("name") == "verdict" for p in root.iter("property"))


def test_version_pics_and_faults(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance import __version__
    from conformance.catalog.pics import PICS_OPTIONS
    from conformance.reference.faults import FAULTS

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"cpm-conformance {__version__}\n"
    assert cli.main(["pics", "--format", "json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [i["option"] for i in items] == list(PICS_OPTIONS)
    gated = {i["option"]: i["gates"] for i in items}
    assert "PF-8.3.2-4" in gated["pf.do_not_disturb"]
    assert cli.main(["faults", "--role", "cf", "--format", "json"]) == 0
    faults = json.loads(capsys.readouterr().out)
    assert {f["fault"] for f in faults} == {n for n, f in FAULTS.items() if f.role == "cf"}
    assert all(f["requirements"] for f in faults)


def test_a_closed_pipe_ends_quietly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance", "requirements", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # the reader goes away, as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_a_run_clears_the_outputs_of_the_last_one(world: dict[str, Path]) -> None:
    out = world["out"]
    (out / "evidence").mkdir(parents=True)
    (out / "evidence" / "stale.log").write_text("old")
    (out / "notes.txt").write_text("mine")
    assert run(world, PASSING) == 0
    assert not (out / "evidence" / "stale.log").exists()
    assert (out / "notes.txt").read_text() == "mine"  # only the run's own outputs go


def test_run_prints_a_line_per_test_case_and_the_tool_s_count(
    world: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    assert run(world, FAILING + INCONC.replace(PASSING, "")) == 1
    out, err = capfd.readouterr()
    for word, section in (
        ("PASS", "8.3.2"),
        ("N/A", "8.3.2.9"),
        ("FAIL", "8.3.2"),
        ("INCONC", "9.1"),
    ):
        assert re.search(
            rf"^{re.escape(word)} +{re.escape(section)} .* \d+\.\d\d s$", out, re.MULTILINE
        ), (word, out)
    assert "test session starts" not in out and "platform " not in out  # no banner
    assert "../" not in out and "../" not in err
    assert not re.search(r"\d+ (failed|passed|skipped)", out + err)  # no pytest count line
    assert "failed (1 test case):\n  test_cases.py::test_two\n    PF-8.3.2-2  8.3.2  [fail]" in out
    assert "inconc (1 test case):\n  test_cases.py::test_three" in out
    assert "cpm-conformance: 4 test cases: 1 pass, 1 fail, 1 inconc, 0 error, 1 n/a;" in err


def test_run_verbose_is_pytest_s_own_output(
    world: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    assert run(world, PASSING, "-v", "--requirement", "PF-8.3.2-1") == 0
    out, err = capfd.readouterr()
    assert "test session starts" in out and "rootdir: " in out  # the banner
    assert "1 test case: 1 pass, 0 fail, 0 inconc, 0 error, 0 n/a;" in err


def test_run_quiet_has_no_line_per_test_case(
    world: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    assert run(world, FAILING, "-q") == 1
    out, _ = capfd.readouterr()
    assert not re.search(r"^(PASS|FAIL) ", out, re.MULTILINE)
    assert "failed (1 test case):" in out


def test_run_passes_k_x_and_last_failed(world: dict[str, Path]) -> None:
    def ran() -> list[str]:
        return [t["nodeid"].split("::")[-1] for t in results(world)["test_cases"]]

    assert run(world, FAILING, "-k", "one or two") == 1
    assert ran() == ["test_one", "test_two"]
    assert run(world, FAILING, "-x") == 1
    assert ran() == ["test_one", "test_excluded", "test_two"]
    # --lf: what failed in the last run with this report directory (its .pytest_cache)
    assert run(world, FAILING, "--lf") == 1
    assert ran() == ["test_two"]
    assert (world["out"] / ".pytest_cache").is_dir()


def test_run_reads_no_configuration_around_the_test_cases(
    world: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    # a checkout's own pyproject.toml, made for the project's tests, above the test cases:
    # its addopts would turn the cache (--lf) off and its plugin's option would warn
    (world["tc"].parent / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\naddopts = "-p no:cacheprovider"\ntimeout = 180\n',
        encoding="utf-8",
    )
    assert run(world, FAILING) == 1
    assert run(world, FAILING, "--lf") == 1
    assert [t["nodeid"] for t in results(world)["test_cases"]] == ["tc/test_cases.py::test_two"]
    out, err = capfd.readouterr()
    assert "Unknown config option" not in out + err
    assert "PytestConfigWarning" not in out + err


def test_a_closed_pipe_during_a_run_is_no_traceback(world: dict[str, Path]) -> None:
    marker = world["out"].parent / "reader-gone"
    tests = (
        PASSING
        + f"""
import time
from pathlib import Path

@pytest.mark.requirement("PF-8.3.2-2")
def test_after_the_reader_left(recorder):
    guard = time.monotonic() + 30
    while not Path({str(marker)!r}).exists() and time.monotonic() < guard:
        time.sleep(0.01)
    expect_equal(recorder, "PF-8.3.2-2", expected=1, actual=1)
"""
    )
    (world["tc"] / "test_cases.py").write_text(textwrap.dedent(tests), encoding="utf-8")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--catalog-dir",
            str(world["catalog"]),
            "--testcases",
            str(world["tc"]),
            "--sut",
            str(world["profile"]),
            "--report-dir",
            str(world["out"]),
            "--",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"PASS ")
    proc.stdout.close()  # the reader goes away, as `| head -1` does
    marker.write_text("")
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert len(results(world)["test_cases"]) == 3  # the run went on to its end


def test_a_collection_error_is_no_interrupt(
    world: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(world, "import pytest\ndef test_x(:\n    pass\n") == 3
    err = capsys.readouterr().err
    assert "collection error" in err and "interrupted" not in err


def test_the_pytest_child_caches_its_bytecode_outside_the_sources(tmp_path: Path) -> None:
    from conformance.child import bytecode_cache_env

    env = bytecode_cache_env({"PYTHONDONTWRITEBYTECODE": "1", "XDG_CACHE_HOME": str(tmp_path)})
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path / "cpm-conformance" / "pycache")
    # a prefix of the user's own is kept, and so is their choice when it has one
    mine = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": "/elsewhere"}
    assert bytecode_cache_env(dict(mine)) == mine
    assert bytecode_cache_env({"PATH": "/bin"}) == {"PATH": "/bin"}


def test_the_command_line_caches_its_own_bytecode_the_same_way(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    probe = (
        "import sys; from conformance.command import main; import conformance.child as c;"
        " c.use_bytecode_cache(); print(sys.pycache_prefix, sys.dont_write_bytecode)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
    for extra, expected in (
        ({"PYTHONDONTWRITEBYTECODE": "1"}, f"{tmp_path / 'cpm-conformance' / 'pycache'} False"),
        ({"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": "/elsewhere"}, "/elsewhere True"),
    ):
        out = subprocess.run(
            [sys.executable, "-c", probe],
            env={**env, "XDG_CACHE_HOME": str(tmp_path), **extra},
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == expected


def test_pytest_children_load_only_the_suites_plugins() -> None:
    from conformance.child import hermetic_env, plugin_args

    assert hermetic_env({"PATH": "/bin"}) == {"PATH": "/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    assert plugin_args() == ["-p", "conformance.plugin", "-p", "pytest_asyncio.plugin"]
    both = plugin_args(xdist=True, allure=True)
    assert both[-4:] == ["-p", "xdist.plugin", "-p", "allure_pytest.plugin"]


def test_requests_no_parallel_worker_took_are_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.cli import _warn_unroutable

    _warn_unroutable(None)
    _warn_unroutable({"count": 0})
    assert capsys.readouterr().err == ""
    lines = [f"SUBSCRIBE sip:conf-{i}@cf.test SIP/2.0 (unroutable)" for i in range(7)]
    _warn_unroutable({"count": 7, "first": lines})
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("cpm-conformance: warning: the dispatcher handed 7 request(s)")
    assert "-n 0" in err[0]
    assert err[1:] == [f"  {line}" for line in lines[:5]]


def test_an_interrupt_whose_traceback_has_no_line_number_prints_without_error() -> None:
    """CPython 3.11 gives an entry no line number for an instruction it maps to no line:
    pytest's formatting of the KeyboardInterrupt failed on it (an INTERNALERROR traceback
    after a SIGTERM), so the controller gives every entry one first."""
    import sys
    import types

    from conformance.pytest.controller import _printable_traceback

    frame = sys._getframe()  # noqa: SLF001 - a live frame for the entry
    tb = types.TracebackType(None, frame, 10**6, -1)  # an offset outside the code
    assert tb.tb_lineno is None
    error = KeyboardInterrupt("SIGTERM").with_traceback(tb)
    excinfo = pytest.ExceptionInfo.from_exception(error)
    with pytest.raises(TypeError):
        excinfo.getrepr(funcargs=True)
    _printable_traceback(excinfo)
    assert "KeyboardInterrupt: SIGTERM" in str(excinfo.getrepr(funcargs=True))
