"""The load scheduler of a pooled parallel run: the first slice's test cases on its worker,
the serial group at the end.

pytest-xdist's :class:`LoadScheduling` hands the test cases out in chunks. This one first
takes out the first slice's test cases and the serial group (the node ids the workers
wrote to the pool's serial file, conformance/pytest/pool.py) and hands out the rest.

The first slice's test cases (the SUT client's: its user is the pool's first) go to the
worker of that slice (``gw0``) before its first chunk, so they run beside the others.
Should that worker go away before it ran them, they join the serial group.

The serial group: when nothing else is left to hand out,
one worker (the first to ask) becomes the serial worker and the others are shut down; the
serial group goes to it only once every other worker has finished its last test case, so
the whole pool is free when it claims it.

An xdist worker runs a test case only once it knows the next one (or is told to shut
down), for the fixtures' teardown: the serial worker is sent the first held test case as
soon as it is chosen, which lets it finish its own last test case, and the rest (with the
shutdown) when the others are done.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler.load import LoadScheduling
from xdist.workermanage import WorkerController

from conformance.pytest.selection import FIRST_SLICE, SERIAL_GROUP

#: the worker that holds the pool's first slice (slice N is worker gwN's, in shard 1)
FIRST_SLICE_WORKER = "gw0"


class PoolScheduling(LoadScheduling):  # type: ignore[misc]  # xdist ships no types
    # LoadScheduling's state this class reads (xdist ships no annotations)
    collection: list[str] | None
    pending: list[int]
    node2pending: dict[WorkerController, list[int]]
    maxschedchunk: int | None

    def __init__(self, config: pytest.Config, log: Any, serial_file: Path) -> None:
        super().__init__(config, log)
        self.serial_file = serial_file
        #: collection indexes of the serial group not yet sent
        self.held: list[int] = []
        #: collection indexes of the first slice's test cases
        self.first_slice: set[int] = set()
        self.serial_node: WorkerController | None = None
        self._released = False

    # -- when to begin -------------------------------------------------------------------
    @property
    def collection_is_completed(self) -> bool:
        """Hand out as soon as the first slice's worker has collected, not once every worker
        has. The first slice's test cases go to that worker first, and it is the run's
        critical path; the others start one after another and take about a second of CPU
        each to collect. A worker that collects later gets its share then: xdist calls
        :meth:`schedule` again, which looks at every worker. Without a first-slice worker,
        once every worker has collected (xdist's rule)."""
        if len(self.node2collection) >= self.numnodes:
            return True
        return any(str(n.gateway.id) == FIRST_SLICE_WORKER for n in self.node2collection)

    def add_node_collection(self, node: WorkerController, collection: Sequence[str]) -> None:
        if self.collection is None:
            # not handed out yet: kept, and compared with the others by schedule()
            self.node2collection[node] = list(collection)
            return
        super().add_node_collection(node, collection)

    def _workers(self) -> int:
        """The workers to share the test cases among: the run's, also those not yet
        started (a chunk sized for the workers present so far would load the first one
        with what the others are about to take)."""
        return max(len(self.node2pending), int(self.numnodes))

    # -- what is left -------------------------------------------------------------------
    @property
    def tests_finished(self) -> bool:
        if self.held or (self.serial_node is not None and not self._released):
            return False
        return bool(super().tests_finished)

    @property
    def has_pending(self) -> bool:
        return bool(self.held) or super().has_pending

    def _load_held(self) -> None:
        """Take the serial group and the first slice's test cases out of ``pending`` (once:
        when the collection is set)."""
        if self.collection is None:
            return
        serial, first = (set(ids) for ids in read_serial_file(self.serial_file))
        self.held = [i for i, nodeid in enumerate(self.collection) if nodeid in serial]
        self.first_slice = {i for i, nodeid in enumerate(self.collection) if nodeid in first}
        taken = set(self.held) | self.first_slice
        self.pending[:] = [i for i in self.pending if i not in taken]

    def _send_first_slice(self) -> None:
        """The first slice's test cases to its worker, ahead of anything else; without such
        a worker, into the serial group."""
        if not self.first_slice:
            return
        first = sorted(self.first_slice)
        node = next((n for n in self.nodes if str(n.gateway.id) == FIRST_SLICE_WORKER), None)
        if node is None:
            self.held = sorted([*self.held, *first])
            return
        self.node2pending[node].extend(first)
        node.send_runtest_some(first)

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:
            for node in self.nodes:
                self.check_schedule(node)
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        collection: list[str] = next(iter(self.node2collection.values()))
        self.collection = collection
        self.pending[:] = range(len(collection))
        self._load_held()
        if not collection:
            return
        self._send_first_slice()
        if self.maxschedchunk is None:
            self.maxschedchunk = len(collection)
        if not self.pending:
            for node in self.nodes:
                self.check_schedule(node)
            return
        # the first hand-out, as LoadScheduling does it (sized for every worker of the run)
        if len(self.pending) < 2 * self._workers():
            nodes = list(self.nodes)
            for n in range(min(len(self.pending), 2 * len(nodes))):
                self._send_tests(nodes[n % len(nodes)], 1)
        else:
            per_node = len(self.pending) // self._workers()
            chunk = max(min(per_node // 4, self.maxschedchunk), 2)
            for node in self.nodes:
                self._send_tests(node, chunk)
        for node in self.nodes:
            if not self.node2pending[node]:
                self.check_schedule(node)

    # -- handing out ----------------------------------------------------------------------
    def check_schedule(self, node: WorkerController, duration: float = 0) -> None:
        if node.shutting_down:
            return
        if self.pending:
            self._refill(node, duration)
            return
        if not self.held and self.serial_node is None:
            super().check_schedule(node, duration)
            return
        if self._released:
            return
        if self.serial_node is None:
            self.serial_node = node
            # its own last test case runs once it knows the next one
            first = self.held.pop(0)
            self.node2pending[node].append(first)
            node.send_runtest_some([first])
            # the others run their last test case and stop
            for other in self.nodes:
                if other is not node and not other.shutting_down:
                    other.shutdown()
        elif node is not self.serial_node:
            node.shutdown()
        self._maybe_release()

    def _refill(self, node: WorkerController, duration: float) -> None:
        """LoadScheduling's refill of ``node``, its sizes counted over every worker of the
        run (:meth:`_workers`), also those still starting."""
        share = len(self.pending) // self._workers()
        low, high = max(2, share // 4), max(2, share // 2)
        pending = self.node2pending[node]
        if len(pending) >= low:
            return
        if duration >= 0.1 and len(pending) >= 2:
            return  # a long test case is running and the next is known: wait
        chunk = max(2 - len(pending), self.maxschedchunk or len(self.pending))
        self._send_tests(node, min(high - len(pending), chunk))

    def _maybe_release(self) -> None:
        """Send the rest of the serial group once every other worker is done."""
        node = self.serial_node
        if node is None or self._released:
            return
        if any(pending for other, pending in self.node2pending.items() if other is not node):
            return
        self._released = True
        rest, self.held = self.held, []
        if rest:
            self.node2pending[node].extend(rest)
            node.send_runtest_some(rest)
        node.shutdown()

    def mark_test_complete(
        self, node: WorkerController, item_index: int, duration: float = 0
    ) -> None:
        super().mark_test_complete(node, item_index, duration)
        self._maybe_release()

    def remove_node(self, node: WorkerController) -> str | None:
        # the first slice's test cases it had not begun join the serial group (the one it
        # was running is the crashed one, reported by LoadScheduling)
        pending = self.node2pending.get(node, [])
        moved = [i for i in pending[1:] if i in self.first_slice]
        if moved:
            pending[1:] = [i for i in pending[1:] if i not in self.first_slice]
            self.held = sorted([*self.held, *moved])
        crashed: str | None = super().remove_node(node)
        if node is self.serial_node and not self._released:
            # the serial worker went away: the next worker to ask takes the group
            self.serial_node = None
        self._maybe_release()
        return crashed


def read_serial_file(path: Path) -> tuple[Sequence[str], Sequence[str]]:
    """The node ids of the serial group and of the first slice's test cases (both empty
    when the file is missing or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return (), ()
    if not isinstance(data, dict):
        return (), ()

    def ids(key: str) -> list[str]:
        value = data.get(key)
        return [str(x) for x in value] if isinstance(value, list) else []

    return ids(SERIAL_GROUP), ids(FIRST_SLICE)
