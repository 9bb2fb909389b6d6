"""``cpm-conformance``: the command line (also ``python -m conformance``).

Subcommands::

    requirements [--role pf|cf|client] [--format table|json]
        the requirement catalogue
    coverage [--role ...] [--results results.json] [--report-only] [--format table|json]
        every testable mandatory requirement (SHALL, SHALL NOT and the flows' lower-case
        "shall", i.e. Strength.mandatory) that no test case covers; exit 1 when any is
        uncovered (0 with --report-only). A requirement that duplicates others counts as
        covered when one of them is. Without --results the test cases are collected
        (pytest --collect-only over the installed test cases); with --results, coverage
        is what that run executed.
    run --sut PROFILE|reference --report-dir DIR [--role R] [--clause S] [--requirement ID]
        [--strict] [-n N] [--alluredir DIR] [--layout direct|kamailio] [-- PYTEST ARGS]
        runs pytest over the test cases; writes DIR/results.json (DIR/results.jsonl as it
        goes) and DIR/junit.xml. Exit status: 0 when every applicable test case passed,
        1 on any fail, 2 when no fail but some inconc or error, 3 when the run could not
        start (preflight problem, invalid profile or catalogue, nothing selected, pytest
        usage error), 4 when every selected test case is n/a, 130 when interrupted.
    run ... --shard K/N [--durations-from RESULTS]
        shard K of N of the selection (a CI matrix; docs/ci.md): the split is deterministic,
        balanced by the durations of an earlier run when given, else by count; the results
        record the shard. A shard with nothing applicable exits 0 (merge judges the run).
    check --sut PROFILE|reference [--pics N=V] [--faults F] [--requirement ID] ...
        the preflight alone (conformance/preflight.py): one line per problem, exit 3.
        Also writes DIR/report.html and DIR/evidence/ (docs/report.md).
    report RESULTS [--out report.html]
        the HTML compliance report from a results.json (or its report directory, or a
        results.jsonl); default output: report.html next to the results
    merge RESULTS... --report-dir OUT
        the shards' results as one run: OUT/results.json, junit.xml, report.html (the
        requirement verdicts recomputed from the checks; each test case keeps its shard).
        Exit status as run's; 3 when the inputs cannot be merged (one line per problem).
    compare OLD NEW [--format table|json]
        the requirements whose verdict changed between two results files: regressions
        (e.g. pass -> fail), new fails, fixes, other changes. Exit status 1 when something
        got worse (a regression or a new fail), 0 otherwise, 2 when a file cannot be read.

Extension points: each subcommand is a :class:`Command` in :data:`COMMANDS` (a name, a
function adding its arguments, a handler returning the exit status). Planned:
``reference start`` (serve the reference SUT).
Errors the user can fix are one line on stderr (``cpm-conformance: error: ...``), never a
traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO

from conformance import __version__, child
from conformance.catalog.model import Requirement, Role
from conformance.catalog.profile import ProfileError, SutProfile, load_sut
from conformance.demo import cmd_demo, configure_demo
from conformance.net.layout import LAYOUTS
from conformance.preflight import PreflightReport, Selection, preflight
from conformance.robustness import cmd_robustness, configure_robustness
from conformance.selftest import cmd_selftest, configure_selftest

if TYPE_CHECKING:
    from conformance.catalog.loader import Catalog
    from conformance.report.model import RunResults

__all__ = ["COMMANDS", "CliError", "Command", "locate_testcases", "main"]

PROG = "cpm-conformance"
#: exit statuses (README, "Exit status"): pass; a fail; inconc or error; the run could not
#: start (configuration or usage); nothing applicable (every selected test case n/a);
#: interrupted (SIGINT or SIGTERM: what finished is kept, the run is incomplete)
EXIT_OK, EXIT_FAIL, EXIT_TROUBLE = 0, 1, 2
EXIT_CANNOT_START, EXIT_NOTHING_APPLICABLE, EXIT_INTERRUPTED = 3, 4, 130


class CliError(Exception):
    """A problem the user can fix: printed as one line per problem, exit status 3
    (:data:`EXIT_CANNOT_START`)."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], int]


# --------------------------------------------------------------------------- helpers


def _catalog(data_dir: str | None) -> Catalog:
    from conformance.catalog.loader import CatalogError, load_catalog

    data = data_dir or os.environ.get("CPM_CATALOG_DIR")
    try:
        return load_catalog(Path(data) if data else None)
    except CatalogError as exc:
        raise CliError(*(f"invalid requirement catalogue: {p}" for p in exc.problems)) from None


def _requirements(catalog: Catalog, role: str | None) -> list[Requirement]:
    reqs = list(catalog.requirements)
    if role:
        r = Role(role)
        reqs = [q for q in reqs if r in q.roles]
    return reqs


def locate_testcases() -> Path:
    """The folder of the installed ``conformance.testcases`` package (conformance/child.py)."""
    try:
        return child.locate_testcases()
    except child.TestcasesNotFound as exc:
        raise CliError(str(exc)) from None


def _table(rows: list[list[str]], headers: list[str], out: TextIO) -> None:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    fmt = "  ".join(f"{{:{w}}}" for w in widths[:-1]) + "  {}"
    out.write(fmt.format(*headers).rstrip() + "\n")
    out.write(fmt.format(*("-" * w for w in widths)).rstrip() + "\n")
    for row in rows:
        out.write(fmt.format(*row).rstrip() + "\n")


