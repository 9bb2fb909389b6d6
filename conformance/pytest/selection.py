"""Collection: the ``requirement`` marker checked against the catalogue, selection by role,
clause and requirement, and applicability (n/a by role, PICS or strength)."""

from __future__ import annotations

import gc
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conformance.catalog.model import Requirement, Role
from conformance.catalog.pool import users_per_slice
from conformance.catalog.profile import SutProfile
from conformance.pytest.config import get_catalog, get_profile
from conformance.pytest.options import is_worker
from conformance.report.shards import Shard, ShardError, durations_from, parse_shard, split

MARKER = "requirement"
#: a system flow's SUT roles: ``@pytest.mark.sut_roles("pf", "cf")``
SUT_ROLES_MARKER = "sut_roles"
NA_ROLE_PREFIX = "role not under test"
OPTIONAL_REASON = "optional; use --strict"


@dataclass(frozen=True, slots=True)
class CaseInfo:
    """What the plugin knows about one conformance test case (stashed on the item)."""

    requirements: tuple[Requirement, ...]
    role: str
    #: requirement id -> reason it is n/a (PICS false, or optional without --strict)
    not_applicable: dict[str, str] = field(default_factory=dict)
    #: the reason the whole test case is n/a, or ""
    na_reason: str = ""

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.requirements)


INFO = pytest.StashKey[CaseInfo]()
#: the profile users a test case ran with (its ``tc.pixit.users``: the worker's slice of
#: the user pool, or every user), kept in its results
CASE_USERS = pytest.StashKey[tuple[str, ...]]()


