"""``cpm-conformance selftest``: the suite judged by the reference SUT and its faults.

1. **Clean run.** The whole suite against the clean reference SUT: every test case must be
   ``pass`` or ``n/a``.
2. **One run per fault.** For each fault of the registry, the test cases that declare one of
   the requirement ids the fault breaks run against the reference SUT with that fault on. The
   fault is *caught* (the mutant is killed) only when a **check carrying one of its target
   requirement ids** fails: a test case that fails for another reason, or a verdict a
   requirement would inherit from its test case, proves nothing.
3. ``DIR/selftest.json``: the clean run's verdicts, the kill matrix (fault → failing test
   cases), the faults no test case covers, the mutation score (the share of faults
   caught) and, per testable requirement, the faults whose run failed a check carrying its
   id (``requirements``), with the testable requirements no fault proves (``unproven``).

Fault runs are independent (each starts its own in-process reference SUT on run-time
ports), so they run in parallel (``--jobs``): by default in a few long-lived pytest sessions
fed from a queue, each fault's run stopping once it is proven (:mod:`conformance.selftest_pool`,
docs/selftest.md); with ``--engine process`` as a ``run`` child process each.

Exit status: 0 when the clean run is clean, every fault is caught and (over every fault)
every test case is failed by some fault and every testable requirement is proven by one; 1
otherwise; 2 when the self-test could not run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import selftest_pool as pool
from conformance.catalog import load_catalog
from conformance.checks.verdict import Verdict
from conformance.preflight import did_you_mean
from conformance.reference.faults import FAULTS, Fault
from conformance.report.model import RunResults
from conformance.report.results import load_results

SELFTEST_JSON = "selftest.json"
CLEAN_VERDICTS = frozenset({Verdict.PASS, Verdict.NA})


@dataclass(frozen=True, slots=True)
class FaultOutcome:
    fault: str
    role: str
    requirements: tuple[str, ...]
    #: test cases that declare one of the fault's requirement ids
    test_cases: tuple[str, ...]
    #: of those, the ones that failed with the fault on
    failing: tuple[str, ...]
    verdicts: dict[str, str] = field(default_factory=dict)
    #: why nothing could be judged (no test case, the run did not start)
    problem: str = ""
    #: the fault's target requirement ids that a check carrying them failed
    proven: tuple[str, ...] = ()
    #: the test cases in which such a check failed
    proving: tuple[str, ...] = ()
    #: mapped test cases not run: the fault was already proven on every target id and some
    #: fault had already failed the test case (the pool engine's skip rule)
    skipped: tuple[str, ...] = ()

    @property
    def caught(self) -> bool:
        """Caught only when a check carrying one of the fault's own ids failed."""
        return bool(self.proven)

    def to_json(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "role": self.role,
            "requirements": list(self.requirements),
            "test_cases": list(self.test_cases),
            "failing": list(self.failing),
            "proven": list(self.proven),
            "proving": list(self.proving),
            "caught": self.caught,
            "skipped": list(self.skipped),
            "verdicts": self.verdicts,
            "problem": self.problem,
        }


Runner = Callable[[list[str]], int]


def _run_command(argv: list[str]) -> int:
    """``python -m conformance run ...`` in a child process; its output is kept quiet."""
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 1, 2):
        sys.stderr.write(proc.stderr)
    return proc.returncode


def run_suite(
    report_dir: Path,
    *,
    faults: Sequence[str] = (),
    requirements: Sequence[str] = (),
    pics: Sequence[tuple[str, str]] = (),
    extra: Sequence[str] = (),
    runner: Runner = _run_command,
) -> RunResults | None:
    """One ``run --sut reference --strict`` (the reference SUT claims its SHOULDs and
    MAYs, so they are judged too); None when it wrote no results."""
    argv = ["run", "--sut", "reference", "--strict", "--report-dir", str(report_dir), *extra]
    if faults:
        argv += ["--faults", ",".join(faults)]
    for name, value in pics:
        argv += ["--pics", f"{name}={value}"]
    for rid in requirements:
        argv += ["--requirement", rid]
    runner(argv)
    try:
        return load_results(report_dir)
    except (OSError, ValueError):
        return None


