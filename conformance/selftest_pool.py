"""The self-test's pool engine: fault runs in long-lived pytest sessions (docs/selftest.md).

The per-process engine (:func:`conformance.selftest.judge_fault`) starts a ``run`` child,
and so a pytest session, for every fault: its start-up and collection cost more than most
faults' test cases. Here a few worker sessions (:mod:`conformance.pytest.faultloop`) each
collect the test cases once and take jobs from a queue directory: slices of the clean run,
then one job per fault. Each set of PICS claims the faults need (``Fault.pics``) is a
*variant* with its own queue and sessions, as claims decide applicability at collection.

``plan`` writes the queues, ``run_workers`` keeps up to ``jobs`` sessions busy (a variant
gets a new session while it has more unclaimed jobs than sessions), ``read_clean`` and
``read_fault`` turn each job's output into the clean run's results and a fault's outcome.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue as queue_mod
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.checks.verdict import CheckResult, Verdict
from conformance.child import (
    bytecode_cache_env,
    hermetic_env,
    locate_testcases,
    plugin_args,
    suite_args,
)
from conformance.reference.faults import Fault
from conformance.report.model import RunResults, TestCaseResult

Pics = tuple[tuple[str, str], ...]

#: sessions of a variant that may end abnormally before it gets no more
BROKEN_LIMIT = 2

#: the clean run is cut into this many slices (contiguous, in collection order)
CLEAN_SLICES = 12


@dataclasses.dataclass(frozen=True, slots=True)
class Variant:
    """One set of PICS claims: its queue directory and its jobs (name -> spec)."""

    pics: Pics
    directory: Path
    jobs: dict[str, dict[str, Any]]


def variant_name(index: int, pics: Pics) -> str:
    return f"v{index}" if pics else "main"


def plan(
    root: Path, faults: Sequence[Fault], *, clean: bool = True, slices: int = CLEAN_SLICES
) -> list[Variant]:
    """The queues of a self-test under ``root``: the clean run's slices (first) and a job per
    fault of the claims-free variant in ``root/main``, one queue per other set of claims."""
    by_pics: dict[Pics, dict[str, dict[str, Any]]] = {(): {}}
    if clean:
        for i in range(slices):
            by_pics[()][f"0-clean-{i:03d}"] = {"fault": None, "chunk": [i, slices]}
    for fault in faults:
        pics: Pics = tuple(fault.pics)
        by_pics.setdefault(pics, {})[f"1-fault-{fault.name}"] = {
            "fault": fault.name,
            "requirements": list(fault.requirement_ids),
            "control": bool(pics),
        }
    variants: list[Variant] = []
    for index, (pics, jobs) in enumerate(sorted(by_pics.items())):
        if not jobs:
            continue
        directory = root / variant_name(index, pics)
        for sub in ("jobs", "claimed", "out"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        for name, spec in jobs.items():
            (directory / "jobs" / f"{name}.json").write_text(json.dumps(spec))
        variants.append(Variant(pics, directory, jobs))
    return variants


def worker_command(
    variant: Variant, worker: str, killed: Path, testcases: Path, cache_dir: Path
) -> list[str]:
    """The pytest command of one worker session (the options of ``run --sut reference
    --strict``, and the fault loop)."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(testcases),
        *suite_args(testcases),
        *plugin_args(),
        "-p",
        "conformance.pytest.faultloop",
        "-p",
        "no:cacheprovider",
        "-o",
        f"cache_dir={cache_dir}",
        "--strict-markers",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "--sut",
        "reference",
        "--cpm-strict",
        "--cpm-fault-queue",
        str(variant.directory),
        "--cpm-killed-dir",
        str(killed),
        "--cpm-worker",
        worker,
        "-q",
    ]
    for name, value in variant.pics:
        cmd += ["--pics", f"{name}={value}"]
    return cmd


def worker_env() -> dict[str, str]:
    """The environment of a worker session: the one :func:`worker_command` is made for
    (only the plugins it names load)."""
    return hermetic_env(bytecode_cache_env(dict(os.environ)))


def unclaimed(variant: Variant) -> int:
    return sum(1 for _ in (variant.directory / "jobs").glob("*.json"))


