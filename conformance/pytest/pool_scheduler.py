"""The load scheduler of a pooled parallel run, with the serial group at the end.

pytest-xdist's :class:`LoadScheduling` hands the test cases out in chunks. This one first
takes out the serial group (the node ids the workers wrote to the pool's serial file,
conformance/pytest/pool.py) and hands out the rest. When nothing else is left to hand out,
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
        self.serial_node: WorkerController | None = None
        self._released = False

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
        """Take the serial group out of ``pending`` (once: when the collection is set)."""
        if self.collection is None:
            return
        serial = set(read_serial_file(self.serial_file))
        if not serial:
            return
        self.held = [i for i, nodeid in enumerate(self.collection) if nodeid in serial]
        held = set(self.held)
        self.pending[:] = [i for i in self.pending if i not in held]

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
        if self.maxschedchunk is None:
            self.maxschedchunk = len(collection)
        if not self.pending:
            for node in self.nodes:
                self.check_schedule(node)
            return
        # the first hand-out, as LoadScheduling does it
        if len(self.pending) < 2 * len(self.nodes):
            nodes = list(self.nodes)
            for n in range(len(self.pending)):
                self._send_tests(nodes[n % len(nodes)], 1)
        else:
            per_node = len(self.pending) // len(self.nodes)
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
        if self.pending or (not self.held and self.serial_node is None):
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
        crashed: str | None = super().remove_node(node)
        if node is self.serial_node and not self._released:
            # the serial worker went away: the next worker to ask takes the group
            self.serial_node = None
        self._maybe_release()
        return crashed


def read_serial_file(path: Path) -> Sequence[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    return [str(x) for x in data] if isinstance(data, list) else ()