def _pytest_env(args: argparse.Namespace) -> dict[str, str]:
    env = child.hermetic_env(child.bytecode_cache_env(dict(os.environ)))
    if getattr(args, "catalog_dir", None):
        env["CPM_CATALOG_DIR"] = str(Path(args.catalog_dir).resolve())
    return env


# --------------------------------------------------------------------------- requirements


def _configure_requirements(p: argparse.ArgumentParser) -> None:
    p.add_argument("--role", choices=[r.value for r in Role])
    p.add_argument("--format", choices=["table", "json"], default="table")


def cmd_requirements(args: argparse.Namespace) -> int:
    catalog = _catalog(args.catalog_dir)
    reqs = _requirements(catalog, args.role)
    if args.format == "json":
        ids = {r.id for r in reqs}
        items = [d for d in catalog.to_json_list() if d.get("id") in ids]
        json.dump(items, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    rows = [
        [
            r.id,
            r.strength.value,
            ",".join(x.value for x in r.roles),
            r.clause,
            "yes" if r.testability.testable else "no",
            r.applicability,
            r.title or r.quote[:60],
        ]
        for r in reqs
    ]
    _table(
        rows,
        ["id", "strength", "roles", "clause", "testable", "applicability", "title"],
        sys.stdout,
    )
    sys.stdout.write(f"{len(reqs)} requirements\n")
    return EXIT_OK


# --------------------------------------------------------------------------- pics, faults


def _configure_pics(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["table", "json"], default="table")


def cmd_pics(args: argparse.Namespace) -> int:
    """The PICS proforma: every option, its values and default, what it means and which
    requirements it gates."""
    from conformance.catalog.gates import pics_gates
    from conformance.catalog.pics import PICS_OPTIONS

    gates = pics_gates(_catalog(args.catalog_dir))
    items: list[dict[str, Any]] = [
        {
            "option": o.name,
            "values": list(o.choices) if o.kind == "choice" else ["true", "false"],
            "default": o.default,
            "description": o.description,
            "source": o.source,
            "gates": gates.get(o.name, []),
        }
        for o in PICS_OPTIONS.values()
    ]
    if args.format == "json":
        json.dump(items, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    rows = [
        [
            i["option"],
            "/".join(i["values"]),
            str(i["default"]).lower(),
            f"{len(i['gates'])} requirements" if i["gates"] else "-",
            i["description"],
        ]
        for i in items
    ]
    _table(rows, ["option", "values", "default", "gates", "description"], sys.stdout)
    sys.stdout.write(f"{len(items)} PICS options\n")
    return EXIT_OK


def _configure_faults(p: argparse.ArgumentParser) -> None:
    p.add_argument("--role", choices=[r.value for r in Role])
    p.add_argument("--format", choices=["table", "json"], default="table")


def cmd_faults(args: argparse.Namespace) -> int:
    """The reference SUT's faults: each with the requirements it breaks."""
    from conformance.reference.faults import FAULTS

    faults = [f for f in FAULTS.values() if not args.role or f.role == args.role]
    if args.format == "json":
        json.dump(
            [
                {
                    "fault": f.name,
                    "role": f.role,
                    "requirements": list(f.requirement_ids),
                    "pics": {n: v for n, v in f.pics},
                    "description": f.description,
                }
                for f in faults
            ],
            sys.stdout,
            indent=2,
            ensure_ascii=False,
        )
        sys.stdout.write("\n")
        return EXIT_OK
    rows = [
        [
            f.name,
            f.role,
            ", ".join(f.requirement_ids),
            ", ".join(f"{n}={v}" for n, v in f.pics) or "-",
            f.description,
        ]
        for f in faults
    ]
    _table(rows, ["fault", "role", "breaks", "needs claims", "description"], sys.stdout)
    sys.stdout.write(f"{len(faults)} faults\n")
    return EXIT_OK


# --------------------------------------------------------------------------- coverage


def collect_covered(testcases: Path, args: argparse.Namespace) -> dict[str, list[str]]:
    """requirement id -> test case node ids, by ``pytest --collect-only`` in a subprocess."""
    with tempfile.TemporaryDirectory(prefix="cpm-collect-") as tmp:
        out = Path(tmp) / "collected.json"
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            str(testcases),
            *child.suite_args(testcases),
            "--collect-only",
            "-q",
            *child.plugin_args(),
            "-p",
            "no:cacheprovider",
            "--strict-markers",
            f"--cpm-collect-json={out}",
        ]
        proc = subprocess.run(
            cmd, env=_pytest_env(args), capture_output=True, text=True, check=False
        )
        if not out.exists():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
            raise CliError("collecting the test cases failed:", *tail)
        data: dict[str, list[str]] = json.loads(out.read_text(encoding="utf-8"))
    covered: dict[str, list[str]] = {}
    for nodeid, ids in data.items():
        for rid in ids:
            covered.setdefault(rid, []).append(nodeid)
    return covered


def _configure_coverage(p: argparse.ArgumentParser) -> None:
    p.add_argument("--role", choices=[r.value for r in Role])
    p.add_argument(
        "--results",
        metavar="results.json",
        help="coverage of a past run instead of the collected test cases",
    )
    p.add_argument(
        "--report-only", action="store_true", help="exit 0 even when requirements are uncovered"
    )
    p.add_argument(
        "--strict", action="store_true", help="also count the testable SHOULD and MAY requirements"
    )
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument(
        "--store",
        choices=("maildir", "dovecot"),
        default="maildir",
        help="the reference SUT's Message Store: Maildir (default) or Dovecot (IMAP)",
    )
    p.add_argument("--testcases", help=argparse.SUPPRESS)


def cmd_coverage(args: argparse.Namespace) -> int:
    catalog = _catalog(args.catalog_dir)
    if args.results:
        from conformance.report.results import load_results

        try:
            results = load_results(args.results)
        except (OSError, ValueError) as exc:
            raise CliError(f"{args.results}: cannot read results: {exc}") from None
        covered = {r.id: list(r.test_cases) for r in results.requirements()}
    else:
        testcases = Path(args.testcases) if args.testcases else locate_testcases()
        covered = collect_covered(testcases, args)
    strict = bool(getattr(args, "strict", False))
    targets = [
        r
        for r in _requirements(catalog, args.role)
        if r.testability.testable and (strict or r.strength.mandatory)
    ]
    kind = "testable" if strict else "testable mandatory"

    def is_covered(r: Requirement) -> bool:
        return r.id in covered or any(d in covered for d in r.duplicates)

    uncovered = [r for r in targets if not is_covered(r)]
    if args.format == "json":
        json.dump(
            {
                "strict": strict,  # with --strict the SHOULD and MAY requirements count too
                "targets": len(targets),
                "covered": len(targets) - len(uncovered),
                "uncovered": [
                    {
                        "id": r.id,
                        "strength": r.strength.value,
                        "role": r.role.value,
                        "clause": r.clause,
                        "title": r.title,
                    }
                    for r in uncovered
                ],
                "test_cases": {r.id: covered.get(r.id, []) for r in targets},
            },
            sys.stdout,
            indent=2,
            ensure_ascii=False,
        )
        sys.stdout.write("\n")
    else:
        if uncovered:
            _table(
                [
                    [r.id, r.strength.value, r.role.value, r.clause, r.title or r.quote[:60]]
                    for r in uncovered
                ],
                ["uncovered", "strength", "role", "clause", "title"],
                sys.stdout,
            )
        sys.stdout.write(
            f"{len(targets) - len(uncovered)} of {len(targets)} {kind} "
            f"requirements covered; {len(uncovered)} uncovered\n"
        )
    if uncovered and not args.report_only:
        return EXIT_FAIL
    return EXIT_OK


# --------------------------------------------------------------------------- run


def _configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sut",
        default="reference",
        metavar="PROFILE|reference",
        help="SUT profile (TOML) or 'reference' (default)",
    )
    p.add_argument(
        "--report-dir", required=True, metavar="DIR", help="where results.json and junit.xml go"
    )
    p.add_argument("--role", action="append", default=[], choices=[r.value for r in Role])
    p.add_argument("--clause", action="append", default=[], metavar="SECTION")
    p.add_argument("--requirement", action="append", default=[], metavar="ID")
    p.add_argument("--strict", action="store_true", help="also judge SHOULD and MAY requirements")
    p.add_argument(
        "-n",
        dest="workers",
        metavar="N",
        help="parallel workers (pytest-xdist), each with its slice of the user pool: a number,"
        " 'auto', or 0 for a serial run (default: $CPM_WORKERS, else as many as the pool"
        " allows, docs/parallel.md)",
    )
    p.add_argument("--alluredir", metavar="DIR", help="also write Allure results")
    p.add_argument(
        "--pics",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one PICS claim of the profile (repeatable)",
    )
    p.add_argument(
        "--faults",
        metavar="NAME[,NAME...]",
        help="reference SUT faults to switch on (overrides the profile's)",
    )
    p.add_argument(
        "--layout",
        choices=LAYOUTS,
        default=LAYOUTS[0],
        help="direct (default), or kamailio: Kamailio as the SIP/IP core between"
        " the tool and the SUT",
    )
    p.add_argument(
        "--store",
        choices=("maildir", "dovecot"),
        default="maildir",
        help="the reference SUT's Message Store: Maildir (default) or Dovecot (IMAP)",
    )
    p.add_argument(
        "--reference-process",
        choices=("inprocess", "subprocess"),
        default="inprocess",
        help="the reference SUT in the test process (default) or as a subprocess",
    )
    out = p.add_argument_group(
        "output and pytest options",
        "by default one line per test case (verdict, section, title, duration), then the"
        " failed, error and inconc requirements with their evidence and the count"
        " (docs/terminal.md); these options are passed to pytest, any other pytest option"
        " goes after '--' (run ... -- --tb=long)",
    )
    out.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="pytest's own output: its banner, a line per test with its node id,"
        " tracebacks (-vv: more); the end summary stays",
    )
    out.add_argument(
        "-q", "--quiet", action="store_true", help="no line per test case: only the end summary"
    )
    out.add_argument(
        "-x",
        "--exitfirst",
        action="store_true",
        help="stop after the first test case that fails or errs",
    )
    out.add_argument(
        "-k",
        dest="keyword",
        metavar="EXPR",
        help="only the test cases whose names match EXPR (pytest -k)",
    )
    out.add_argument(
        "--lf",
        "--last-failed",
        dest="last_failed",
        action="store_true",
        help="only the test cases that failed (fail or error) in the last run"
        " with the same --report-dir (all of them when none failed); the"
        " record is DIR/.pytest_cache",
    )
    _configure_shard(p)
    p.add_argument("--testcases", help=argparse.SUPPRESS)


