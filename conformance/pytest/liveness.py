"""Fail fast on a dead SUT (an external SUT only; the reference SUT is started by the run).

After a test case in which the SUT sent nothing at all (no message reached any of the
tool's sockets from its set-up to its teardown), the next test case of the same role first
probes the SUT's address for that role (SIP OPTIONS, else a TCP connect; the preflight's
probe). When the probe fails, that test case and every remaining one of the role are
``inconc`` at once, with the reason "SUT unreachable: no answer from HOST:PORT/UDP within
2.0 s", so a run against a dead SUT ends in seconds instead of a Timer F per test case.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from dataclasses import dataclass, field

import pytest

from conformance.catalog.model import Role
from conformance.catalog.profile import Target
from conformance.errors import Inconclusive
from conformance.preflight import probe_sip
from conformance.protocol.sip.timers import Address
from conformance.pytest.config import STATE
from conformance.pytest.evidence import records_of
from conformance.pytest.selection import INFO

#: how long the probe waits for an answer
PROBE_TIMEOUT = 2.0


@dataclass(slots=True)
class Liveness:
    #: roles whose last test case saw nothing from the SUT: probe before the next one
    suspect: set[str] = field(default_factory=set)
    #: role -> why it is unreachable (probe failed): every later test case is inconc
    dead: dict[str, str] = field(default_factory=dict)


LIVENESS = pytest.StashKey[Liveness]()


def _role_address(item: pytest.Item) -> tuple[str, str, Address] | None:
    """(role, tool host, SUT address) for an external SUT's role, else None."""
    info = item.stash.get(INFO, None)
    state = item.config.stash.get(STATE, None)
    profile = state.profile if state is not None else None
    if info is None or profile is None or profile.target is Target.REFERENCE:
        return None
    try:
        address = profile.pixit.sut.get(Role(info.role))
    except ValueError:
        return None
    if address is None:
        return None
    return info.role, profile.pixit.tool_host, address


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    target = _role_address(item)
    if target is None:
        return
    role, tool_host, address = target
    live = item.config.stash.setdefault(LIVENESS, Liveness())
    if role in live.suspect and role not in live.dead:
        live.suspect.discard(role)
        # a loop of its own, outside the session loop the test cases run on
        loop = asyncio.new_event_loop()
        try:
            problem, _ = loop.run_until_complete(probe_sip(tool_host, address, PROBE_TIMEOUT))
        finally:
            loop.close()
        if problem is not None:
            live.dead[role] = problem
    if role in live.dead:
        raise Inconclusive(f"SUT unreachable: {live.dead[role]}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        target = _role_address(item)
        if target is not None:
            _, records = records_of(item)
            if not any(r.direction == "in" for r in records):
                item.config.stash.setdefault(LIVENESS, Liveness()).suspect.add(target[0])
