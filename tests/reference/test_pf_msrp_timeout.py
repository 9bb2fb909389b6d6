"""The reference PF's MSRP transaction timeout comes from the profile (PIXIT
``timers.msrp_transaction_timeout``), not from the 30 s built into MsrpConfig."""

from __future__ import annotations

from conformance.catalog.profile import load_profile, reference_profile_path
from conformance.net.capture import Capture
from conformance.net.msrp_transport import MsrpTransport
from conformance.protocol.msrp.session import DEFAULT_TRANSACTION_TIMEOUT, TransactionTimedOut
from conformance.protocol.sip.timers import Address, Transport
from conformance.pytest.reference_sut import reference_config
from conformance.reference.config import ReferenceConfig
from conformance.reference.pf.service import ParticipatingFunction
from tests.reference.ua import WITHIN


def test_reference_config_takes_the_profile_msrp_transaction_timeout() -> None:
    profile = load_profile(reference_profile_path())
    wanted = profile.pixit.timers.msrp_transaction_timeout
    assert wanted != DEFAULT_TRANSACTION_TIMEOUT  # the reference profile scales it down
    core = Address("127.0.0.1", 5060, Transport.UDP)
    config = reference_config(
        profile, core=core, isf_hop=core, xdms_url="http://127.0.0.1:1/", store_url="", faults=()
    )
    assert config.msrp_transaction_timeout == wanted


def test_default_is_the_rfc_value() -> None:
    assert ReferenceConfig().msrp_transaction_timeout == DEFAULT_TRANSACTION_TIMEOUT


async def test_pf_send_times_out_after_the_configured_value() -> None:
    """A SEND of the PF that nobody answers times out after the configured timeout (the
    "lost" threshold of seed 004 8.3.2.9), well within a guard far below 30 s."""
    config = ReferenceConfig(msrp_transaction_timeout=0.1, upper_tester_port=None)
    pf = await ParticipatingFunction.start(config)
    try:
        assert pf.msrp.config.transaction_timeout == 0.1
        async with await MsrpTransport.start("127.0.0.1", Capture()) as silent:
            channel = await pf.msrp.connect("127.0.0.1", silent.port)
            session = channel.add_session(pf.msrp.uri("pf"), silent.uri("peer"))
            [send] = channel.send_message(session, b"hi", "text/plain")
            event = await channel.expect(TransactionTimedOut, within=WITHIN)
            assert event.request.tid == send.tid
    finally:
        await pf.close()
