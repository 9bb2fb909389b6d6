"""CPM Conversation Function 8.2.3 "Receive Participant Information Notification": the
Group State Object the PF stores when the CF ends its subscription (steps 2-3, items a-h),
the Participant Information it keeps (step 6) and serves without a CF session (the MAY of
"Handling of Participants Information"), and the client SUBSCRIBE's Request-URI rewrite.

The tool plays the originating CPM Client, the CF (focus and NOTIFYs) and the XDMS; the
SUT's Message Store is read back with the store reader. Every expected value is written
here from the seed text (seed 003 8.2.3, seed 000 5.2.3.5).
"""

from __future__ import annotations

import contextlib
import datetime as _dt

import pytest
from lxml import etree

from conformance.checks import (
    EvidenceRef,
    VerdictRecorder,
    expect_equal,
    expect_true,
    inconclusive,
)
from conformance.documents.conference_info import (
    ConferenceDescription,
    ConferenceInfo,
    DocState,
    Endpoint,
    Icon,
    IconUri,
    SubjectExt,
    User,
    build_conference_info,
    parse_conference_info,
)
from conformance.documents.groupstate import GroupState
from conformance.documents.store_object import session_history_folder
from conformance.errors import DocumentError
from conformance.fixtures.case import Tc
from conformance.fixtures.network import Guards
from conformance.net.clock import WaitTimeout
from conformance.protocol.sip.dialog import uri_of
from conformance.protocol.sip.headers import get_contacts
from conformance.roles.cf import IncomingSubscribe
from conformance.roles.store import ObjectNotStored, StoredObject, open_store
from conformance.testcases.procedures import expect_arrival, new_ids, pf_address, sip_evidence
from conformance.testcases.procedures.group_state import (
    known_uids,
    new_group_state_object,
    stored_evidence,
)
from conformance.testcases.procedures.participants import (
    FocusSession,
    group_session_with_subscription,
    subscribed,
)

SUBJECT_1 = "Friday lunch"
SUBJECT_2 = "Saturday brunch"
SUBJECT_TS_1 = "2026-11-21T10:24:11Z"
SUBJECT_TS_2 = "2026-11-21T10:30:00Z"
ICON_URI = "https://files.example.net/icon/823"
ICON_TS = "2026-11-21T10:25:00Z"
MAX_USERS = 20
KEYWORDS = ("closed", "moderated")


def _domain(user: str) -> str:
    return user.split("@", 1)[1] if "@" in user else "example.net"


def _uri(name: str, user: str) -> str:
    return f"sip:{name}-823@{_domain(user)}"


def _user(
    entity: str,
    *,
    name: str | None = None,
    roles: tuple[str, ...] = (),
    yourown: bool | None = None,
    status: str = "connected",
    method: str | None = None,
    state: DocState = DocState.FULL,
) -> User:
    return User(
        entity,
        state=state,
        display_text=name,
        roles=roles,
        yourown=yourown,
        endpoints=(Endpoint(entity, status=status, disconnection_method=method),),
    )


def _expect_element(
    recorder: VerdictRecorder,
    element: tuple[str, str, object],
    items: tuple[tuple[str, str, object], ...],
    evidence: list[EvidenceRef],
) -> None:
    """An element of the stored object (``element``: requirement, what, the element or
    None) is there, and each of its ``items`` (requirement, attribute, expected value)."""
    requirement, what, found = element
    expect_true(
        recorder, requirement, found is not None, expected=what, actual=found, evidence=evidence
    )
    for item, attribute, expected in items:
        expect_equal(
            recorder,
            item,
            expected=expected,
            actual=getattr(found, attribute) if found is not None else None,
            evidence=evidence,
        )


async def _end_subscription(sub: IncomingSubscribe, guards: Guards) -> _dt.datetime:
    """The CF's final NOTIFY (terminated;reason=noresource); when it was sent."""
    sent = _dt.datetime.now(_dt.UTC)
    await (await sub.terminate("noresource")).final(guards.sip)
    return sent


async def _bye(fs: FocusSession, guards: Guards) -> None:
    """The CF ends the session (BYE through the PF to the client)."""
    await fs.cf_session.bye()
    try:
        bye = await fs.client.expect_request("BYE", within=guards.sip)
        bye.respond(200)
    except WaitTimeout:
        pass


