"""The XDMS over real HTTP, and the S-CSCF's third-party REGISTER seen by a registrar
role behind the same core."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.sip.cpm import ICSI_SESSION, ICSI_SESSION_GROUP
from conformance.protocol.sip.headers import get_contacts
from conformance.protocol.sip.message import parse_message
from conformance.roles.core import ToolCore
from conformance.roles.ims_core import Scscf
from conformance.roles.xdms import XdmsServer

WITHIN = 5.0
PF_URI = "sip:pf.reference.test"
ALICE = "sip:alice@reference.test"
ALICE_1 = "urn:uuid:00000000-0000-4000-8000-00000000a001"


async def _get(url_host: str, port: int, target: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(url_host, port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: {url_host}\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), WITHIN)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


async def test_xdms_serves_documents_and_404() -> None:
    async with await XdmsServer.start() as xdms:
        target = f"/preferences/{quote(ALICE, safe='')}"
        status, _ = await _get(xdms.host, xdms.port, target)
        assert status == 404
        xdms.set_preferences(ALICE, allow_offline_storage=False, blacklist=["sip:m@r.test"])
        status, body = await _get(xdms.host, xdms.port, target)
        assert status == 200
        assert json.loads(body) == {
            "allow-offline-storage": False,
            "allow-store": True,
            "blacklist": ["sip:m@r.test"],
            "do-not-disturb": False,
        }
        assert [(r.status, r.user) for r in xdms.requests] == [(404, ALICE), (200, ALICE)]
        assert xdms.preferences_url(ALICE) == f"{xdms.url}{target}"
        xdms.clear()
        status, _ = await _get(xdms.host, xdms.port, target)
        assert status == 404


async def test_third_party_register_and_deregister(core: ToolCore) -> None:
    """The core routes the S-CSCF's REGISTER (Request-URI = PF URI) to a tiny registrar
    standing in for the PF."""
    seen: list[IncomingRequest] = []

    def registrar(incoming: IncomingRequest) -> None:
        seen.append(incoming)
        incoming.respond(200)

    core.add_route("pf", lambda r: r.method == "REGISTER", registrar)
    scscf = Scscf(core, PF_URI)
    response = await scscf.third_party_register(
        core.address, ALICE, ALICE_1, contact_user="alice-a001", expires=600, within=WITHIN
    )
    assert response.status == 200
    assert list(scscf.registrations) == [(ALICE, ALICE_1)]

    request = seen[0].request
    assert request.uri == PF_URI
    assert request.headers.get("To") == f"<{ALICE}>"
    assert request.headers.get("Expires") == "600"
    assert request.headers.get("Content-Type") == "message/sip"
    assert scscf.uri in (request.headers.get("From") or "")
    inner = parse_message(request.body)
    (contact,) = get_contacts(inner)
    assert contact.instance == f'"<{ALICE_1}>"' or contact.instance == f"<{ALICE_1}>"
    assert contact.icsi_refs == (ICSI_SESSION, ICSI_SESSION_GROUP)
    assert contact.expires == 600
    assert contact.uri == core.uri("alice-a001")
    assert inner.headers.get("User-Agent") == "CPM-client/OMA2.0 tool-client/1"

    results = await scscf.deregister_all(within=WITHIN)
    assert [getattr(r, "status", None) for r in results] == [200]
    assert seen[1].request.headers.get("Expires") == "0"
    assert get_contacts(parse_message(seen[1].request.body))[0].expires == 0
    assert not scscf.registrations