def register_markers(config: pytest.Config) -> None:
    """The ``requirement``, ``sut_roles`` and ``users`` markers (``--strict-markers`` knows
    them)."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*ids, role=None): the catalogue requirement ids a test case checks",
    )
    config.addinivalue_line(
        "markers",
        f"{SUT_ROLES_MARKER}(*roles): a system flow that needs every one of these roles under "
        "test at once (n/a unless the SUT profile claims them all)",
    )
    config.addinivalue_line(
        "markers",
        "users(n): the test case uses n of the profile's users (pixit.users[0] to [n-1]); "
        "a parallel worker's slice of the users must hold at least n (none: one user)",
    )


def _marker_ids(item: pytest.Item) -> tuple[list[str], str | None]:
    ids: list[str] = []
    role: str | None = None
    for mark in item.iter_markers(MARKER):
        for arg in mark.args:
            if isinstance(arg, str):
                ids.append(arg)
            else:
                ids.extend(str(a) for a in arg)
        if mark.kwargs.get("role") and role is None:
            role = str(mark.kwargs["role"])
    seen: dict[str, None] = dict.fromkeys(ids)
    return list(seen), role


def _role_of(item: pytest.Item, explicit: str | None, reqs: tuple[Requirement, ...]) -> str:
    if explicit:
        return explicit
    values = {r.value for r in Role}
    for part in reversed(Path(str(item.path)).parent.parts):
        if part in values:
            return part
    return reqs[0].role.value if reqs else ""


def _section_matches(section: str, clause: str) -> bool:
    clause = clause.rstrip(".")
    return section == clause or section.startswith(clause + ".")


def _sut_roles(item: pytest.Item) -> tuple[str, ...]:
    """The roles of the ``sut_roles`` marker (a system flow), in order; () without one."""
    mark = item.get_closest_marker(SUT_ROLES_MARKER)
    if mark is None:
        return ()
    return tuple(dict.fromkeys(str(a) for a in mark.args))


def _applicability(
    reqs: tuple[Requirement, ...],
    role: str,
    profile: SutProfile,
    strict: bool,
    sut_roles: tuple[str, ...] = (),
) -> tuple[dict[str, str], str]:
    from conformance.catalog.pics import evaluate

    claimed = [r.value for r in profile.roles]
    missing = [r for r in sut_roles if r not in claimed]
    if missing:
        reason = (
            f"{NA_ROLE_PREFIX}: {', '.join(missing)} (the system flow needs the SUT roles "
            f"{', '.join(sut_roles)} at once; the SUT profile claims {', '.join(claimed)})"
        )
        return {r.id: reason for r in reqs}, reason
    if sut_roles:
        role = ""  # every role of the flow is under test
    if role and role not in {r.value for r in profile.roles}:
        roles = ", ".join(r.value for r in profile.roles)
        reason = f"{NA_ROLE_PREFIX}: {role} (the SUT profile claims {roles})"
        return {r.id: reason for r in reqs}, reason
    na: dict[str, str] = {}
    pics = profile.pics_for_evaluation()
    for r in reqs:
        if not evaluate(r.applicability, pics):
            na[r.id] = f"PICS: {r.applicability} is false"
        elif not strict and not r.strength.mandatory:
            na[r.id] = f"{r.strength.value}: {OPTIONAL_REASON}"
    if reqs and len(na) == len(reqs):
        if any(reason.startswith("PICS") for reason in na.values()):
            exprs = sorted({r.applicability for r in reqs if na[r.id].startswith("PICS")})
            return na, f"PICS rules out every requirement ({'; '.join(exprs)})"
        return na, OPTIONAL_REASON
    return na, ""


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    marked = [it for it in items if it.get_closest_marker(MARKER) is not None]
    if not marked:
        return
    catalog = get_catalog(config)
    unknown: list[str] = []
    for item in marked:
        ids, _ = _marker_ids(item)
        if not ids:
            unknown.append(f"{item.nodeid}: requirement marker without an id")
        for rid in ids:
            if rid not in catalog:
                try:
                    catalog.get(rid)
                except KeyError as exc:
                    unknown.append(f"{item.nodeid}: {exc.args[0] if exc.args else rid}")
    if unknown:
        raise pytest.UsageError(
            "requirement marker names ids missing from the catalogue:\n  " + "\n  ".join(unknown)
        )
    profile = get_profile(config)
    strict = bool(config.getoption("cpm_strict", False))
    roles = set(config.getoption("cpm_roles", []) or [])
    clauses = list(config.getoption("cpm_clauses", []) or [])
    wanted = set(config.getoption("cpm_requirements", []) or [])
    selecting = bool(roles or clauses or wanted)
    keep: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        if item.get_closest_marker(MARKER) is None:
            (deselected if selecting else keep).append(item)
            continue
        ids, explicit_role = _marker_ids(item)
        reqs = tuple(catalog.get(rid) for rid in ids)
        role = _role_of(item, explicit_role, reqs)
        flow_roles = _sut_roles(item)
        if selecting and not (
            (not roles or role in roles or bool(roles.intersection(flow_roles)))
            and (not clauses or any(_section_matches(r.section, c) for r in reqs for c in clauses))
            and (not wanted or any(r.id in wanted for r in reqs))
        ):
            deselected.append(item)
            continue
        keep.append(item)
        na, na_reason = _applicability(reqs, role, profile, strict, flow_roles)
        item.stash[INFO] = CaseInfo(reqs, role, na, na_reason)
        _add_properties(item, reqs, role)
        if na_reason:
            item.add_marker(pytest.mark.skip(reason=f"n/a: {na_reason}"))
    deselected += take_shard(config, keep)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep


#: the marker of a test case that needs ``n`` users of the profile at once
USERS_MARKER = "users"


def users_needed(item: pytest.Item) -> int:
    """The users a test case needs at once (its ``users(n)`` marker, else 1)."""
    mark = item.get_closest_marker(USERS_MARKER)
    if mark is None or not mark.args:
        return 1
    value = mark.args[0]
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


#: a pooled run's placements (docs/parallel.md): on the worker with the pool's first slice,
#: or in the serial group at the end, with the whole pool
FIRST_SLICE = "first-slice"
#: the fixture of the system flows (the tool's core relays between the SUT's PF and CF)
SYSTEM_FLOW_FIXTURE = "sut_relay"
SERIAL_GROUP = "serial"


def placement(item: pytest.Item, per_slice: int) -> tuple[str, str] | None:
    """Where ``item`` runs in a pooled run, and why: ``(FIRST_SLICE | SERIAL_GROUP,
    reason)``; None: on any worker's slice."""
    info = item.stash.get(INFO, None)
    if info is None or info.na_reason:
        return None
    need = users_needed(item)
    if need > per_slice:
        return SERIAL_GROUP, f"needs {need} users, a slice has {per_slice}"
    if info.role == "client":
        return FIRST_SLICE, "the SUT client's user is the pool's first"
    if SYSTEM_FLOW_FIXTURE in getattr(item, "fixturenames", ()):
        # the flow's relay claims the SUT PF's and CF's addresses at the dispatcher for
        # the test case (testcases/system_description/flows/conftest.py): requests the SUT
        # client sends name the PF's address too, so only the first slice's worker may
        return FIRST_SLICE, "a system flow relays between the SUT's PF and CF"
    return None