def run_workers(variants: Sequence[Variant], root: Path, jobs: int) -> None:
    """Keep up to ``jobs`` worker sessions running until every queue is empty: a free slot
    goes to the variant with the most unclaimed jobs per running session."""
    testcases = locate_testcases()
    killed = root / "killed"
    killed.mkdir(parents=True, exist_ok=True)
    env = worker_env()
    ended: queue_mod.Queue[tuple[int, int]] = queue_mod.Queue()
    running: dict[int, int] = {}  # variant index -> running sessions
    procs: list[subprocess.Popen[bytes]] = []

    #: variant index -> sessions that ended abnormally (pytest could not start or run them)
    broken: dict[int, int] = {}

    def watch(index: int, proc: subprocess.Popen[bytes]) -> None:
        proc.wait()
        ended.put((index, proc.returncode))

    try:
        while True:
            while sum(running.values()) < max(1, jobs):
                # a variant no worker serves yet comes first (each pays a session's start-up,
                # and left for last it would be the run's tail), then the most unclaimed
                # jobs per running worker
                ratios = [
                    (not running.get(i, 0), left / (running.get(i, 0) + 1), i)
                    for i, v in enumerate(variants)
                    if (left := unclaimed(v)) > running.get(i, 0)
                    # a variant whose sessions keep failing gets no more: what they left
                    # undone is judged the per-process way
                    and broken.get(i, 0) < BROKEN_LIMIT
                ]
                if not ratios:
                    break
                *_, index = max(ratios)
                variant = variants[index]
                name = f"w{len(procs)}"
                with (variant.directory / f"{name}.log").open("wb") as log:
                    proc = subprocess.Popen(
                        worker_command(variant, name, killed, testcases, root / "cache"),
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=env,
                    )
                procs.append(proc)
                running[index] = running.get(index, 0) + 1
                threading.Thread(target=watch, args=(index, proc), daemon=True).start()
            if not sum(running.values()):
                return
            index, status = ended.get()
            running[index] -= 1
            if status not in (0, 1):  # 0: every test passed, 1: some failed
                broken[index] = broken.get(index, 0) + 1
    finally:
        # interrupted (Ctrl-C, SIGTERM): the workers stop too, each by its own pid
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def read_output(variant: Variant, job: str) -> tuple[list[dict[str, Any]], bool]:
    """The lines a job wrote, and whether it finished (its worker did not die)."""
    path = variant.directory / "out" / f"{job}.jsonl"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return [], False
    lines = []
    done = False
    for raw in text.splitlines():
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        if data.get("done"):
            done = True
        else:
            lines.append(data)
    return lines, done


def as_result(line: dict[str, Any]) -> TestCaseResult:
    return TestCaseResult(
        nodeid=str(line["nodeid"]),
        verdict=Verdict.parse(str(line["verdict"])),
        requirements=tuple(line.get("requirements", ())),
        checks=tuple(CheckResult.from_json(c) for c in line.get("checks", ())),
        reason=str(line.get("reason", "")),
    )


def read_clean(variants: Sequence[Variant]) -> RunResults | None:
    """The clean run, from its slices in order; None when a slice did not finish."""
    main = next((v for v in variants if not v.pics), None)
    if main is None:
        return None
    results = RunResults(run={"sut": "reference", "strict": True, "engine": "pool"})
    for job in sorted(j for j in main.jobs if main.jobs[j]["fault"] is None):
        lines, done = read_output(main, job)
        if not done:
            return None
        for line in lines:
            results.add(as_result(line))
    return results


@dataclasses.dataclass(frozen=True, slots=True)
class FaultRun:
    """What a fault's job wrote: the control verdicts (PICS faults), the test cases run with
    the fault on, the ones skipped, and whether the job finished."""

    control: dict[str, str]
    results: RunResults
    skipped: tuple[str, ...]
    done: bool


def read_fault(variants: Sequence[Variant], fault: Fault) -> FaultRun | None:
    """The job of ``fault``; None when it was not planned."""
    for variant in variants:
        job = f"1-fault-{fault.name}"
        if job not in variant.jobs:
            continue
        lines, done = read_output(variant, job)
        control = {
            str(line["nodeid"]): str(line["verdict"])
            for line in lines
            if line.get("phase") == "control"
        }
        results = RunResults(run={"faults": [fault.name], "engine": "pool"})
        skipped: list[str] = []
        for line in lines:
            if line.get("phase") != "fault":
                continue
            if line.get("skipped"):
                skipped.append(str(line["nodeid"]))
            else:
                results.add(as_result(line))
        return FaultRun(control, results, tuple(skipped), done)
    return None


__all__ = [
    "FaultRun",
    "Variant",
    "plan",
    "read_clean",
    "read_fault",
    "run_workers",
    "worker_command",
    "worker_env",
]
