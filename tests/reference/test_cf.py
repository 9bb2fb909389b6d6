"""The reference CF driven by engine peers over loopback (seed 000 5.2.3.5, RFC 4575)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from conformance.documents.conference_info import DocState
from conformance.net.clock import WaitTimeout
from conformance.protocol.msrp.session import MessageReceived
from conformance.protocol.sip.headers import get_contacts
from conformance.protocol.sip.message import SipRequest, build_request
from conformance.protocol.sip.timers import Address
from conformance.reference.cf import ControllingFunction, SessionState
from conformance.reference.config import ReferenceConfig
from conformance.reference.faults import ActiveFaults
from tests.reference.ua import WITHIN, Call, Peer, endpoint_of

#: a bounded wait for something that must not happen: Timer B of the reference SUT
ABSENCE = ReferenceConfig().timers.b

CONV = ("Conversation-ID", "c0ffee0000000000000000000000c0de")
CONTRIB = ("Contribution-ID", "abcdef0123456789abcdef0123456789")


@asynccontextmanager
async def running_cf(*faults: str) -> AsyncIterator[ControllingFunction]:
    cf = await ControllingFunction.start(ReferenceConfig(faults=ActiveFaults(frozenset(faults))))
    try:
        yield cf
    finally:
        await cf.close()


@pytest.fixture
async def peers() -> AsyncIterator[dict[str, Peer]]:
    out = {n: await Peer.start(n) for n in ("alice", "bob", "carol", "dave")}
    try:
        yield out
    finally:
        for p in out.values():
            await p.close()


class Group:
    """alice creates a group with bob and carol; bob joins."""

    def __init__(self, cf: ControllingFunction, peers: dict[str, Peer]) -> None:
        self.cf = cf
        self.peers = peers
        self.calls: dict[str, Call] = {}
        self.focus = ""

    @property
    def at(self) -> Address:
        return self.cf.sip.address()

    async def create(self) -> None:
        alice, bob, carol = (self.peers[n] for n in ("alice", "bob", "carol"))
        call = await alice.invite(
            self.cf.factory_uri, self.at, recipients=[bob.aor, carol.aor], headers=[CONV, CONTRIB]
        )
        assert call.response.status == 200
        contact = get_contacts(call.response)[0]
        assert contact.isfocus
        self.focus = contact.uri
        self.calls["alice"] = call
        await self.join("bob")

    async def join(self, name: str) -> Call:
        call = await self.peers[name].invite(self.focus, self.at, headers=[CONV, CONTRIB])
        assert call.response.status == 200
        self.calls[name] = call
        return call

    async def leave(self, name: str) -> None:
        ok = await self.peers[name].bye(self.calls[name], self.at)
        assert ok.status == 200

    async def subscribe(self, name: str = "alice", **kw: object) -> int:
        _, response = await self.peers[name].subscribe(self.focus, self.at, **kw)  # type: ignore[arg-type]
        return response.status


async def make_group(cf: ControllingFunction, peers: dict[str, Peer]) -> Group:
    group = Group(cf, peers)
    await group.create()
    return group


async def test_subscription_follows_joins_departures_and_the_end(peers: dict[str, Peer]) -> None:
    async with running_cf() as cf:
        group = await make_group(cf, peers)
        alice, bob, carol = peers["alice"], peers["bob"], peers["carol"]
        session = cf.session_by_focus(group.focus)
        assert session is not None and session.conversation_id == CONV[1]

        _, ok = await alice.subscribe(group.focus, group.at)
        assert ok.status == 200 and ok.headers.get("Expires") == "600"
        first = await alice.notification()
        assert first.state.startswith("active;expires=")
        assert first.info is not None
        assert (first.info.state, first.info.version) == (DocState.FULL, 1)
        assert [u.entity for u in first.info.users] == [alice.aor, bob.aor]
        assert endpoint_of(first.info, bob.aor) == ("connected", None)

        await group.join("carol")
        joined = await alice.notification()
        assert joined.info is not None
        assert (joined.info.state, joined.info.version) == (DocState.PARTIAL, 2)
        assert [u.entity for u in joined.info.users] == [carol.aor]

        await group.leave("bob")
        left = await alice.notification()
        assert left.info is not None
        assert (left.info.state, left.info.version) == (DocState.PARTIAL, 3)
        assert endpoint_of(left.info, bob.aor) == ("disconnected", "departed")

        await group.leave("carol")
        assert (await alice.notification()).info is not None
        await group.leave("alice")
        final = await alice.notification()
        assert final.state == "terminated;reason=noresource"
        assert session.state is SessionState.INACTIVE


async def test_msrp_messages_are_relayed_to_the_other_participants(
    peers: dict[str, Peer],
) -> None:
    async with running_cf() as cf:
        group = await make_group(cf, peers)
        await group.join("carol")
        alice, bob, carol = (group.calls[n] for n in ("alice", "bob", "carol"))
        assert alice.channel and alice.session and bob.channel and carol.channel
        since_b, since_c = len(bob.channel.events), len(carol.channel.events)
        alice.channel.send_message(alice.session, b"hello group", "text/plain")
        for channel, since in ((bob.channel, since_b), (carol.channel, since_c)):
            got = await channel.expect(
                MessageReceived, within=WITHIN, since=since, match=lambda m: bool(m.body)
            )
            assert got.body == b"hello group"


async def test_subscribe_for_a_focus_not_hosted_gets_404(peers: dict[str, Peer]) -> None:
    async with running_cf() as cf:
        at = cf.sip.address()
        _, response = await peers["alice"].subscribe(cf.focus_uri("nope"), at)
        assert response.status == 404


async def test_subscribe_from_a_non_participant_gets_403(peers: dict[str, Peer]) -> None:
    async with running_cf() as cf:
        group = await make_group(cf, peers)
        assert await group.subscribe("dave") == 403


async def test_other_event_package_gets_489_with_allow_events(peers: dict[str, Peer]) -> None:
    async with running_cf() as cf:
        group = await make_group(cf, peers)
        _, response = await peers["alice"].subscribe(group.focus, group.at, event="presence")
        assert response.status == 489
        assert response.headers.get("Allow-Events") == "conference"


async def test_refresh_in_dialog_and_new_subscription(peers: dict[str, Peer]) -> None:
    async with running_cf() as cf:
        group = await make_group(cf, peers)
        bob = peers["bob"]
        subscribe, ok = await bob.subscribe(group.focus, group.at)
        assert ok.status == 200
        await bob.notification()
        from conformance.protocol.sip.dialog import Dialog

        dialog = Dialog.uac(subscribe, ok)
        refresh = dialog.create_request(
            "SUBSCRIBE", via=bob.via(), headers=[("Event", "conference"), ("Expires", "300")]
        )
        again = await (await bob.sip.request(refresh, group.at)).final(WITHIN)
        assert again.status == 200 and again.headers.get("Expires") == "300"
        refreshed = await bob.notification()
        assert refreshed.info is not None and refreshed.info.version == 2
        assert await group.subscribe("bob") == 200
        fresh = await bob.notification()
        assert fresh.info is not None and fresh.info.version == 1


async def test_inactive_session_restarts_with_the_same_ids(peers: dict[str, Peer]) -> None:
    async with running_cf() as cf:
        group = await make_group(cf, peers)
        await group.leave("bob")
        await group.leave("alice")
        session = cf.session_by_focus(group.focus)
        assert session is not None and session.state is SessionState.INACTIVE
        assert await group.subscribe("alice") == 404
        other = await peers["bob"].invite(
            group.focus, group.at, headers=[("Conversation-ID", "other"), CONTRIB]
        )
        assert other.response.status == 404
        await group.join("bob")
        assert session.state is SessionState.ACTIVE


async def test_upper_tester_end_session_byes_and_noresource(peers: dict[str, Peer]) -> None:
    async with running_cf() as cf:
        group = await make_group(cf, peers)
        alice = peers["alice"]
        assert await group.subscribe("alice") == 200
        await alice.notification()
        detail = await cf.actions()["end-session"]({"session": group.focus})
        assert "ended" in detail
        bye = await peers["bob"].sip.expect_request("BYE", within=WITHIN)
        bye.respond(200)
        final = await alice.notification()
        assert final.state == "terminated;reason=noresource"


def with_to_tag(request: SipRequest) -> SipRequest:
    headers = [
        (h.name, f"{h.value};tag=elsewhere" if h.name == "To" else h.value) for h in request.headers
    ]
    return build_request(request.method, request.uri, headers, request.body)


async def test_invalid_requests_do_not_stop_the_service(peers: dict[str, Peer]) -> None:
    async with running_cf() as cf:
        alice = peers["alice"]
        at = cf.sip.address()
        no_sdp = alice.request("INVITE", cf.factory_uri, body=b"hello", content_type="text/plain")
        response = await (await alice.sip.request(no_sdp, at)).final(WITHIN)
        assert response.status == 488
        unknown = alice.request("PUBLISH", cf.factory_uri)
        assert (await (await alice.sip.request(unknown, at)).final(WITHIN)).status == 501
        # RFC 3261 8.2: the method is inspected first, so in a dialog the CF does not know
        # a method it does not implement gets 501 too (conformance.reference.element)
        in_dialog = with_to_tag(alice.request("NOTIFY", cf.factory_uri))
        response = await (await alice.sip.request(in_dialog, at)).final(WITHIN)
        assert (response.status, response.headers.get("Allow")) == (501, cf.allow)
        alice.sip.send_raw(b"GARBAGE\r\n\r\n", at)
        group = await make_group(cf, peers)
        assert await group.subscribe("alice") == 200


# -- one test per fault: the fault changes exactly the behaviour it names -----------------------


async def test_fault_no_initial_notify(peers: dict[str, Peer]) -> None:
    async with running_cf("cf.no-initial-notify") as cf:
        group = await make_group(cf, peers)
        assert await group.subscribe("alice") == 200
        await group.join("carol")
        first = await peers["alice"].notification()
        # the first NOTIFY is the one the join caused: no initial notification came before
        assert first.info is not None and first.info.user(peers["carol"].aor) is not None
        assert first.info.version == 1


async def test_fault_subscribe_unauthorised_accepted(peers: dict[str, Peer]) -> None:
    async with running_cf("cf.subscribe-unauthorised-accepted") as cf:
        group = await make_group(cf, peers)
        assert await group.subscribe("dave") == 200
        assert (await peers["dave"].notification()).info is not None


async def test_fault_departed_user_kept(peers: dict[str, Peer]) -> None:
    async with running_cf("cf.departed-user-kept") as cf:
        group = await make_group(cf, peers)
        await group.join("carol")
        assert await group.subscribe("alice") == 200
        await peers["alice"].notification()
        await group.leave("bob")
        left = await peers["alice"].notification()
        assert left.info is not None and left.info.state is DocState.PARTIAL
        assert endpoint_of(left.info, peers["bob"].aor) == ("connected", None)


async def test_fault_no_noresource(peers: dict[str, Peer]) -> None:
    async with running_cf("cf.no-noresource") as cf:
        group = await make_group(cf, peers)
        assert await group.subscribe("alice") == 200
        await peers["alice"].notification()
        await group.leave("bob")
        assert (await peers["alice"].notification()).state.startswith("active")
        await group.leave("alice")
        with pytest.raises(WaitTimeout):
            await peers["alice"].notification(within=ABSENCE)


async def test_fault_unknown_focus_200(peers: dict[str, Peer]) -> None:
    async with running_cf("cf.unknown-focus-200") as cf:
        _, response = await peers["alice"].subscribe(cf.focus_uri("nope"), cf.sip.address())
        assert response.status == 200
        group = await make_group(cf, peers)
        assert await group.subscribe("dave") == 403  # only the hosting check is broken


async def test_fault_full_on_change(peers: dict[str, Peer]) -> None:
    async with running_cf("cf.full-on-change") as cf:
        group = await make_group(cf, peers)
        assert await group.subscribe("alice") == 200
        await peers["alice"].notification()
        await group.join("carol")
        joined = await peers["alice"].notification()
        assert joined.info is not None
        assert (joined.info.state, joined.info.version) == (DocState.FULL, 2)
        assert len(joined.info.users) == 3