def serial_reason(item: pytest.Item, per_slice: int) -> str | None:
    """Why ``item`` cannot run on any slice (None: it can): the serial group and the
    first slice's test cases both belong to shard 1."""
    placed = placement(item, per_slice)
    return placed[1] if placed is not None else None


def get_shard(config: pytest.Config) -> Shard | None:
    """The ``--cpm-shard`` of the run (validated by the option), or None. Shards running
    against one SUT take disjoint slices of its user pool by it, as workers do."""
    text = config.getoption("cpm_shard", None)
    return parse_shard(str(text)) if text else None


def take_shard(config: pytest.Config, keep: list[pytest.Item]) -> list[pytest.Item]:
    """With ``--cpm-shard K/N``: keep only shard K of the selected test cases (n/a ones
    included, so that each lands in exactly one shard) and return the others, deselected
    (not in this shard's results). The split (:mod:`conformance.report.shards`) is by the
    durations of ``--cpm-durations`` when given, else by count."""
    shard = get_shard(config)
    if shard is None:
        return []
    path = config.getoption("cpm_durations", None)
    # the serial group (docs/parallel.md) belongs to shard 1, whose first slice of the
    # user pool holds the SUT client's user
    pixit = get_profile(config).pixit
    per = users_per_slice(pixit)
    serial = (
        {it.nodeid for it in keep if serial_reason(it, per) is not None}
        if pixit.users_per_worker
        else set()
    )
    try:
        durations = durations_from(path, option="--cpm-durations") if path else {}
        parts = split([it.nodeid for it in keep if it.nodeid not in serial], shard.total, durations)
        mine = set(parts[shard.index - 1]) | (serial if shard.index == 1 else set())
    except ShardError as exc:
        raise pytest.UsageError(str(exc)) from None
    others = [it for it in keep if it.nodeid not in mine]
    keep[:] = [it for it in keep if it.nodeid in mine]
    return others


def pytest_collection_finish(session: pytest.Session) -> None:
    """``--cpm-collect-json PATH``: node id -> requirement ids (for ``coverage``).

    In a conformance run (``--cpm-report-dir``), what exists now (modules, the collected
    test cases) lives until the process ends: it is frozen out of the garbage collector's
    passes (``gc.freeze``), which made each full collection during the run, and the five
    pytest makes at exit, cost a worker about 0.07 s each."""
    if session.config.getoption("cpm_report_dir", None):
        gc.freeze()
    path = session.config.getoption("cpm_collect_json", None)
    if not path or is_worker(session.config):
        return
    data = {
        it.nodeid: _marker_ids(it)[0]
        for it in session.items
        if it.get_closest_marker(MARKER) is not None
    }
    Path(path).write_text(json.dumps(data, indent=1), encoding="utf-8")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """In a conformance run, once the results are written: what the run built up (the
    controller holds every test case's reports and evidence) is frozen out of the five
    collections pytest makes at exit as well, 0.3 s of the controller's end here."""
    if session.config.getoption("cpm_report_dir", None):
        gc.freeze()


def _add_properties(item: pytest.Item, reqs: tuple[Requirement, ...], role: str) -> None:
    props: list[tuple[str, object]] = []
    for name, values in (
        ("document", [r.document.value for r in reqs]),
        ("section", [r.section for r in reqs]),
        ("requirement", [r.id for r in reqs]),
        ("strength", [r.strength.value for r in reqs]),
        ("links", [f"{r.seed}#{r.clause}" for r in reqs] + [x for r in reqs for x in r.references]),
    ):
        for v in dict.fromkeys(values):
            props.append((name, v))
    props.insert(3, ("role", role))
    item.user_properties.extend(props)