def mapped_test_cases(results: RunResults, fault: Fault) -> tuple[str, ...]:
    wanted = set(fault.requirement_ids)
    return tuple(tc.nodeid for tc in results.test_cases if wanted.intersection(tc.requirements))


def judge_fault(
    fault: Fault,
    clean: RunResults,
    report_dir: Path,
    runner: Runner = _run_command,
    attempts: int = 2,
) -> FaultOutcome:
    cases = mapped_test_cases(clean, fault)
    base = FaultOutcome(fault.name, fault.role, tuple(fault.requirement_ids), cases, ())
    if not cases:
        return dataclasses.replace(base, problem="no test case declares any of its requirements")
    trusted = set(cases)
    if fault.pics:
        # The fault shows only under other claims (e.g. proxy mode): the same test cases
        # must first pass against the clean SUT under those claims, or a failure with the
        # fault on would prove nothing.
        control = run_suite(
            report_dir / "control",
            requirements=fault.requirement_ids,
            pics=fault.pics,
            runner=runner,
        )
        if control is None:
            return dataclasses.replace(base, problem="the control run wrote no results")
        trusted = {tc.nodeid for tc in control.test_cases if tc.verdict is Verdict.PASS}
        if not trusted & set(cases):
            claims = ", ".join(f"{n}={v}" for n, v in fault.pics)
            return dataclasses.replace(
                base, problem=f"no mapped test case passes against the clean SUT with {claims}"
            )
    results = None
    # A run that wrote nothing (killed, starved) or caught nothing is run once more, so
    # that one timing miss on a loaded machine is not read as a check no fault can fail;
    # a fault that is really missed is missed twice.
    for attempt in range(attempts):
        attempt_results = run_suite(
            report_dir / f"fault{attempt or ''}",
            faults=[fault.name],
            requirements=fault.requirement_ids,
            pics=fault.pics,
            runner=runner,
        )
        if attempt_results is not None:
            results = attempt_results
            if failed_targets(results, fault, trusted)[0]:
                break
    if results is None:
        return dataclasses.replace(base, problem="the fault run wrote no results")
    verdicts = {tc.nodeid: tc.verdict.value for tc in results.test_cases}
    failing = tuple(n for n in cases if verdicts.get(n) == Verdict.FAIL.value and n in trusted)
    proven, proving = failed_targets(results, fault, trusted)
    return dataclasses.replace(
        base, failing=failing, verdicts=verdicts, proven=proven, proving=proving
    )