@pytest.mark.users(3)
@pytest.mark.requirement(
    "PF-8.2.3-RCV-3",
    "PF-8.2.3-RCV-3-coherent",
    "PF-8.2.3-RCV-3.a",
    "PF-8.2.3-RCV-3.b",
    "PF-8.2.3-RCV-3.c",
    "PF-8.2.3-RCV-3.d",
    "PF-8.2.3-RCV-3.d.i",
    "PF-8.2.3-RCV-3.d.ii",
    "PF-8.2.3-RCV-3.d.iii",
    "PF-8.2.3-RCV-3.d.iv",
    "PF-8.2.3-RCV-3.e",
    "PF-8.2.3-RCV-3.e.i",
    "PF-8.2.3-RCV-3.e.ii",
    "PF-8.2.3-RCV-3.e.iii",
    "PF-8.2.3-RCV-3.f",
    "PF-8.2.3-RCV-3.f.i",
    "PF-8.2.3-RCV-3.f.ii",
    "PF-8.2.3-RCV-3.f.iii",
    "PF-8.2.3-RCV-3.g",
    "PF-8.2.3-RCV-3.h",
    "PF-8.2.3-RCV-6",
    "PF-5.2.3.5-GSO-STORE",
)
async def test_8_2_3_group_state_object_from_the_conference_state(tc: Tc) -> None:
    """with {a group session of a user with <allow-store> and <allow-offline-storage> true,
    the PF subscribed to the focus} ensure that
    { when {the CF sends a full conference-info (users with display-text, roles, yourown,
            a departed, a failed and a booted endpoint; subject with subject-ext; icon;
            maximum-user-count; keywords), two partial ones, then
            Subscription-State: terminated;reason=noresource}
      then {a new Group State Object appears in the session's folder, built from the
            merged state as items a-h say} }"""
    xdms = tc.xdms_preferences()
    user = tc.pixit.users[0].uri
    xdms.set_preferences(user, allow_store=True, allow_offline_storage=True)
    fs, sub = await subscribed(tc, user=user)
    focus = fs.cf_session.focus_uri
    folder = session_history_folder(fs.session.contribution_id)
    bob, carol, dave, erin = (_uri(n, user) for n in ("bob", "carol", "dave", "erin"))
    frank, gina = _uri("frank", user), _uri("gina", user)
    full = ConferenceInfo(
        entity=focus,
        state=DocState.FULL,
        version=1,
        description=ConferenceDescription(
            subject=SUBJECT_1,
            keywords=KEYWORDS,
            maximum_user_count=MAX_USERS,
            subject_ext=SubjectExt(participant=user, timestamp=SUBJECT_TS_1),
            icon=Icon(source=IconUri(ICON_URI), participant=bob, timestamp=ICON_TS),
        ),
        users=(
            _user(user, name="Alice A", roles=("Administrator",), yourown=True),
            _user(bob, name="Bob B", roles=("Participant",)),
            _user(carol, name="Carol C", status="disconnected", method="departed"),
            _user(dave, name="Dave D", status="disconnected", method="failed"),
            _user(erin, name="Erin E", status="disconnected", method="booted"),
        ),
    )
    # partial 1: a new subject (with its subject-ext) and a new user
    partial_1 = ConferenceInfo(
        entity=focus,
        state=DocState.PARTIAL,
        version=2,
        description=ConferenceDescription(
            subject=SUBJECT_2, subject_ext=SubjectExt(participant=bob, timestamp=SUBJECT_TS_2)
        ),
        users=(_user(frank, name="Frank F"),),
    )
    # partial 2: a user joins, then leaves (departed) in the next change
    partial_2 = ConferenceInfo(
        entity=focus,
        state=DocState.PARTIAL,
        version=3,
        users=(_user(gina, name="Gina G", status="disconnected", method="departed"),),
    )
    async with open_store(tc.pixit.message_store.url) as store:
        # 8.2.1 200 OK step 8 may already have stored a Group State Object at set-up
        with contextlib.suppress(ObjectNotStored):
            await store.wait_for_object(
                folder,
                lambda o: o.is_group_state,
                tc.guards.sip,
                what="the Group State Object of the session set-up",
            )
        known = await known_uids(store, folder)
        sub.accept()
        for doc in (full, partial_1, partial_2):
            await (await sub.notify(build_conference_info(doc))).final(tc.guards.sip)
        sent = await _end_subscription(sub, tc.guards)
        got = await new_group_state_object(tc, "PF-8.2.3-RCV-3", store, folder, known)
        seen = _dt.datetime.now(_dt.UTC)
    await _bye(fs, tc.guards)
    if got is None:
        expect_true(
            tc.recorder,
            "PF-5.2.3.5-GSO-STORE",
            False,
            expected="a Group State Object at the end of the session",
            actual="none stored",
        )
        return
    # RCV-3 (a new Group State Object) was judged by its arrival; what it holds below
    obj, gs = got
    ev = [stored_evidence(obj, "the Group State Object stored on noresource")]
    # a: <entity> of <conference-info>
    expect_equal(
        tc.recorder, "PF-8.2.3-RCV-3.a", expected=focus, actual=gs.lastfocussessionid, evidence=ev
    )
    # b: the current date and time
    try:
        stamp = gs.timestamp_datetime()
    except DocumentError:
        stamp = None
    expect_true(
        tc.recorder,
        "PF-8.2.3-RCV-3.b",
        stamp is not None
        and sent - _dt.timedelta(seconds=tc.guards.sip)
        <= stamp
        <= seen + _dt.timedelta(seconds=tc.guards.sip),
        expected=f"between {sent.isoformat()} and {seen.isoformat()} (guard {tc.guards.sip}s)",
        actual=gs.timestamp,
        evidence=ev,
    )
    # c: the type of the CPM Group Session
    expect_true(
        tc.recorder,
        "PF-8.2.3-RCV-3.c",
        (gs.group_type or "").lower() in ("closed", "open"),
        expected="group-type Closed or Open",
        actual=gs.group_type,
        evidence=ev,
    )
    # d: one participant per user, but not those disconnected with departed or failed
    remaining = sorted([user, bob, erin, frank])
    listed = sorted(p.comm_addr or "" for p in gs.participants)
    for requirement, why in (
        (
            "PF-8.2.3-RCV-3.d",
            "departed (carol, gina) and failed (dave) are left out; booted (erin) stays",
        ),
        ("PF-8.2.3-RCV-3-coherent", "the full state with both partial notifications applied"),
        ("PF-8.2.3-RCV-6", "the stored state is the last state the CF notified"),
        ("PF-5.2.3.5-GSO-STORE", "the participants information stored at the session's end"),
    ):
        expect_equal(
            tc.recorder, requirement, expected=remaining, actual=listed, message=why, evidence=ev
        )
    expect_true(
        tc.recorder,
        "PF-8.2.3-RCV-3.d.i",
        bool(gs.participants) and all(p.comm_addr in remaining for p in gs.participants),
        expected=f"comm-addr of each participant among {remaining}",
        actual=[p.comm_addr for p in gs.participants],
        evidence=ev,
    )
    names = {p.comm_addr: p.name for p in gs.participants}
    expect_equal(
        tc.recorder,
        "PF-8.2.3-RCV-3.d.ii",
        expected={user: "Alice A", bob: "Bob B", erin: "Erin E", frank: "Frank F"},
        actual=names,
        evidence=ev,
    )
    yourown = {p.comm_addr: bool(p.yourown) for p in gs.participants}
    expect_equal(
        tc.recorder,
        "PF-8.2.3-RCV-3.d.iii",
        expected={user: True, bob: False, erin: False, frank: False},
        actual=yourown,
        message="yourown only where the <user> had it",
        evidence=ev,
    )
    roles = {p.comm_addr: p.role for p in gs.participants}
    expect_equal(
        tc.recorder,
        "PF-8.2.3-RCV-3.d.iv",
        expected={user: "Administrator", bob: "Participant", erin: None, frank: None},
        actual=roles,
        evidence=ev,
    )
    # e: subject (the latest, from the first partial notification)
    _expect_element(
        tc.recorder,
        ("PF-8.2.3-RCV-3.e", "a subject element", gs.subject),
        (
            ("PF-8.2.3-RCV-3.e.i", "text", SUBJECT_2),
            ("PF-8.2.3-RCV-3.e.ii", "participant", bob),
            ("PF-8.2.3-RCV-3.e.iii", "timestamp", SUBJECT_TS_2),
        ),
        ev,
    )
    # f: icon
    _expect_element(
        tc.recorder,
        ("PF-8.2.3-RCV-3.f", "an icon element", gs.icon),
        (
            ("PF-8.2.3-RCV-3.f.i", "source", IconUri(ICON_URI)),
            ("PF-8.2.3-RCV-3.f.ii", "participant", bob),
            ("PF-8.2.3-RCV-3.f.iii", "timestamp", ICON_TS),
        ),
        ev,
    )
    # g, h
    expect_equal(
        tc.recorder, "PF-8.2.3-RCV-3.g", expected=MAX_USERS, actual=gs.max_user_count, evidence=ev
    )
    expect_equal(
        tc.recorder,
        "PF-8.2.3-RCV-3.h",
        expected=" ".join(KEYWORDS),
        actual=" ".join((gs.policy or "").split()) or None,
        evidence=ev,
    )