@dataclass(slots=True)
class PytestRun:
    """The pytest child of ``run``: its exit status, and whether the run was interrupted."""

    code: int
    interrupted: bool = False


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _terminal() -> int | None:
    """The controlling terminal when this process is its foreground job, else None."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    try:
        if os.tcgetpgrp(fd) == os.getpgrp():
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _hand_terminal(fd: int, pgid: int) -> None:
    """Make ``pgid`` the terminal's foreground job (SIGTTOU ignored: we may be in the
    background by then)."""
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(fd, pgid)
    finally:
        signal.signal(signal.SIGTTOU, previous)


def _warm_report() -> None:
    """What every report render needs first (conformance.report.html.warm); a failure here
    only leaves that work to the render, which reports it."""
    try:
        from conformance.report.html import warm

        warm()
    except Exception:  # the render that follows meets the same error
        return


def _run_pytest(cmd: list[str], env: dict[str, str]) -> PytestRun:
    """Run pytest in a process group of its own and own it. A Ctrl-C at the terminal goes
    to that group alone (it is the terminal's foreground job while it runs, so the manual
    upper tester can still prompt); SIGINT or SIGTERM sent to this process is forwarded as
    one SIGINT to the group. Either way pytest stops the test case in progress, every
    fixture stops what it started, and the results are written. A second signal forces the
    exit (SIGKILL to the group). The child never outlives this process."""
    # SIGINT back to its default in the child: a job started in the background by a
    # non-interactive shell inherits SIGINT ignored, and pytest would then never see it
    relay = not _is_tty(sys.stdout)
    proc = subprocess.Popen(
        cmd,
        env=env,
        process_group=0,
        preexec_fn=_default_sigint,
        stdout=subprocess.PIPE if relay else None,
    )
    relaying = threading.Thread(target=_relay, args=(proc.stdout,), daemon=True) if relay else None
    if relaying is not None:
        relaying.start()
    terminal = _terminal()
    if terminal is not None:
        _hand_terminal(terminal, proc.pid)
    received: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        received.append(signum)
        try:
            if len(received) == 1:
                print(
                    f"\n{PROG}: {signal.Signals(signum).name}: stopping the test case in"
                    " progress and writing the results (again to force the exit)",
                    file=sys.stderr,
                )
                os.killpg(proc.pid, signal.SIGINT)
            else:
                print(f"{PROG}: forced exit", file=sys.stderr)
                os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # the child has already exited

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            try:
                code = proc.wait()
                break
            except KeyboardInterrupt:  # pragma: no cover - the handler replaces it
                continue
    finally:
        if terminal is not None:
            _hand_terminal(terminal, os.getpgrp())
            os.close(terminal)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if proc.poll() is None:  # an exception got us here: the child must not outlive us
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if relaying is not None:
            relaying.join(timeout=5.0)
    return PytestRun(code, interrupted=bool(received))


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _relay(source: IO[bytes] | None) -> None:
    """Copy the child's output to ours (stdout is a pipe or a file). When the reader goes
    away (``run ... | head``), the rest is dropped quietly: the child runs on and writes its
    results, and nobody sees a traceback."""
    if source is None:
        return
    out: IO[bytes] | None = sys.stdout.buffer
    with source:
        for chunk in iter(lambda: os.read(source.fileno(), 65536), b""):
            if out is None:
                continue
            try:
                out.write(chunk)
                out.flush()
            except (BrokenPipeError, ValueError, OSError):
                out = None
                devnull = os.open(os.devnull, os.O_WRONLY)
                with contextlib.suppress(OSError):
                    os.dup2(devnull, sys.stdout.fileno())
                os.close(devnull)


#: run's -n when none is given (a number, "auto", or 0 for serial; default: the pool's)
ENV_WORKERS = "CPM_WORKERS"


def run_workers(args: argparse.Namespace, profile: SutProfile) -> str:
    """``-n`` for pytest: the user's (or ``$CPM_WORKERS``), else as many workers as the
    user pool allows (docs/parallel.md); "" for a serial run."""
    from conformance.catalog.pool import slice_count
    from conformance.pytest.pool import default_workers
    from conformance.report.shards import parse_shard

    shards = parse_shard(args.shard).total if args.shard else 1
    requested = args.workers if args.workers is not None else os.environ.get(ENV_WORKERS) or None
    if requested in ("auto", "logical") and args.layout == LAYOUTS[0]:
        # pytest-xdist's "auto" is one worker per CPU: no more than the pool's slices
        return str(min(os.cpu_count() or 1, max(1, slice_count(profile.pixit) // shards)))
    if requested is not None:
        return "" if str(requested) == "0" else str(requested)
    if (
        args.layout != LAYOUTS[0]
        or args.store != "maildir"
        or args.reference_process != "inprocess"
        or importlib.util.find_spec("xdist") is None
    ):
        # the set-ups that test a backend of the reference SUT (Kamailio, Dovecot, the
        # subprocess) stay serial unless -n asks otherwise
        return ""
    count = default_workers(profile.pixit, shards=shards)
    if count <= 1:
        return ""
    print(
        f"{PROG}: {count} parallel workers, each with its slice of the user pool (-n 0: serial)",
        file=sys.stderr,
    )
    return str(count)


def cmd_run(args: argparse.Namespace) -> int:
    from conformance.report.model import exit_status
    from conformance.report.results import JUNIT_NAME, RESULTS_NAME, load_results, write_junit

    profile = _profile(args.sut)
    shard_options = _shard_options(args)
    _preflight_or_stop(profile, args)
    sut = "reference" if args.sut == "reference" else str(Path(args.sut).resolve())
    report_dir = Path(args.report_dir).resolve()
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        clear_outputs(report_dir)
    except OSError as exc:
        raise CliError(f"{report_dir}: cannot create the report directory: {exc}") from None
    testcases = Path(args.testcases).resolve() if args.testcases else locate_testcases()
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(testcases),
        *child.suite_args(testcases),
        # the cache (what --lf reads) lives with the results it belongs to
        "-o",
        f"cache_dir={report_dir / CACHE_DIR}",
        "--strict-markers",
        # the tool's own plugin is imported before pytest could rewrite it: not the user's
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "--sut",
        sut,
        "--cpm-report-dir",
        str(report_dir),
        f"--junitxml={report_dir / JUNIT_NAME}",
    ]
    if args.strict:
        cmd.append("--cpm-strict")
    for role in args.role:
        cmd += ["--role", role]
    for clause in args.clause:
        cmd += ["--clause", clause]
    for rid in args.requirement:
        cmd += ["--requirement", rid]
    workers = run_workers(args, profile)
    if workers:
        if importlib.util.find_spec("xdist") is None:
            raise CliError("-n needs pytest-xdist (pip install 'cpm-conformance[xdist]')")
        cmd += ["-n", workers]
    # only these plugins load (conformance/child.py hermetic_env); pytest-xdist whenever it
    # is installed (-n among the pytest options after -- too)
    xdist = bool(workers) or importlib.util.find_spec("xdist") is not None
    cmd += child.plugin_args(xdist=xdist, allure=bool(args.alluredir))
    if args.alluredir:
        cmd.append(f"--alluredir={Path(args.alluredir).resolve()}")
    if args.faults:
        cmd += ["--faults", args.faults]
    for claim in args.pics:
        cmd += ["--pics", claim]
    if args.layout != LAYOUTS[0]:
        cmd += ["--layout", args.layout]
    if args.store != "maildir":
        cmd += ["--store", args.store]
    if args.reference_process != "inprocess":
        cmd += ["--reference-process", args.reference_process]
    cmd += shard_options
    cmd += _output_options(args)
    cmd += list(args.pytest_args)
    print(
        f"{PROG}: running {profile.name!r} ({profile.target.value}; roles "
        f"{', '.join(r.value for r in profile.roles)})",
        file=sys.stderr,
    )
    faults = [f.strip() for f in (args.faults or "").split(",") if f.strip()] or profile.faults
    if faults:
        print(
            f"{PROG}: the reference SUT runs with faults switched on: {', '.join(faults)}"
            " (its failures are the self-test's, not a real SUT's)",
            file=sys.stderr,
        )
    env = _pytest_env(args)
    env["CPM_COMMAND"] = shlex.join([PROG, *getattr(args, "argv", [])])
    # the report's template and catalogue load while the test cases run (not after them)
    threading.Thread(target=_warm_report, name="cpm-report-warm", daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="cpm-run-") as scratch:
        if workers:
            # pytest-xdist makes the controller create pytest's base temporary directory
            # (pytest-of-USER, kept by pytest's policy): give it one this run removes
            cmd += ["--basetemp", str(Path(scratch) / "basetemp")]
        pytest_run = _run_pytest(cmd, env)
    code = pytest_run.code
    results_path = report_dir / RESULTS_NAME
    if pytest_run.interrupted or (code == 2 and _marked_incomplete(report_dir)):
        return _finish_interrupted(report_dir)
    if code == 2:
        raise CliError(
            "pytest stopped before running the test cases (exit status 2, e.g. a"
            " collection error); see its message above"
        )
    if code in (3, 4):
        raise CliError(
            f"pytest could not run the test cases (exit status {code}); see its message above"
        )
    if code == 5 and not args.shard:
        raise CliError("no test case selected (see --role, --clause and --requirement)")
    try:
        results = load_results(report_dir)
    except (OSError, ValueError) as exc:
        raise CliError(f"no results in {report_dir} (pytest exit status {code}): {exc}") from None
    if not (report_dir / JUNIT_NAME).exists():
        write_junit(results, report_dir / JUNIT_NAME)
    if not results_path.exists():
        from conformance.report.results import write_json_atomic

        write_json_atomic(results_path, results.to_json())
    from conformance.report.html import REPORT_NAME, write_html

    try:
        write_html(results, report_dir / REPORT_NAME)
    except OSError as exc:
        raise CliError(f"{report_dir / REPORT_NAME}: cannot write the report: {exc}") from None
    from conformance.pytest.terminal import count_line, relative_path

    counts = results.summary()["test_cases"]
    status = _shard_status(exit_status(results), args, len(results.test_cases))
    _warn_unroutable(results.run.get("dispatcher_unroutable"))
    print(
        f"{PROG}: {count_line(counts)}; results in {relative_path(results_path)};"
        f" exit status {status}",
        file=sys.stderr,
    )
    return status


def _warn_unroutable(misses: object) -> None:
    """The requests of the SUT no parallel worker took (conformance/pytest/pool.py
    dispatcher_misses), said before the count line."""
    if not isinstance(misses, dict) or not misses.get("count"):
        return
    print(
        f"{PROG}: warning: the dispatcher handed {misses['count']} request(s) of the SUT to"
        " no worker (a serial run's core would have taken them; compare with -n 0):",
        file=sys.stderr,
    )
    for line in misses.get("first", [])[:MISSES_PRINTED]:
        print(f"  {line}", file=sys.stderr)


#: requests no worker took, printed at the end of a parallel run (results.json has more)
MISSES_PRINTED = 5

#: the pytest cache of a run (``--lf``), in its report directory
CACHE_DIR = ".pytest_cache"


def _output_options(args: argparse.Namespace) -> list[str]:
    """pytest's output and selection options for ``run``: by default the suite's terminal
    (a line per test case, no banner, no pytest progress or count line; see
    :mod:`conformance.pytest.terminal`); with ``-v`` pytest's own output."""
    if args.verbose:
        out = ["-" + "v" * args.verbose, "-rs"]
    else:
        out = [
            "-qq",
            "-o",
            "console_output_style=classic",
            "--tb=short",
            "-rN",
            "--cpm-terminal",
            "summary" if args.quiet else "cases",
        ]
    if args.exitfirst:
        out.append("-x")
    if args.keyword:
        out += ["-k", args.keyword]
    if args.last_failed:
        out.append("--lf")
    return out


