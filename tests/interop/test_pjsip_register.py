"""REGISTER with digest authentication: our engine is the registrar, pjsua2 the UA.

The engine challenges with 401 and verifies the answer per RFC 2617 3.2.2 (RFC 7616 with
MD5, qop=auth): username, realm, nonce, opaque echoed, nc/cnonce present, and the response
hash computed from the password.
"""

from __future__ import annotations

import asyncio

import pytest

from conformance.protocol.sip.ids import new_tag
from conformance.roles.pjsip_peer import PjsipPeer
from tests.interop import (
    EngineUA,
    digest_challenge,
    parse_auth_params,
    verify_digest,
)

pytestmark = pytest.mark.needs_server("pjsua2")

WITHIN = 5.0
USER = "alice"
PASSWORD = "s3cret-Pa55"
REALM = "cpm.test"


@pytest.mark.parametrize("qop", ["auth", None], ids=["qop-auth", "no-qop"])
async def test_pjsip_registers_with_digest(
    engine: EngineUA, pjsip: PjsipPeer, qop: str | None
) -> None:
    registering = asyncio.create_task(
        pjsip.register(f"sip:{engine.host}:{engine.port}", USER, PASSWORD, domain=REALM)
    )
    first = await engine.expect_request("REGISTER", WITHIN)
    assert first.request.headers.get("Authorization") is None
    challenge = digest_challenge(REALM, qop=qop)
    await engine.reply(
        first, 401, to_tag=new_tag(), headers=[("WWW-Authenticate", challenge.header())]
    )

    second = await engine.expect_request("REGISTER", WITHIN)
    # RFC 3261 10.2.4 / 8.1.3.5: same Call-ID, CSeq incremented
    assert second.request.call_id == first.request.call_id
    assert second.request.cseq[0] == first.request.cseq[0] + 1
    authorization = second.request.headers.get("Authorization")
    assert authorization is not None
    assert verify_digest(authorization, challenge, "REGISTER", USER, PASSWORD) == []
    assert parse_auth_params(authorization)["uri"] == f"sip:{engine.host}:{engine.port}"

    contact = second.request.headers.get("Contact")
    assert contact is not None
    await engine.reply(
        second, 200, to_tag=new_tag(), headers=[("Contact", f"{contact};expires=120")]
    )
    result = await asyncio.wait_for(registering, WITHIN)
    assert result.code == 200
    assert result.expiration == 120

    unregistering = asyncio.create_task(pjsip.unregister())
    third = await engine.expect_request("REGISTER", WITHIN)
    expires = third.request.headers.get("Expires")
    assert expires == "0" or "expires=0" in (third.request.headers.get("Contact") or "")
    reused = third.request.headers.get("Authorization")
    if reused is not None:  # pjsua2 reuses the nonce with nc incremented
        assert verify_digest(reused, challenge, "REGISTER", USER, PASSWORD) == []
    await engine.reply(third, 200, to_tag=new_tag())
    assert (await asyncio.wait_for(unregistering, WITHIN)).code == 200


async def test_wrong_password_is_detected(engine: EngineUA, pjsip: PjsipPeer) -> None:
    registering = asyncio.create_task(
        pjsip.register(f"sip:{engine.host}:{engine.port}", USER, "wrong", domain=REALM)
    )
    first = await engine.expect_request("REGISTER", WITHIN)
    challenge = digest_challenge(REALM)
    await engine.reply(
        first, 401, to_tag=new_tag(), headers=[("WWW-Authenticate", challenge.header())]
    )
    second = await engine.expect_request("REGISTER", WITHIN)
    authorization = second.request.headers.get("Authorization") or ""
    assert verify_digest(authorization, challenge, "REGISTER", USER, PASSWORD) == [
        "response does not match the password"
    ]
    await engine.reply(second, 403, to_tag=new_tag())
    result = await asyncio.wait_for(registering, WITHIN)
    assert result.code == 403
