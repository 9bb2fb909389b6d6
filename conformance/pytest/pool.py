"""Parallel workers against one SUT (docs/parallel.md).

With pytest-xdist (``-n N``) every worker runs its test cases against the same SUT, with a
disjoint slice of the profile's user pool (:mod:`conformance.catalog.pool`):

- **Controller** (:class:`PoolHost`, on a thread of its own with its own event loop): the
  dispatcher (:mod:`conformance.net.dispatcher`) binds the PIXIT ``[tool]`` address, the
  one address the SUT knows, and relays each request the SUT sends there to the worker
  that owns its user; for the reference SUT it also starts the one reference network every
  worker shares (a subprocess whose outbound proxy is the dispatcher and whose XDMS is the
  dispatcher's relay) and the store it writes. What the workers need (the dispatcher's
  control address, the reference network's addresses) goes to each in ``workerinput``.
- **Workers**: each binds its own core, XDMS and emulators at run-time ports, takes its
  slice of the pool (``gwN``: slice N, or ``(K-1)*workers + N`` in shard K) and claims
  those users at the dispatcher (fixtures/network.py ``pool_link``).
- **First slice**: the SUT client's test cases (its user is the pool's first) go to the
  worker holding the first slice (``gw0`` of shard 1), first, beside the others.
- **Serial group**: a test case that needs more users than a slice holds (marker
  ``users(n)``) is held back by :class:`PoolScheduling` until every other test case has
  finished, then runs on one worker, which claims the whole pool for it.

Layouts that put a process of their own between the tool and the SUT (Kamailio) keep one
SUT per worker, as before: the pool is not used there.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.catalog.pool import (
    PoolError,
    PoolSlice,
    slice_count,
    slice_for,
    users_per_slice,
)
from conformance.catalog.profile import Pixit, SutProfile, Target, UpperTesterMode
from conformance.pytest.config import get_faults, get_layout, get_profile, get_store
from conformance.pytest.options import is_worker
from conformance.pytest.selection import (
    FIRST_SLICE,
    SERIAL_GROUP,
    USERS_MARKER,
    get_shard,
    placement,
    serial_reason,
    users_needed,
)
from conformance.report.results import write_json_atomic

if TYPE_CHECKING:
    from xdist.workermanage import WorkerController

    from conformance.net.dispatcher import Dispatcher

#: key of the pool's facts in an xdist worker's ``workerinput``
WORKERINPUT_KEY = "cpm_pool"
#: how long the controller waits for the shared reference network (imports included)
START_GUARD = 60.0
#: how long closing the shared SUT and the dispatcher may take
STOP_GUARD = 20.0


# ----------------------------------------------------------------------------- facts


@dataclass(frozen=True, slots=True)
class PoolFacts:
    """What the controller tells every worker (JSON in ``workerinput``)."""

    #: the dispatcher's control address, where a worker links and claims its users
    control: tuple[str, int]
    #: the dispatcher's SIP address (the tool's address the SUT knows)
    tool: tuple[str, int]
    #: the file the workers write the serial group's node ids to
    serial_file: str
    #: the file where the controller writes the shared reference network's facts once it
    #: is up (:class:`SharedReference`, JSON), or "" when the SUT is a vendor's: the network
    #: starts while the workers start, and the controller hands out no test case before
    #: the file is written (:meth:`PoolHost.wait_reference`)
    reference_file: str = ""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> PoolFacts:
        data = json.loads(text)
        return cls(
            control=(str(data["control"][0]), int(data["control"][1])),
            tool=(str(data["tool"][0]), int(data["tool"][1])),
            serial_file=str(data["serial_file"]),
            reference_file=str(data.get("reference_file", "")),
        )


@dataclass(frozen=True, slots=True)
class SharedReference:
    """The shared reference network of a pooled run, as its workers see it."""

    #: the SUT profile its process printed (TOML, read by
    #: conformance.reference.spawn.endpoints_of)
    profile: str
    #: the URL of the store it writes
    store: str

    def write(self, path: Path) -> None:
        write_json_atomic(path, dataclasses.asdict(self))

    @classmethod
    def read(cls, path: str) -> SharedReference:
        """The facts the controller wrote; a :class:`PoolError` when there are none (the
        controller hands out test cases only after writing them)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(profile=str(data["profile"]), store=str(data["store"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PoolError(f"the shared reference network's facts are unreadable: {exc}") from None


def pool_facts(config: pytest.Config) -> PoolFacts | None:
    """On a worker of a pooled run, the controller's facts; else None."""
    workerinput = getattr(config, "workerinput", None)
    if not isinstance(workerinput, dict) or WORKERINPUT_KEY not in workerinput:
        return None
    return PoolFacts.from_json(str(workerinput[WORKERINPUT_KEY]))


def worker_number(config: pytest.Config) -> tuple[int | None, int]:
    """``(N, count)`` of xdist worker ``gwN`` of ``count``, or ``(None, 1)`` elsewhere."""
    workerinput = getattr(config, "workerinput", None)
    if not isinstance(workerinput, dict):
        return None, 1
    wid = str(workerinput.get("workerid", "gw0"))
    try:
        number = int(wid.removeprefix("gw"))
    except ValueError:
        number = 0
    return number, int(workerinput.get("workercount", 1) or 1)


def run_slice(config: pytest.Config, pixit: Pixit) -> PoolSlice:
    """This process's slice of the pool (the whole pool in a plain serial run).

    Raises :class:`PoolError` when the pool is too small for the run."""
    shard = get_shard(config)
    worker, workers = worker_number(config)
    if worker is not None and pool_facts(config) is None:
        # workers with one SUT each (a layout outside the pool): every user is theirs
        worker = None
    return slice_for(
        pixit,
        worker=worker,
        workers=workers,
        shard=(shard.index, shard.total) if shard is not None else None,
    )


def is_pooled(config: pytest.Config) -> bool:
    """Is this an xdist run whose workers share one SUT through the dispatcher?"""
    if is_worker(config):
        return pool_facts(config) is not None
    numprocesses = config.getoption("numprocesses", None)
    dist = config.getoption("dist", "no")
    if not numprocesses or dist == "no":
        return False
    return get_layout(config) == "direct" and get_profile(config).pixit.users_per_worker > 0


# ----------------------------------------------------------------------- controller


class PoolHost:
    """The controller's part of a pooled run: the dispatcher and, for the reference SUT,
    the shared reference network, on a thread with its own event loop; :meth:`stop`
    stops them (the reference subprocess by pid) on every exit path."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.profile: SutProfile = get_profile(config)
        self.facts: PoolFacts | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="cpm-pool", daemon=True)
        self._stack: contextlib.AsyncExitStack | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="cpm-pool-")
        self.dispatcher: Dispatcher | None = None
        self._reference: asyncio.Task[None] | None = None

    def start(self) -> PoolFacts:
        """Start the dispatcher, and the shared reference network in the background (see
        :meth:`wait_reference`); the facts every worker gets."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        try:
            self.facts = future.result(timeout=START_GUARD)
        except BaseException:
            future.cancel()
            self.stop()
            raise
        return self.facts

    def wait_reference(self) -> None:
        """Wait until the shared reference network is up (nothing to wait for against a
        vendor SUT); its start-up error, if it failed."""
        if self._reference is None:
            return
        future = asyncio.run_coroutine_threadsafe(
            self._await_reference(self._reference), self._loop
        )
        try:
            future.result(timeout=START_GUARD)
        except TimeoutError:
            future.cancel()
            raise TimeoutError(
                f"the shared reference network did not start within {START_GUARD:g} s"
            ) from None

    async def _await_reference(self, task: asyncio.Task[None]) -> None:
        await asyncio.shield(task)

    async def _start(self) -> PoolFacts:
        from conformance.net.dispatcher import Dispatcher

        pixit = self.profile.pixit
        self._stack = stack = contextlib.AsyncExitStack()
        dispatcher = await Dispatcher.start(pixit.tool_host, pixit.tool_port)
        stack.push_async_callback(dispatcher.close)
        self.dispatcher = dispatcher
        reference_file = ""
        if self.profile.target is Target.REFERENCE:
            # the network starts while xdist starts the workers (each needs a second or
            # two of its own to start): its facts go to a file the workers read when their
            # first test case sets up, which is after wait_reference
            path = Path(self._tmp.name) / "reference.json"
            reference_file = str(path)
            self._reference = asyncio.get_running_loop().create_task(
                self._start_reference(dispatcher, stack, path)
            )
            stack.push_async_callback(self._cancel_reference)
        return PoolFacts(
            control=dispatcher.control,
            tool=(dispatcher.address.host, dispatcher.address.port),
            serial_file=str(Path(self._tmp.name) / "serial.json"),
            reference_file=reference_file,
        )

    async def _start_reference(
        self, dispatcher: Dispatcher, stack: contextlib.AsyncExitStack, path: Path
    ) -> None:
        from conformance.protocol.sip.timers import Address
        from conformance.pytest.reference_sut import reference_config, reference_store
        from conformance.reference.spawn import ReferenceProcess

        pixit = self.profile.pixit
        # the same URL shape as each worker's XDMS emulator (fixtures/network.py xdms),
        # which the relay forwards the request to unchanged
        xdms_url = await dispatcher.start_xdms_relay(pixit.xdms.host, pixit.xdms.port)
        # under the host's own directory, which stop() removes even when closing the
        # exit stack runs out of time
        store_url = await stack.enter_async_context(
            reference_store(get_store(self.config) or "maildir", parent=self._tmp.name)
        )
        faults = get_faults(self.config) or self.profile.faults
        tool = dispatcher.address
        config = reference_config(
            self.profile,
            core=tool,
            isf_hop=Address(tool.host, tool.port, tool.transport),
            xdms_url=xdms_url,
            store_url=store_url,
            faults=faults,
        )
        child = await ReferenceProcess.start(config)
        stack.push_async_callback(child.stop)
        SharedReference(child.profile_text, store_url).write(path)

    async def _cancel_reference(self) -> None:
        """On the way out: a start still under way is cancelled (what it started is on the
        exit stack already, or stopped by the start's own error path)."""
        task = self._reference
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    def stop(self) -> None:
        """Stop what :meth:`start` started (idempotent)."""
        if self._thread.is_alive():
            if self._stack is not None:
                future = asyncio.run_coroutine_threadsafe(self._stack.aclose(), self._loop)
                with contextlib.suppress(Exception):
                    future.result(timeout=STOP_GUARD)
                self._stack = None
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=STOP_GUARD)
        if not self._loop.is_running() and not self._loop.is_closed():
            self._loop.close()
        self._tmp.cleanup()


HOST_KEY = pytest.StashKey[PoolHost]()
#: how many of the requests no worker took are named in the results
MISSES_SHOWN = 10


def dispatcher_misses(config: pytest.Config) -> dict[str, Any] | None:
    """On the controller of a pooled run: the SUT's requests the dispatcher handed to no
    worker while every worker was linked (it answered them itself, 404, or dropped an ACK),
    or None when there were none.

    A serial run's core would have offered each to its emulators: the verdicts of a run
    with such requests may differ from a serial run's (run ``-n 0`` to compare)."""
    host = config.stash.get(HOST_KEY, None)
    if host is None or host.dispatcher is None:
        return None
    # only while every worker was linked: once workers leave at the end of the run, what
    # the SUT still sends their users (a retransmission, a late BYE) concerns no test case
    until = host.dispatcher.first_release or float("inf")
    missed = [
        u
        for u in list(host.dispatcher.unroutable)
        if u.at < until and not u.reason.startswith(("response", "invalid"))
    ]
    if not missed:
        return None
    shown = [f"{_first_line(u.data)} ({u.reason})" for u in missed[:MISSES_SHOWN]]
    return {"count": len(missed), "first": shown}


def _first_line(data: bytes) -> str:
    return data.split(b"\r\n", 1)[0].decode("utf-8", "replace")[:200]


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """On the controller of a pooled run: check the pool is big enough, start the host."""
    if is_worker(config):
        return
    profile = get_profile(config)
    shard = get_shard(config)
    if (
        profile.target is Target.EXTERNAL
        and config.getoption("numprocesses", None)
        and config.getoption("dist", "no") != "no"
        and not profile.pixit.users_per_worker
    ):
        raise pytest.UsageError(
            "parallel workers against a vendor SUT need a user pool: add [pool]"
            " users_per_worker to the profile (docs/parallel.md), or run with -n 0"
        )
    if not is_pooled(config):
        if shard is not None:
            try:
                slice_for(profile.pixit, worker=None, workers=1, shard=(shard.total, shard.total))
            except PoolError as exc:
                raise pytest.UsageError(str(exc)) from None
        return
    workers = int(config.getoption("numprocesses") or 0)
    try:
        slice_for(
            profile.pixit,
            worker=workers - 1,
            workers=workers,
            shard=(shard.total, shard.total) if shard is not None else None,
        )
    except PoolError as exc:
        raise pytest.UsageError(str(exc)) from None
    if profile.target is Target.EXTERNAL and not profile.pixit.tool_port:
        raise pytest.UsageError(
            "parallel workers against a vendor SUT need a fixed [tool] port in the profile"
            " (the SUT's outbound proxy): set tool.port, or run with -n 0"
        )
    host = PoolHost(config)
    config.stash[HOST_KEY] = host
    config.add_cleanup(host.stop)
    try:
        host.start()
    except Exception as exc:  # any start-up failure is one line, never an internal error
        first = (str(exc) or type(exc).__name__).splitlines()[0]
        raise pytest.UsageError(f"cannot start the parallel run's SUT side: {first}") from None


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """On the controller of a pooled run, before xdist hands out the first test case: wait
    for the shared reference network, which started while the workers did."""
    host = session.config.stash.get(HOST_KEY, None)
    if host is None:
        return
    try:
        host.wait_reference()
    except Exception as exc:  # one line, as any other start-up failure
        first = (str(exc) or type(exc).__name__).splitlines()[0]
        raise pytest.UsageError(f"cannot start the parallel run's SUT side: {first}") from None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: WorkerController) -> None:
    """xdist (controller): hand the pool's facts to a worker being set up."""
    host = node.config.stash.get(HOST_KEY, None)
    if host is not None and host.facts is not None:
        node.workerinput[WORKERINPUT_KEY] = host.facts.to_json()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """The load scheduler, with the serial group held back to the end (pooled runs)."""
    host = config.stash.get(HOST_KEY, None)
    if host is None or host.facts is None or config.getoption("dist", "load") != "load":
        return None
    from conformance.pytest.pool_scheduler import PoolScheduling

    return PoolScheduling(config, log, Path(host.facts.serial_file))


# -------------------------------------------------------------------------- workers


#: where a test case of a pooled run goes: ``(FIRST_SLICE | SERIAL_GROUP, reason)``
PLACEMENT = pytest.StashKey[tuple[str, str]]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Mark the placements (``item.stash[PLACEMENT]``); on a pooled worker, write the node
    ids of each where the controller's scheduler reads them."""
    facts = pool_facts(config)
    profile = get_profile(config)
    per = users_per_slice(profile.pixit)
    if (facts is None and get_shard(config) is None) or not profile.pixit.users_per_worker:
        return
    placed: dict[str, list[str]] = {SERIAL_GROUP: [], FIRST_SLICE: []}
    for item in items:
        where = placement(item, per)
        if where is not None:
            item.stash[PLACEMENT] = where
            placed[where[0]].append(item.nodeid)
    if facts is not None:
        path = Path(facts.serial_file)
        tmp = path.with_name(f"{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(placed), encoding="utf-8")
        tmp.replace(path)


def in_serial_group(item: pytest.Item) -> bool:
    """``item`` runs with the whole pool: a test case of the serial group, or one of the
    first slice's that the scheduler moved there (its worker went away) and so runs on a
    worker of another slice."""
    where = item.stash.get(PLACEMENT, None)
    if where is None:
        return False
    if where[0] == SERIAL_GROUP:
        return True
    config = item.config
    if pool_facts(config) is None:
        return False
    return run_slice(config, get_profile(config).pixit).index != 0


def supported_workers(pixit: Pixit) -> int:
    """How many parallel workers (or shards) the profile's user pool supports."""
    return slice_count(pixit)


def default_workers(pixit: Pixit, cpus: int | None = None, shards: int = 1) -> int:
    """``run``'s default worker count: as many as the pool allows (per shard), at most
    ``max(4, 2 * cpus)`` (the test cases wait on the SUT far more than they compute); 0
    (serial) with a manual upper tester, whose operator answers one prompt at a time."""
    if pixit.upper_tester.mode is UpperTesterMode.MANUAL:
        return 0
    cpus = cpus or os.cpu_count() or 1
    return min(slice_count(pixit) // max(1, shards), max(4, 2 * cpus))


__all__ = [
    "USERS_MARKER",
    "PoolFacts",
    "PoolHost",
    "default_workers",
    "in_serial_group",
    "is_pooled",
    "pool_facts",
    "run_slice",
    "serial_reason",
    "supported_workers",
    "users_needed",
]
