"""Group State Object snapshots in the Message Store (seed 004 8.2.3 RCV step 3, 5.2.3.5):
what was there before the stimulus, the next object the PF adds, and its evidence.

A procedure waits and reads; the only judgement it records is the one the test case names
(``requirement``): no new object, or one that cannot be read, fails it. Every other check
stays in the test case.
"""

from __future__ import annotations

from conformance.checks import EvidenceRef, evidence, expect_true
from conformance.documents.groupstate import GroupState, parse_group_state
from conformance.errors import DocumentError
from conformance.fixtures.case import Tc
from conformance.roles.store import MessageStoreReader, StoredObject
from conformance.testcases.procedures.messages import expect_arrival


def stored_evidence(obj: StoredObject, what: str) -> EvidenceRef:
    """``obj`` as evidence: its folder and UID, and its raw bytes."""
    return evidence("store", what, f"{obj.folder} UID {obj.uid}", obj.raw)


async def known_uids(store: MessageStoreReader, folder: str) -> set[int]:
    """The UIDs in ``folder`` now (none when the folder does not exist yet)."""
    if not await store.folder_exists(folder):
        return set()
    return {o.uid for o in await store.objects(folder)}


async def new_group_state_object(
    tc: Tc,
    requirement: str,
    store: MessageStoreReader,
    folder: str,
    known: set[int],
) -> tuple[StoredObject, GroupState] | None:
    """The next Group State Object the PF adds to ``folder`` (a fail of ``requirement``
    when none comes); inconclusive when it cannot be read at all."""
    recorder, guards = tc.recorder, tc.guards
    obj = await expect_arrival(
        recorder,
        requirement,
        store.wait_for_object(
            folder,
            lambda o: o.is_group_state and o.uid not in known,
            guards.sip * 2,
            what="a new Group State Object",
        ),
        expected=f"a new Group State Object in {folder!r}",
    )
    if obj is None:
        return None
    try:
        return obj, parse_group_state(obj.body)
    except DocumentError as exc:
        expect_true(
            recorder,
            requirement,
            False,
            expected="a readable Group State Object",
            actual=str(exc),
            evidence=[stored_evidence(obj, "the stored object")],
        )
        return None


__all__ = ["known_uids", "new_group_state_object", "stored_evidence"]
