"""The user pool (conformance/catalog/pool.py) and the serial group's scheduler
(conformance/pytest/pool_scheduler.py): slices are disjoint, the run's needs are checked,
and the held test cases start only when every other worker is done."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from conformance.catalog.pool import (
    PoolError,
    slice_count,
    slice_for,
    slice_users,
    whole_pool,
    with_users,
)
from conformance.catalog.profile import ProfileError, User, load_sut, parse_profile
from conformance.pytest.pool import default_workers


def _profile(users: int, per: int | None) -> Any:
    data: dict[str, Any] = {
        "sut": {"name": "x", "target": "reference", "roles": ["pf"]},
        "users": [{"uri": f"sip:u{i}@example.test", "clients": [f"c{i}"]} for i in range(users)],
    }
    if per is not None:
        data["pool"] = {"users_per_worker": per}
    return parse_profile(data)


def test_reference_profile_has_eight_slices_of_the_same_shape() -> None:
    pixit = load_sut("reference").pixit
    assert slice_count(pixit) == 8
    seen: set[str] = set()
    for index in range(8):
        users = slice_users(pixit, index)
        assert [len(u.clients) for u in users] == [1, 2, 1]
        uris = {u.uri for u in users}
        assert not uris & seen
        seen |= uris
    assert len(seen) == 24


def test_slices_of_workers_and_shards_are_disjoint() -> None:
    pixit = _profile(12, 2).pixit
    indexes = {
        slice_for(pixit, worker=w, workers=3, shard=(k, 2)).index for k in (1, 2) for w in range(3)
    }
    assert indexes == set(range(6))
    assert slice_for(pixit, worker=None, workers=1, shard=None).index is None
    assert slice_for(pixit, worker=None, workers=1, shard=(3, 6)).index == 2


def test_too_many_workers_is_one_clear_line() -> None:
    pixit = _profile(6, 3).pixit
    with pytest.raises(PoolError) as caught:
        slice_for(pixit, worker=2, workers=3, shard=None)
    text = str(caught.value)
    assert "\n" not in text
    assert "2 slices of 3 users" in text and "3 workers need 3" in text


def test_a_pixit_slice_keeps_the_pool_for_lookups() -> None:
    pixit = _profile(6, 2).pixit
    sliced = with_users(pixit, slice_for(pixit, worker=1, workers=3, shard=None))
    assert [u.uri for u in sliced.users] == ["sip:u2@example.test", "sip:u3@example.test"]
    assert sliced.user("sip:u5@example.test") == User("sip:u5@example.test", ("c5",))
    assert len(whole_pool(sliced).users) == 6


def test_without_a_pool_table_every_user_is_one_slice() -> None:
    pixit = _profile(5, None).pixit
    assert slice_count(pixit) == 1
    assert default_workers(pixit, cpus=2) == 1


def test_default_workers_is_capped_by_cpus_and_by_shards() -> None:
    pixit = _profile(30, 3).pixit
    assert default_workers(pixit, cpus=2) == 4
    assert default_workers(pixit, cpus=8) == 10
    assert default_workers(pixit, cpus=8, shards=5) == 2


@pytest.mark.parametrize(
    ("per", "problem"),
    [(0, "at least 1"), (7, "more than the profile's 6"), ("3", "expected an integer")],
)
def test_bad_users_per_worker_is_a_profile_error(per: object, problem: str) -> None:
    with pytest.raises(ProfileError) as caught:
        _profile(6, per)  # type: ignore[arg-type]
    assert problem in str(caught.value)


# ------------------------------------------------------------------- the serial group


class _Node:
    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.sent: list[int] = []

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent += indices

    def shutdown(self) -> None:
        self.shutting_down = True

    def __repr__(self) -> str:
        return str(self.gateway.id)


def _scheduler(
    tmp_path: Path,
    collection: list[str],
    serial: list[str],
    nodes: int,
    first: Sequence[str] = (),
    names: Sequence[str] = (),
) -> Any:
    from conformance.pytest.pool_scheduler import PoolScheduling

    path = tmp_path / "serial.json"
    placed = {"serial": serial, "first-slice": list(first)}
    path.write_text(__import__("json").dumps(placed), encoding="utf-8")
    config = SimpleNamespace(
        getoption=lambda name, default=None: {"maxschedchunk": None}.get(name, default),
        getvalue=lambda name: {"tx": [f"{nodes}*popen"]}.get(name),
        getini=lambda name: [],
        option=SimpleNamespace(numprocesses=nodes, tx=[], dist="load"),
    )
    sched = PoolScheduling(config, None, path)
    made = [_Node(name) for name in (names or [f"gw{i}" for i in range(nodes)])]
    for node in made:
        sched.add_node(node)
        sched.add_node_collection(node, collection)
    return sched, made


def _run_to_end(sched: Any, nodes: list[_Node]) -> list[tuple[str, int]]:
    """Complete test cases the way workers do (each runs an item once it knows the next,
    or is shutting down); the order in which they ran."""
    ran: list[tuple[str, int]] = []
    for _ in range(1000):
        progressed = False
        for node in nodes:
            pending = sched.node2pending.get(node, [])
            if len(pending) >= 2 or (pending and node.shutting_down):
                item = pending[0]
                ran.append((str(node.gateway.id), item))
                sched.mark_test_complete(node, item)
                progressed = True
        if not progressed:
            break
    return ran


def test_the_serial_group_runs_last_on_one_worker_alone(tmp_path: Path) -> None:
    collection = [f"t{i}" for i in range(12)]
    sched, nodes = _scheduler(tmp_path, collection, ["t3", "t7"], 3)
    sched.schedule()
    ran = _run_to_end(sched, nodes)
    assert sorted(i for _, i in ran) == list(range(12))
    serial_at = [n for n, (_, i) in enumerate(ran) if i in (3, 7)]
    # both held test cases come after every other one, on the same worker
    assert serial_at == [10, 11]
    assert len({w for w, i in ran if i in (3, 7)}) == 1
    assert sched.tests_finished


def test_without_a_serial_group_it_schedules_like_load(tmp_path: Path) -> None:
    collection = [f"t{i}" for i in range(9)]
    sched, nodes = _scheduler(tmp_path, collection, [], 2)
    sched.schedule()
    ran = _run_to_end(sched, nodes)
    assert sorted(i for _, i in ran) == list(range(9))
    assert {w for w, _ in ran} == {"gw0", "gw1"}
    assert sched.tests_finished


def test_only_serial_test_cases(tmp_path: Path) -> None:
    sched, nodes = _scheduler(tmp_path, ["a", "b"], ["a", "b"], 2)
    sched.schedule()
    ran = _run_to_end(sched, nodes)
    assert sorted(i for _, i in ran) == [0, 1]
    assert len({w for w, _ in ran}) == 1


def test_the_first_slice_runs_first_on_its_worker_beside_the_others(tmp_path: Path) -> None:
    collection = [f"t{i}" for i in range(16)]
    first = ["t5", "t9", "t12"]
    sched, nodes = _scheduler(tmp_path, collection, ["t3"], 3, first=first)
    sched.schedule()
    # gw0 is sent them before anything else
    assert nodes[0].sent[:3] == [5, 9, 12]
    assert not {5, 9, 12} & set(nodes[1].sent + nodes[2].sent)
    ran = _run_to_end(sched, nodes)
    assert sorted(i for _, i in ran) == list(range(16))
    assert {w for w, i in ran if i in (5, 9, 12)} == {"gw0"}
    # they ran while the other workers ran theirs, and the serial group is still last
    first_done = max(n for n, (_, i) in enumerate(ran) if i in (5, 9, 12))
    assert any(w != "gw0" for w, _ in ran[first_done + 1 :])
    assert ran[-1][1] == 3
    assert sched.tests_finished


def test_hand_out_begins_when_the_first_slice_worker_has_collected(tmp_path: Path) -> None:
    collection = [f"t{i}" for i in range(40)]
    first = ["t5", "t9"]
    sched, nodes = _scheduler(tmp_path, collection, ["t3"], 4, first=first)
    late = nodes[1:]
    # gw0 and gw1 are up, gw1 has collected: not yet (the first slice's worker has not)
    for node in nodes[2:]:
        sched.node2pending.pop(node)
        sched.node2collection.pop(node)
    sched.node2collection.pop(nodes[0])
    assert not sched.collection_is_completed
    sched.add_node_collection(nodes[0], collection)
    assert sched.collection_is_completed
    sched.schedule()
    # gw0 takes its first slice and a chunk sized for the run's four workers, not half of
    # everything (the two workers still starting take their share when they are up)
    assert nodes[0].sent[:2] == [5, 9]
    assert len(nodes[0].sent) - 2 <= 40 // 4 // 4 + 1
    assert nodes[1].sent and len(nodes[1].sent) <= 40 // 4 // 4 + 1
    ran: list[tuple[str, int]] = []
    for _ in range(3):  # gw0 runs three while the others start
        item = sched.node2pending[nodes[0]][0]
        ran.append(("gw0", item))
        sched.mark_test_complete(nodes[0], item)
        # refilled to half a share of the run's four workers, not of the two up so far
        assert len(sched.node2pending[nodes[0]]) <= max(2, len(sched.pending) // 4 // 2) + 2
    for node in late[1:]:
        sched.add_node(node)
        sched.add_node_collection(node, collection)
        sched.schedule()
        assert node.sent  # a worker that collected later gets its share at once
    ran += _run_to_end(sched, nodes)
    assert sorted(i for _, i in ran) == list(range(40))
    assert {w for w, i in ran if i in (5, 9)} == {"gw0"}
    assert ran[-1][1] == 3  # the serial group is still last
    assert {w for w, _ in ran} == {"gw0", "gw1", "gw2", "gw3"}
    assert sched.tests_finished


def test_the_first_slice_joins_the_serial_group_when_its_worker_goes_away(
    tmp_path: Path,
) -> None:
    collection = [f"t{i}" for i in range(12)]
    sched, nodes = _scheduler(tmp_path, collection, [], 3, first=["t1", "t2", "t4"])
    sched.schedule()
    # gw0 crashes in its first test case: the two it had not begun run at the end, on
    # one worker (which then claims the whole pool), the crashed one is reported
    assert sched.remove_node(nodes[0]) == "t1"
    ran = _run_to_end(sched, nodes[1:])
    assert sorted(i for _, i in ran) == sorted(set(range(12)) - {1})
    tail = [i for _, i in ran[-2:]]
    assert tail == [2, 4]
    assert len({w for w, i in ran if i in (2, 4)}) == 1


def test_without_the_first_slice_worker_they_are_the_serial_group(tmp_path: Path) -> None:
    collection = [f"t{i}" for i in range(8)]
    sched, nodes = _scheduler(tmp_path, collection, [], 2, first=["t0"], names=["gw1", "gw2"])
    sched.schedule()
    ran = _run_to_end(sched, nodes)
    assert sorted(i for _, i in ran) == list(range(8))
    assert ran[-1][1] == 0


def _run_args(**given: object) -> Any:
    from argparse import Namespace

    values = {
        "workers": None,
        "shard": None,
        "layout": "direct",
        "store": "maildir",
        "reference_process": "inprocess",
    }
    values.update(given)
    return Namespace(**values)


def test_run_workers_auto_is_capped_by_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance import cli

    monkeypatch.delenv(cli.ENV_WORKERS, raising=False)
    monkeypatch.setattr(cli.os, "cpu_count", lambda: 64)
    profile = _profile(6, 3)  # two slices
    assert cli.run_workers(_run_args(workers="auto"), profile) == "2"
    assert cli.run_workers(_run_args(workers="0"), profile) == ""
    assert cli.run_workers(_run_args(workers="3"), profile) == "3"  # refused later, one line
    monkeypatch.setenv(cli.ENV_WORKERS, "auto")
    assert cli.run_workers(_run_args(), profile) == "2"
    monkeypatch.setenv(cli.ENV_WORKERS, "0")
    assert cli.run_workers(_run_args(), profile) == ""
    monkeypatch.delenv(cli.ENV_WORKERS)
    assert cli.run_workers(_run_args(), profile) == "2"
    assert cli.run_workers(_run_args(store="dovecot"), profile) == ""


class _Item:
    """What :func:`placement` reads of a collected test case."""

    def __init__(self, role: str, fixtures: tuple[str, ...], users: int = 1) -> None:
        from conformance.pytest.selection import INFO, CaseInfo

        self.stash = pytest.Stash()
        self.stash[INFO] = CaseInfo(requirements=(), role=role)
        self.fixturenames = fixtures
        self._users = users

    def get_closest_marker(self, name: str) -> object:
        return pytest.mark.users(self._users).mark if name == "users" else None


def test_placements_of_the_client_test_cases_and_the_system_flows() -> None:
    from conformance.pytest.selection import FIRST_SLICE, SERIAL_GROUP, placement

    def where(item: _Item) -> str | None:
        placed = placement(item, 3)  # type: ignore[arg-type]
        return placed[0] if placed is not None else None

    assert where(_Item("pf", ("tc",))) is None
    assert where(_Item("client", ("tc",))) == FIRST_SLICE
    # a flow's relay claims the SUT PF's address, which the SUT client's requests name
    assert where(_Item("pf", ("tc", "sut_relay"))) == FIRST_SLICE
    assert where(_Item("pf", ("tc", "sut_relay"), users=4)) == SERIAL_GROUP