def failed_targets(
    results: RunResults, fault: Fault, trusted: set[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The fault's target ids that a check carrying them failed in a trusted test case, and
    those test cases: the check's own verdict, never one inherited from its test case."""
    targets = set(fault.requirement_ids)
    proven: set[str] = set()
    proving: list[str] = []
    for tc in results.test_cases:
        if tc.nodeid not in trusted:
            continue
        hit = {c.requirement for c in tc.checks if c.verdict is Verdict.FAIL} & targets
        if hit:
            proven |= hit
            proving.append(tc.nodeid)
    return tuple(sorted(proven)), tuple(proving)


def proof_by_requirement(
    testable: Sequence[str], outcomes: Sequence[FaultOutcome]
) -> dict[str, list[str]]:
    """Every testable requirement id -> the faults whose run failed a check carrying it."""
    proof: dict[str, list[str]] = {rid: [] for rid in sorted(testable)}
    for outcome in outcomes:
        for rid in outcome.proven:
            if rid in proof:
                proof[rid].append(outcome.fault)
    return proof


def testable_requirements() -> tuple[str, ...]:
    """The catalogue's testable requirement ids (SHALL, SHOULD and MAY alike)."""
    return tuple(q.id for q in load_catalog() if q.testable)


def unkilled(clean: RunResults, outcomes: Sequence[FaultOutcome]) -> list[str]:
    """The test cases of the clean run that no fault run failed: checks no fault proves."""
    killed = {nodeid for outcome in outcomes for nodeid in outcome.failing}
    return [tc.nodeid for tc in clean.test_cases if tc.nodeid not in killed]


def judge_pooled(fault: Fault, clean: RunResults, run: pool.FaultRun | None) -> FaultOutcome | None:
    """A fault's outcome from its job in the pool; None when the job did not finish (its
    worker died), so that it is judged again the per-process way."""
    cases = mapped_test_cases(clean, fault)
    base = FaultOutcome(fault.name, fault.role, tuple(fault.requirement_ids), cases, ())
    if not cases:
        return dataclasses.replace(base, problem="no test case declares any of its requirements")
    if run is None or not run.done:
        return None
    trusted = set(cases)
    if fault.pics:
        trusted = {n for n, verdict in run.control.items() if verdict == Verdict.PASS.value}
        if not trusted & set(cases):
            claims = ", ".join(f"{n}={v}" for n, v in fault.pics)
            return dataclasses.replace(
                base, problem=f"no mapped test case passes against the clean SUT with {claims}"
            )
    verdicts = {tc.nodeid: tc.verdict.value for tc in run.results.test_cases}
    failing = tuple(n for n in cases if verdicts.get(n) == Verdict.FAIL.value and n in trusted)
    proven, proving = failed_targets(run.results, fault, trusted)
    return dataclasses.replace(
        base,
        failing=failing,
        verdicts=verdicts,
        proven=proven,
        proving=proving,
        skipped=run.skipped,
    )


def pooled_outcomes(
    report_dir: Path, names: Sequence[str], jobs: int, runner: Runner
) -> tuple[RunResults | None, list[FaultOutcome]]:
    """The clean run and every fault's outcome by the pool engine; a fault its pool run
    missed (or whose worker died) is judged once more by a run of its own."""
    root = report_dir / "pool"
    if root.exists():
        shutil.rmtree(root)
    faults = [FAULTS[n] for n in names]
    variants = pool.plan(root, faults)
    pool.run_workers(variants, root, jobs)
    clean = pool.read_clean(variants)
    if clean is None:  # a slice's worker died: the clean run the per-process way
        clean = run_suite(report_dir / "clean", runner=runner)
        if clean is None:
            return None, []
    judged = {f.name: judge_pooled(f, clean, pool.read_fault(variants, f)) for f in faults}
    retry = [f for f, o in judged.items() if o is None or (not o.caught and not o.problem)]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as executor:
        again = dict(
            zip(
                retry,
                executor.map(
                    lambda n: judge_fault(
                        FAULTS[n], clean, report_dir / "faults" / n, runner, attempts=1
                    ),
                    retry,
                ),
                strict=True,
            )
        )
    outcomes: list[FaultOutcome] = []
    for name in names:
        first, second = judged[name], again.get(name)
        if second is None:
            assert first is not None
            outcomes.append(first)
        elif first is None or second.caught:
            # a test case failed in either run stays killed
            kept = tuple(dict.fromkeys((*(first.failing if first else ()), *second.failing)))
            outcomes.append(dataclasses.replace(second, failing=kept))
        else:
            kept = tuple(dict.fromkeys((*first.failing, *second.failing)))
            outcomes.append(dataclasses.replace(first, failing=kept))
    return clean, outcomes


def selftest(
    report_dir: Path,
    *,
    fault_names: Sequence[str] | None = None,
    jobs: int = 0,
    runner: Runner = _run_command,
    testable: Sequence[str] | None = None,
    engine: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """Run the self-test; returns (exit status, the selftest.json document).

    ``engine``: ``pool`` (default: long-lived pytest sessions, :mod:`conformance.selftest_pool`)
    or ``process`` (a ``run`` child per fault; the default when a ``runner`` is given)."""
    started = time.time()
    report_dir.mkdir(parents=True, exist_ok=True)
    if engine is None:
        engine = "pool" if runner is _run_command else "process"
    names = list(fault_names) if fault_names else sorted(FAULTS)
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        return 2, {"error": f"unknown faults: {', '.join(unknown)}"}
    # a run child per fault costs a pytest start-up each: one per CPU, as before the pool
    workers = jobs or (default_jobs() if engine == "pool" else max(1, os.cpu_count() or 1))
    if engine == "pool":
        clean, outcomes = pooled_outcomes(report_dir, names, workers, runner)
        if clean is None:
            return 2, {"error": "the clean run wrote no results"}
    else:
        clean = run_suite(report_dir / "clean", runner=runner)
        if clean is None:
            return 2, {"error": "the clean run wrote no results"}
        with ThreadPoolExecutor(max_workers=workers) as executor:
            outcomes = list(
                executor.map(
                    lambda n: judge_fault(FAULTS[n], clean, report_dir / "faults" / n, runner),
                    names,
                )
            )
    unclean = {
        tc.nodeid: tc.verdict.value for tc in clean.test_cases if tc.verdict not in CLEAN_VERDICTS
    }
    caught = sum(o.caught for o in outcomes)
    proof = proof_by_requirement(
        testable if testable is not None else testable_requirements(), outcomes
    )
    document: dict[str, Any] = {
        "clean": {
            "test_cases": len(clean.test_cases),
            "summary": clean.summary(),
            "not_clean": unclean,
        },
        "faults": [o.to_json() for o in outcomes],
        "kill_matrix": {o.fault: list(o.failing) for o in outcomes},
        "uncaught": [o.fault for o in outcomes if not o.caught],
        # every test case must fail under some fault; judged only when every fault ran
        "unkilled": None if fault_names else unkilled(clean, outcomes),
        # per testable requirement, the faults whose run failed a check carrying its id;
        # the ones no fault proves are judged only when every fault ran
        "requirements": proof,
        "unproven": None if fault_names else [rid for rid, by in proof.items() if not by],
        "caught": caught,
        "total": len(outcomes),
        "mutation_score": round(caught / len(outcomes), 4) if outcomes else 0.0,
        "engine": engine,
        "duration": round(time.time() - started, 2),
    }
    (report_dir / SELFTEST_JSON).write_text(json.dumps(document, indent=2) + "\n")
    complete = (
        not unclean
        and caught == len(outcomes)
        and not document["unkilled"]
        and not document["unproven"]
    )
    return (0 if complete else 1), document


@dataclass(frozen=True, slots=True)
class KnownGaps:
    """Gaps of the proof that are known and tracked (``--known-gaps FILE``, TOML with the
    lists ``unproven`` and ``uncaught``): a ratchet. The self-test fails on a gap not in
    the file, and on a listed gap that is closed (so that the file only ever shrinks)."""

    unproven: frozenset[str] = frozenset()
    uncaught: frozenset[str] = frozenset()

    @classmethod
    def load(cls, path: Path) -> KnownGaps:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls(frozenset(data.get("unproven", ())), frozenset(data.get("uncaught", ())))

    def judge(self, doc: dict[str, Any]) -> list[str]:
        """The lines that make the gate fail: new gaps, and closed gaps still listed."""
        lines: list[str] = []
        unproven = set(doc.get("unproven") or ())
        uncaught = set(doc.get("uncaught") or ())
        lines += [f"UNPROVEN (new) {r}" for r in sorted(unproven - self.unproven)]
        lines += [f"MISSED (new) {f}" for f in sorted(uncaught - self.uncaught)]
        if doc.get("unproven") is not None:  # judged only over every fault
            lines += [
                f"now proven, remove it from the known gaps: {r}"
                for r in sorted(self.unproven - unproven)
            ]
            lines += [
                f"now caught, remove it from the known gaps: {f}"
                for f in sorted(self.uncaught - uncaught)
            ]
        return lines


def gate(
    status: int,
    doc: dict[str, Any],
    min_score: float | None,
    known: KnownGaps | None = None,
) -> int:
    """The exit status under ``--min-score`` and ``--known-gaps``: a clean run, every test
    case failed by some fault (when every fault ran), every unproven requirement and missed
    fault a known gap, and a score at the floor pass."""
    if status != 1 or "error" in doc or (min_score is None and known is None):
        return status
    clean = not doc["clean"]["not_clean"]
    if known is not None:
        proven = not doc.get("unkilled") and not known.judge(doc)
        score_ok = min_score is None or doc["mutation_score"] >= min_score
        return 0 if clean and proven and score_ok else 1
    assert min_score is not None
    proven = not doc.get("unkilled") and not doc.get("unproven")
    return 0 if clean and proven and doc["mutation_score"] >= min_score else 1


def default_jobs() -> int:
    """Worker sessions by default: the test cases wait on the network far more than they
    compute, so more sessions than cores (measured on 2 cores, docs/selftest.md: 8
    sessions beat 4 and 12)."""
    return 4 * max(1, os.cpu_count() or 1)


def configure_selftest(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report-dir", required=True, type=Path, metavar="DIR")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="judge only these faults (repeatable; default: every fault)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="worker sessions (pool engine) or fault runs (process engine) in parallel"
        " (default: four sessions per CPU, or one run per CPU)",
    )
    parser.add_argument(
        "--engine",
        choices=("pool", "process"),
        default="pool",
        help="pool: fault runs in a few long-lived pytest sessions, each fault's run stopping"
        " once it is proven (default); process: a full run child per fault",
    )
    parser.add_argument(
        "--known-gaps",
        type=Path,
        default=None,
        metavar="FILE",
        help="TOML listing the unproven requirements and missed faults that are known and"
        " tracked: the self-test fails on any other, and on a listed one now closed",
    )
    parser.add_argument(
        "--min-score",
        type=float,
        default=None,
        metavar="SHARE",
        help="exit 0 when the clean run is clean and the mutation score is at least SHARE"
        " (a ratchet for CI while faults are still being covered); default: every"
        " fault must be caught",
    )


def cmd_selftest(args: argparse.Namespace) -> int:
    known = None
    if args.known_gaps is not None:
        try:
            known = KnownGaps.load(args.known_gaps)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            print(f"selftest: {args.known_gaps}: {exc}", file=sys.stderr)
            return 3
    unknown = [n for n in args.fault if n not in FAULTS]
    if unknown:  # the preflight of the self-test: one line per unknown name
        for name in unknown:
            print(
                f"selftest: --fault {name}: unknown fault{did_you_mean(name, FAULTS)}",
                file=sys.stderr,
            )
        return 3
    status, doc = selftest(
        args.report_dir, fault_names=args.fault or None, jobs=args.jobs, engine=args.engine
    )
    status = gate(status, doc, args.min_score, known)
    if "error" in doc:
        print(f"selftest: {doc['error']}", file=sys.stderr)
        return status
    clean = doc["clean"]
    print(f"clean run: {clean['test_cases']} test cases, {clean['summary']}")
    for nodeid, verdict in clean["not_clean"].items():
        print(f"  NOT CLEAN {verdict:6} {nodeid}")
    for fault in doc["faults"]:
        mark = "caught  " if fault["caught"] else "MISSED  "
        if fault["caught"]:
            detail = f"{', '.join(fault['proven'])} in {', '.join(fault['proving'])}"
        elif fault["failing"]:
            detail = (
                f"{', '.join(fault['failing'])} failed, but no check carrying"
                f" {', '.join(fault['requirements'])}"
            )
        else:
            detail = fault["problem"] or "no test case failed"
        print(f"{mark}{fault['fault']}: {detail}")
    for nodeid in doc["unkilled"] or ():
        print(f"UNKILLED {nodeid}: no fault fails this test case")
    if doc["unkilled"] is not None:
        print(
            f"test cases failed by some fault: {clean['test_cases'] - len(doc['unkilled'])}"
            f" of {clean['test_cases']}"
        )
    if doc["unproven"] is not None:
        for rid in doc["unproven"]:
            print(f"UNPROVEN {rid}: no fault fails a check carrying this id")
        total = len(doc["requirements"])
        print(f"requirements proven by a fault: {total - len(doc['unproven'])} of {total}")
    print(
        f"mutation score: {doc['caught']}/{doc['total']} = {doc['mutation_score']:.0%}"
        f"  ({args.report_dir / SELFTEST_JSON})"
    )
    if known is not None:
        for line in known.judge(doc):
            print(line)
        print(
            f"known gaps ({args.known_gaps}): {len(known.unproven)} unproven requirements,"
            f" {len(known.uncaught)} missed faults"
        )
    if args.min_score is not None:
        print(
            f"required: a clean run, every test case failed and every testable requirement"
            f" proven by some fault, and a score of at least {args.min_score:.0%}"
        )
    return status


__all__ = [
    "FaultOutcome",
    "KnownGaps",
    "cmd_selftest",
    "configure_selftest",
    "failed_targets",
    "gate",
    "proof_by_requirement",
    "selftest",
    "testable_requirements",
    "unkilled",
]