def _marked_incomplete(report_dir: Path) -> bool:
    """The child says it was interrupted (Ctrl-C at the terminal reaches it directly)."""
    from conformance.report.results import JSONL_NAME, load_results

    try:
        return bool(load_results(report_dir / JSONL_NAME).run.get("incomplete"))
    except (OSError, ValueError):
        return False


def _finish_interrupted(report_dir: Path) -> int:
    """An interrupted run: what finished is kept; results.json, junit.xml and report.html
    are written from it, marked incomplete, and the status says interrupted."""
    from conformance.report.html import REPORT_NAME, write_html
    from conformance.report.results import (
        JSONL_NAME,
        JUNIT_NAME,
        RESULTS_NAME,
        load_results,
        write_json_atomic,
        write_junit,
    )

    source = report_dir / JSONL_NAME
    if not source.exists():
        source = report_dir / RESULTS_NAME
    try:
        results = load_results(source)
    except (OSError, ValueError):
        from conformance.report.model import RunResults

        results = RunResults()
    results.run["incomplete"] = True
    write_json_atomic(report_dir / RESULTS_NAME, results.to_json())
    write_junit(results, report_dir / JUNIT_NAME)
    write_html(results, report_dir / REPORT_NAME)
    done = len(results.test_cases)
    print(
        f"{PROG}: interrupted after {done} test case{'s' if done != 1 else ''}; incomplete"
        f" results in {report_dir / RESULTS_NAME} (re-render with `{PROG} report"
        f" {report_dir}`); exit status {EXIT_INTERRUPTED}",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED


#: what a run writes into its report directory; a new run removes the old ones first, so
#: that no evidence of an earlier run is read as this one's (nothing else is touched)
RUN_OUTPUTS = ("results.json", "results.jsonl", "junit.xml", "report.html")


def clear_outputs(report_dir: Path) -> None:
    from conformance.report.evidence import EVIDENCE_DIR

    for name in RUN_OUTPUTS:
        (report_dir / name).unlink(missing_ok=True)
    evidence = report_dir / EVIDENCE_DIR
    if evidence.is_dir() and not evidence.is_symlink():
        shutil.rmtree(evidence)


def _profile(spec: str) -> SutProfile:
    try:
        return load_sut(spec)
    except ProfileError as exc:
        raise CliError(*(f"invalid SUT profile: {line}" for line in exc.lines())) from None


def _selection(args: argparse.Namespace) -> Selection:
    faults = getattr(args, "faults", None) or ""
    return Selection(
        pics=tuple(getattr(args, "pics", ()) or ()),
        faults=tuple(f.strip() for f in faults.split(",") if f.strip()),
        requirements=tuple(getattr(args, "requirement", ()) or ()),
        clauses=tuple(getattr(args, "clause", ()) or ()),
        roles=tuple(getattr(args, "role", ()) or ()),
    )


def _preflight(profile: SutProfile, args: argparse.Namespace, *, probe: bool) -> PreflightReport:
    from conformance.reference.faults import FAULTS

    return preflight(profile, _selection(args), _catalog(args.catalog_dir), FAULTS, probe=probe)


def _preflight_or_stop(profile: SutProfile, args: argparse.Namespace) -> None:
    """The run does not start when the preflight finds a problem (one line each)."""
    report = _preflight(profile, args, probe=True)
    if not report.ok:
        raise CliError(*(str(p) for p in report.problems))


# --------------------------------------------------------------------------- check


def _configure_check(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sut",
        default="reference",
        metavar="PROFILE|reference",
        help="SUT profile (TOML) or 'reference' (default)",
    )
    p.add_argument("--role", action="append", default=[], metavar="ROLE")
    p.add_argument("--clause", action="append", default=[], metavar="SECTION")
    p.add_argument("--requirement", action="append", default=[], metavar="ID")
    p.add_argument("--pics", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--faults", metavar="NAME[,NAME...]")


def cmd_check(args: argparse.Namespace) -> int:
    """The preflight alone: every problem on one line, then the exit status 3; else what
    was checked, and 0."""
    report = _preflight(_profile(args.sut), args, probe=True)
    for note in report.notes:
        print(f"ok: {note}")
    if not report.ok:
        raise CliError(*(str(p) for p in report.problems))
    print(f"{PROG}: ready to run")
    return EXIT_OK


# --------------------------------------------------------------------------- report, compare


def _load(path: str) -> RunResults:
    from conformance.report.results import load_results

    try:
        return load_results(path)
    except (OSError, ValueError, KeyError) as exc:
        raise CliError(f"{path}: cannot read results: {exc}") from None


def _configure_report(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "results", metavar="RESULTS", help="results.json, results.jsonl or a report directory"
    )
    p.add_argument(
        "--out", metavar="HTML", help="output file (default: report.html next to the results)"
    )


def cmd_report(args: argparse.Namespace) -> int:
    from conformance.report.html import REPORT_NAME, write_html

    results = _load(args.results)
    src = Path(args.results)
    out = Path(args.out) if args.out else (src if src.is_dir() else src.parent) / REPORT_NAME
    try:
        write_html(results, out, _catalog(args.catalog_dir))
    except OSError as exc:
        raise CliError(f"{out}: cannot write the report: {exc}") from None
    print(f"{PROG}: report in {out}", file=sys.stderr)
    return EXIT_OK


def _configure_compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("old", metavar="OLD", help="the baseline results (results.json or DIR)")
    p.add_argument("new", metavar="NEW", help="the new results (results.json or DIR)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument(
        "--allow-shrink",
        action="store_true",
        help="a requirement OLD judged and NEW did not (a smaller run) is no failure",
    )
    p.add_argument(
        "--only-regressions", action="store_true", help="list only what makes the comparison fail"
    )


def cmd_compare(args: argparse.Namespace) -> int:
    from conformance.report.compare import (
        BAD_KINDS,
        compare,
        compare_test_cases,
        summary,
        worse,
    )

    old, new = _load(args.old), _load(args.new)
    changes = compare(old, new)
    cases = compare_test_cases(old, new)
    status = EXIT_FAIL if worse(changes, allow_shrink=args.allow_shrink) else EXIT_OK
    shown = [c for c in changes if c.kind in BAD_KINDS] if args.only_regressions else changes
    line = summary(changes, cases)
    if args.format == "json":
        json.dump(
            {
                "summary": line,
                "requirements": [c.to_json() for c in shown],
                "test_cases": [c.to_json() for c in cases],
                "worse": status == EXIT_FAIL,
            },
            sys.stdout,
            indent=1,
        )
        sys.stdout.write("\n")
        return status
    if shown:
        rows = [[c.kind, c.requirement, c.to_json()["old"], c.to_json()["new"]] for c in shown]
        _table(rows, ["change", "requirement", "old", "new"], sys.stdout)
    elif not changes:
        print("no requirement verdict changed")
    if cases and not args.only_regressions:
        print()
        _table([[c.nodeid, c.old, c.new] for c in cases], ["test case", "old", "new"], sys.stdout)
    print(line)
    return status


# --------------------------------------------------------------------------- shard, merge


def _configure_shard(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "across machines",
        "split the selection over N machines (a CI matrix) and merge their results with"
        f" `{PROG} merge` (docs/ci.md)",
    )
    g.add_argument(
        "--shard",
        metavar="K/N",
        help="run shard K of N of the selection: every test case is in exactly one shard;"
        " the results record the shard. A shard with nothing to run, or with only n/a"
        " test cases, exits 0: the merge judges the whole run",
    )
    g.add_argument(
        "--durations-from",
        metavar="RESULTS",
        help="balance the shards by the durations of an earlier run (its results.json or"
        " report directory, a merged one too, or pytest-split's .test_durations); without"
        " it the shards are split by count",
    )


def _shard_options(args: argparse.Namespace) -> list[str]:
    """The pytest options of ``--shard`` and ``--durations-from``, checked before the run
    starts (a bad K/N or an unreadable durations file is one line, exit status 3)."""
    from conformance.report.shards import ShardError, durations_from, parse_shard

    shard, durations = getattr(args, "shard", None), getattr(args, "durations_from", None)
    if durations and not shard:
        raise CliError("--durations-from balances the shards of --shard K/N: give --shard too")
    if not shard:
        return []
    try:
        out = ["--cpm-shard", str(parse_shard(shard))]
        if durations:
            durations_from(durations)
            out += ["--cpm-durations", str(Path(durations).resolve())]
    except ShardError as exc:
        raise CliError(str(exc)) from None
    return out


def _shard_status(status: int, args: argparse.Namespace, ran: int) -> int:
    """A shard that had nothing to run, or only n/a test cases, exits 0 rather than 4: in a
    CI matrix "nothing applicable" is a fact of the whole selection, which ``merge`` judges
    (it exits 4 then); a shard job must not fail because the split left it no work."""
    if getattr(args, "shard", None) and status == EXIT_NOTHING_APPLICABLE:
        what = "only n/a test cases" if ran else "no test case of the selection"
        print(
            f"{PROG}: shard {args.shard} has {what}: exit status 0, not"
            f" {EXIT_NOTHING_APPLICABLE} (`{PROG} merge` judges the whole run)",
            file=sys.stderr,
        )
        return EXIT_OK
    return status


def _configure_merge(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="RESULTS",
        help="each shard's report directory (or its results.json)",
    )
    p.add_argument(
        "--report-dir",
        required=True,
        metavar="OUT",
        help="where the merged results.json, junit.xml, report.html and evidence go",
    )


def cmd_merge(args: argparse.Namespace) -> int:
    """The shards' results as one run: results.json, junit.xml and report.html in OUT (the
    requirement verdicts recomputed from the checks). Refused (one line per problem, exit
    3) for missing files, overlapping test cases, missing or repeated shards, or shards of
    different tool versions, catalogues, SUT profiles, PICS or selections. The exit status
    is then that of a run over the merged results (0, 1, 2, 4); an incomplete shard makes
    a passing merge 2."""
    from conformance.pytest.terminal import count_line
    from conformance.report.html import REPORT_NAME, write_html
    from conformance.report.merge import MergeError, MergeInput, copy_evidence, merge_results
    from conformance.report.model import exit_status
    from conformance.report.results import (
        JSONL_NAME,
        JUNIT_NAME,
        RESULTS_NAME,
        load_results,
        write_json_atomic,
        write_junit,
    )

    inputs: list[MergeInput] = []
    bases: dict[str, Path] = {}
    problems: list[str] = []
    for text in args.inputs:
        path = Path(text)
        found = path.is_file() or (
            path.is_dir() and ((path / RESULTS_NAME).is_file() or (path / JSONL_NAME).is_file())
        )
        if not found:
            what = "no results.json in it" if path.is_dir() else "no such file or directory"
            problems.append(f"{text}: {what}")
            continue
        try:
            inputs.append(MergeInput(text, load_results(path)))
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"{text}: cannot read results: {exc}")
            continue
        bases[text] = path if path.is_dir() else path.parent
    if problems:
        raise CliError(*problems)
    out = Path(args.report_dir)
    if any(out.resolve() == b.resolve() for b in bases.values()):
        raise CliError(f"--report-dir {out}: is one of the inputs; give another directory")
    try:
        merged = merge_results(inputs, shlex.join([PROG, *getattr(args, "argv", [])]))
    except MergeError as exc:
        raise CliError(*(f"cannot merge: {line}" for line in exc.lines)) from None
    try:
        out.mkdir(parents=True, exist_ok=True)
        clear_outputs(out)
        uncopied = [
            f
            for i in inputs
            for tc in i.results.test_cases
            for f in copy_evidence(tc, bases[i.source], out)
        ]
        write_json_atomic(out / RESULTS_NAME, merged.to_json())
        write_junit(merged, out / JUNIT_NAME)
        write_html(merged, out / REPORT_NAME, _catalog(args.catalog_dir))
    except OSError as exc:
        raise CliError(f"{out}: cannot write the merged report: {exc}") from None
    if uncopied:
        print(
            f"{PROG}: {len(uncopied)} evidence files of the shards could not be copied"
            f" (first: {uncopied[0]}); the report links to them still",
            file=sys.stderr,
        )
    status = exit_status(merged)
    if merged.run.get("incomplete") and status in (EXIT_OK, EXIT_NOTHING_APPLICABLE):
        status = EXIT_TROUBLE
    shards = merged.run.get("shards") or []
    what = f"{len(shards)} shards" if shards else f"{len(inputs)} runs"
    print(
        f"{PROG}: merged {what}: {count_line(merged.summary()['test_cases'])};"
        f"{' incomplete;' if merged.run.get('incomplete') else ''}"
        f" results in {out / RESULTS_NAME}; exit status {status}",
        file=sys.stderr,
    )
    return status


# --------------------------------------------------------------------------- main


def _configure_reference(parser: argparse.ArgumentParser) -> None:
    from conformance.reference.cli import configure_reference_start

    sub = parser.add_subparsers(dest="reference_command", metavar="ACTION", required=True)
    start = sub.add_parser(
        "start", help="run the reference SUT in the foreground and print its SUT profile"
    )
    configure_reference_start(start)


def _cmd_reference(args: argparse.Namespace) -> int:
    handler: Callable[[argparse.Namespace], int] = args.func
    return handler(args)


COMMANDS: list[Command] = [
    Command(
        "requirements", "list the requirement catalogue", _configure_requirements, cmd_requirements
    ),
    Command(
        "pics",
        "the PICS proforma: every option, its meaning and what it gates",
        _configure_pics,
        cmd_pics,
    ),
    Command(
        "faults",
        "the reference SUT's faults and the requirements each breaks",
        _configure_faults,
        cmd_faults,
    ),
    Command(
        "coverage",
        "testable mandatory requirements no test case covers",
        _configure_coverage,
        cmd_coverage,
    ),
    Command(
        "check",
        "preflight: the profile, the names given and the SUT's reachability",
        _configure_check,
        cmd_check,
    ),
    Command("run", "run the test cases against a SUT", _configure_run, cmd_run),
    Command(
        "demo",
        "loopback demo: a captured CPM session between two engines",
        configure_demo,
        cmd_demo,
    ),
    Command(
        "selftest",
        "the suite against the reference SUT and each of its faults",
        configure_selftest,
        cmd_selftest,
    ),
    Command(
        "robustness",
        "a seeded campaign of mutated SIP and MSRP against a SUT, with"
        " liveness probes after each batch",
        configure_robustness,
        cmd_robustness,
    ),
    Command(
        "reference",
        "the embedded reference SUT ('reference start' runs it)",
        _configure_reference,
        _cmd_reference,
    ),
    Command(
        "report", "the HTML compliance report from a results.json", _configure_report, cmd_report
    ),
    Command(
        "compare",
        "requirements whose verdict changed between two runs (exit 1: worse)",
        _configure_compare,
        cmd_compare,
    ),
    Command(
        "merge",
        "one results.json, junit.xml and report from the results of a run's shards",
        _configure_merge,
        cmd_merge,
    ),
    # "reference start": add a Command here.
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Conformance test system for OMA CPM 2.0 group chat."
    )
    parser.add_argument("--catalog-dir", help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.help)
        p.add_argument("--catalog-dir", help=argparse.SUPPRESS, default=argparse.SUPPRESS)
        command.configure(p)
        p.set_defaults(handler=command.handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1 :]
    args = build_parser().parse_args(argv)
    args.argv = [*argv, *(["--", *extra] if extra else [])]
    args.pytest_args = extra
    if not hasattr(args, "catalog_dir"):
        args.catalog_dir = None
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except CliError as exc:
        for line in exc.lines:
            print(f"{PROG}: error: {line}", file=sys.stderr)
        return EXIT_CANNOT_START
    except ImportError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (``requirements | head``): stop quietly, and keep Python
        # from failing again when it flushes stdout at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