def _icon_source_markup(raw: bytes) -> list[str]:
    """What the stored object's <icon> says about a source: child elements other than
    participant/timestamp, and source-like attributes (empty ones included)."""
    root = etree.fromstring(raw)
    found: list[str] = []
    for icon in root.iter():
        if not isinstance(icon.tag, str) or etree.QName(icon).localname != "icon":
            continue
        for c in icon:
            if isinstance(c.tag, str) and etree.QName(c).localname not in (
                "participant",
                "timestamp",
            ):
                found.append(etree.QName(c).localname)
        found += [f"@{a}" for a in icon.attrib if a in ("source", "icon-uri")]
    return found


@pytest.mark.users(3)
@pytest.mark.requirement(
    "PF-8.2.3-RCV-3-new",
    "PF-8.2.3-RCV-3.f.i-empty",
    "PF-8.2.3-RCV-3",
)
@pytest.mark.parametrize("preference", ["allow-store", "allow-offline-storage"])
async def test_8_2_3_group_state_object_snapshots(tc: Tc, preference: str) -> None:
    """with {a user with only <allow-store> true (or only <allow-offline-storage> true:
    either one is the condition of step 2), a group session the user joins twice
    (same Conversation-ID and Contribution-ID)} ensure that
    { when {each time the CF notifies a state whose icon has an empty <source> and then
            ends the subscription with terminated;reason=noresource}
      then {each end adds a new Group State Object to the same folder (the first is kept),
            the one with the latest timestamp holds the last state, and no icon source
            is written} }"""
    xdms = tc.xdms_preferences()
    user = tc.pixit.users[0].uri
    xdms.set_preferences(
        user,
        allow_store=preference == "allow-store",
        allow_offline_storage=preference == "allow-offline-storage",
    )
    bob, frank = _uri("bob", user), _uri("frank", user)
    ids = new_ids()
    folder = session_history_folder(ids[1])
    icon = Icon(source=None, empty_source=True, participant=bob, timestamp=ICON_TS)
    states = ((user, bob), (user, bob, frank))
    snapshots: list[tuple[StoredObject, GroupState]] = []
    focus: str | None = None
    async with open_store(tc.pixit.message_store.url) as store:
        for round_, users in enumerate(states):
            fs = await group_session_with_subscription(tc, user=user, ids=ids, focus=focus)
            if fs.subscribe is None:
                inconclusive("the PF sent no SUBSCRIBE to the focus")
            sub = fs.subscribe
            focus = fs.cf_session.focus_uri
            known = await known_uids(store, folder)
            sub.accept()
            doc = ConferenceInfo(
                entity=focus,
                state=DocState.FULL,
                version=1,
                description=ConferenceDescription(subject=f"{SUBJECT_1} {round_}", icon=icon),
                users=tuple(_user(u, name=u.split(":")[1].split("-")[0]) for u in users),
            )
            await (await sub.notify(build_conference_info(doc))).final(tc.guards.sip)
            await _end_subscription(sub, tc.guards)
            got = await new_group_state_object(tc, "PF-8.2.3-RCV-3", store, folder, known)
            await _bye(fs, tc.guards)
            if got is None:
                return
            snapshots.append(got)
        still = {o.uid for o in await store.group_state_objects(folder)}
    first, last = snapshots
    ev = [stored_evidence(o, f"snapshot {i + 1}") for i, (o, _) in enumerate(snapshots)]
    # RCV-3: one new Group State Object per end of the session, each judged by its arrival;
    # that they are two objects (not one rewritten) is compared here
    expect_equal(
        tc.recorder,
        "PF-8.2.3-RCV-3",
        expected=2,
        actual=len({o.uid for o, _ in snapshots}),
        message="distinct stored objects, one per end of the session",
        evidence=ev,
    )
    expect_true(
        tc.recorder,
        "PF-8.2.3-RCV-3-new",
        first[0].uid != last[0].uid and {first[0].uid, last[0].uid} <= still,
        expected="two distinct Group State Objects, the first one kept",
        actual={"snapshots": [first[0].uid, last[0].uid], "in folder": sorted(still)},
        evidence=ev,
    )
    stamps: list[_dt.datetime | None]
    try:
        stamps = [gs.timestamp_datetime() for _, gs in snapshots]
    except DocumentError:
        stamps = [None, None]
    earlier, later = stamps[0], stamps[1]
    latest = (
        max(
            snapshots,
            key=lambda s: s[1].timestamp_datetime() or _dt.datetime.min.replace(tzinfo=_dt.UTC),
        )
        if None not in stamps
        else None
    )
    expect_true(
        tc.recorder,
        "PF-8.2.3-RCV-3-new",
        earlier is not None
        and later is not None
        and earlier < later
        and latest is not None
        and sorted(p.comm_addr or "" for p in latest[1].participants) == sorted(states[1]),
        expected=f"the latest timestamp holds the last state {sorted(states[1])}",
        actual=[
            (gs.timestamp, sorted(p.comm_addr or "" for p in gs.participants))
            for _, gs in snapshots
        ],
        evidence=ev,
    )
    markup = [_icon_source_markup(o.body) for o, _ in snapshots]
    expect_equal(
        tc.recorder,
        "PF-8.2.3-RCV-3.f.i-empty",
        expected=[[], []],
        actual=markup,
        message="an empty <source> leaves no source information in the icon",
        evidence=ev,
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.3-RCV-3")
async def test_8_2_3_no_group_state_object_without_store_preference(tc: Tc) -> None:
    """with {a user with <allow-store> and <allow-offline-storage> false, the PF
    subscribed to the focus} ensure that
    { when {the CF notifies the state and ends the subscription with
            terminated;reason=noresource}
      then {no Group State Object is stored in the session's folder} }"""
    xdms = tc.xdms_preferences()
    user = tc.pixit.users[0].uri
    xdms.set_preferences(user, allow_store=False, allow_offline_storage=False)
    fs, sub = await subscribed(tc, user=user)
    focus = fs.cf_session.focus_uri
    folder = session_history_folder(fs.session.contribution_id)
    async with open_store(tc.pixit.message_store.url) as store:
        known = await known_uids(store, folder)
        sub.accept()
        doc = ConferenceInfo(
            entity=focus, state=DocState.FULL, version=1, users=(_user(user, name="Alice A"),)
        )
        await (await sub.notify(build_conference_info(doc))).final(tc.guards.sip)
        await _end_subscription(sub, tc.guards)
        # the PF stores on the terminating NOTIFY it has answered: the observation window
        try:
            obj: StoredObject | None = await store.wait_for_object(
                folder,
                lambda o: o.is_group_state and o.uid not in known,
                tc.guards.observe,
                what="a Group State Object",
            )
        except ObjectNotStored:
            obj = None
    await _bye(fs, tc.guards)
    expect_equal(
        tc.recorder,
        "PF-8.2.3-RCV-3",
        expected=None,
        actual=None if obj is None else f"UID {obj.uid}",
        message="neither allow-store nor allow-offline-storage is true (a Group State Object "
        f"watched for the observation window, {tc.guards.observe:.2f} s)",
        evidence=[stored_evidence(obj, "the stored object")] if obj else None,
    )


@pytest.mark.users(3)
@pytest.mark.requirement(
    "PF-8.2.3-CLSUB-LOCAL",
    "PF-8.2.3-CLSUB-LOCAL-NOTIFY",
    "PF-8.2.3-RCV-6",
)
async def test_8_2_3_local_notify_without_cf_session(tc: Tc) -> None:
    """with {a PF that answers a client's SUBSCRIBE itself when it has no session with the
    CF, a group session whose state the CF notified (full, then partial) before ending the
    subscription and the session} ensure that
    { when {the client sends a conference SUBSCRIBE for the group session to the PF}
      then {the PF answers 2xx and NOTIFYs the last state the CF notified, without a
            SUBSCRIBE towards the CF} }"""
    cf = await tc.cf()
    fs, sub = await subscribed(tc)
    user = fs.client.user
    focus = fs.cf_session.focus_uri
    bob, frank = _uri("bob", user), _uri("frank", user)
    sub.accept()
    full = ConferenceInfo(
        entity=focus,
        state=DocState.FULL,
        version=1,
        users=(_user(user, name="Alice A", yourown=True), _user(bob, name="Bob B")),
    )
    partial = ConferenceInfo(
        entity=focus, state=DocState.PARTIAL, version=2, users=(_user(frank, name="Frank F"),)
    )
    for doc in (full, partial):
        await (await sub.notify(build_conference_info(doc))).final(tc.guards.sip)
    await _end_subscription(sub, tc.guards)
    await _bye(fs, tc.guards)
    handle = await fs.client.subscribe(focus, to=pf_address(tc.pixit))
    answer = await handle.final(tc.guards.sip)
    ev = [sip_evidence(answer, "the PF's answer to the client's SUBSCRIBE")]
    notify = None
    try:
        n = await fs.client.expect_request("NOTIFY", within=tc.guards.sip)
        n.respond(200)
        notify = n.request
        ev.append(sip_evidence(notify, "the PF's NOTIFY"))
    except WaitTimeout:
        pass
    try:  # a forwarded SUBSCRIBE would have left with the answer: the observation window
        extra = await cf.expect_subscribe(within=tc.guards.observe)
        at_cf: str | None = extra.request.first_line()
        ev.append(sip_evidence(extra.request, "a SUBSCRIBE at the CF"))
    except WaitTimeout:
        at_cf = None
    expect_true(
        tc.recorder,
        "PF-8.2.3-CLSUB-LOCAL",
        200 <= answer.status < 300 and notify is not None and at_cf is None,
        expected="2xx and a NOTIFY from the PF, no SUBSCRIBE at the CF (observed for the "
        f"observation window, {tc.guards.observe:.2f} s)",
        actual={"answer": answer.status, "notify": notify is not None, "at CF": at_cf},
        evidence=ev,
    )
    users: list[str] | None = None
    if notify is not None and notify.body:
        try:
            users = sorted(u.entity for u in parse_conference_info(notify.body).users)
        except DocumentError:
            users = None
    wanted = sorted([user, bob, frank])
    expect_equal(
        tc.recorder,
        "PF-8.2.3-CLSUB-LOCAL-NOTIFY",
        expected=wanted,
        actual=users,
        message="the locally stored Participant Information",
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-8.2.3-RCV-6",
        expected=wanted,
        actual=users,
        message="the up-to-date Participant Information kept locally",
        evidence=ev,
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.3-CLSUB-RURI")
async def test_8_2_3_client_subscribe_request_uri(tc: Tc) -> None:
    """with {a B2BUA PF in a group session whose own subscription the CF ended
    (terminated;reason=timeout, RFC 6665: the subscriber may subscribe again)}
    ensure that
    { when {the client sends a conference SUBSCRIBE whose Request-URI is the PF's URI of
            the session (the Contact "through which it can be reached", 8.2.1 4.i, of the
            PF's INVITE) rather than the focus}
      then {the SUBSCRIBE the PF sends to the CF has the CPM Group Session Identity (the
            focus) as Request-URI} }"""
    cf = await tc.cf()
    fs, sub = await subscribed(tc)
    focus = fs.cf_session.focus_uri
    sub.accept()
    await (await sub.terminate("timeout")).final(tc.guards.sip)
    invite = fs.cf_session.invite.request
    contacts = get_contacts(invite)
    if not contacts or uri_of(contacts[0].uri) == focus:
        inconclusive("the PF's INVITE names no URI of its own in Contact")
    own = contacts[0].uri
    handle = await fs.client.subscribe(own, to=pf_address(tc.pixit))
    ev = [sip_evidence(invite, "the PF's INVITE with its Contact")]
    answer = await handle.final(tc.guards.sip)
    ev.append(sip_evidence(answer, "the PF's answer to the client's SUBSCRIBE"))
    if not 200 <= answer.status < 300:
        inconclusive(f"the PF did not accept a SUBSCRIBE to its Contact ({answer.status})")
    got = await expect_arrival(
        tc.recorder,
        "PF-8.2.3-CLSUB-RURI",
        cf.expect_subscribe(within=tc.guards.sip),
        expected=f"a SUBSCRIBE to {focus} at the CF",
        evidence=ev,
    )
    if got is not None:
        ev.append(sip_evidence(got.request, "the SUBSCRIBE at the CF"))
        expect_equal(
            tc.recorder,
            "PF-8.2.3-CLSUB-RURI",
            expected=focus,
            actual=uri_of(got.request.uri),
            evidence=ev,
        )
        got.accept()
    await _bye(fs, tc.guards)
