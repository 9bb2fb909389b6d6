"""A loopback demonstration of the engine: one CPM group chat exchange, captured.

Two of the tool's own SIP/MSRP engines play a CPM Client ("alice") and a Participating
Function ("pf") on 127.0.0.1 with ports chosen at run time:

1. alice sends a group INVITE (multipart SDP + resource-lists, CPM headers);
2. the PF answers 200 with an MSRP answer (setup passive, msrp-cema) and alice ACKs;
3. alice sends a 6 KB CPIM message over MSRP in 2 KB chunks with Success-Report;
4. the PF answers each chunk and sends one REPORT for the whole message;
5. alice ends the session with BYE (Reason: SIP;cause=200).

Everything alice sends and receives is captured; the demo prints the exchange and writes
``capture.log`` and ``capture.pcap`` (which Wireshark/tshark dissect as SIP and MSRP) into
the report directory. It exits non-zero if any step does not happen within its guard time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

from conformance.documents.cpim import build_cpim, new_cpim
from conformance.documents.resource_lists import Entry, ResourceList, build_resource_list
from conformance.net.capture import Capture, format_record, write_text_log
from conformance.net.clock import WaitTimeout
from conformance.net.msrp_pump import MsrpPump
from conformance.net.pcap import write_pcap
from conformance.net.sip_pump import SipPump, TransactionTimeoutError
from conformance.protocol.msrp.session import ReportReceived
from conformance.protocol.sip import cpm
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.headers import format_icsi_ref
from conformance.protocol.sip.ids import new_branch, new_call_id, new_tag
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import build_request
from conformance.protocol.sip.multipart import build_multipart, build_part
from conformance.protocol.sip.sdp import build_msrp_sdp, parse_sdp
from conformance.protocol.sip.timers import Timers, Transport

#: guard time for every step (the engines run with T1 = 20 ms)
WITHIN = 5.0
CHUNK = 2048


@dataclass(frozen=True, slots=True)
class DemoResult:
    capture: Capture
    #: the capture files, when a report directory was given
    log_path: Path | None
    pcap_path: Path | None


def _via(pump: SipPump) -> str:
    addr = pump.transport.address(Transport.UDP)
    return f"SIP/2.0/UDP {addr.host}:{addr.port};branch={new_branch()};rport"


async def run_demo(report_dir: Path | None) -> DemoResult:
    """Run the exchange; raises WaitTimeout/TransactionTimeoutError if a step is missing."""
    capture = Capture()
    timers = Timers(t1=0.02)
    alice = await SipPump.start(capture=capture, timers=timers)
    pf = await SipPump.start(timers=timers)
    alice_msrp = await MsrpPump.start(capture=capture)
    pf_msrp = await MsrpPump.start()
    try:
        a_addr = alice.transport.address(Transport.UDP)
        pf_addr = pf.transport.address(Transport.UDP)
        alice_uri = f"sip:alice@{a_addr.host}:{a_addr.port}"
        group_uri = f"sip:group-factory@{pf_addr.host}:{pf_addr.port}"

        # 1. the group INVITE
        alice_path = alice_msrp.uri("alice-demo")
        offer = build_msrp_sdp(
            host=a_addr.host,
            port=alice_msrp.address().port,
            path=[alice_path],
            accept_types=("message/cpim",),
            accept_wrapped_types=("text/plain", "message/imdn+xml"),
            setup="active",
        )
        recipients = build_resource_list(
            ResourceList(entries=(Entry("sip:bob@example.test"), Entry("sip:carol@example.test")))
        )
        content_type, body = build_multipart(
            [
                build_part("application/sdp", offer),
                build_part(
                    "application/resource-lists+xml",
                    recipients,
                    disposition="recipient-list",
                ),
            ]
        )
        icsi = format_icsi_ref([cpm.ICSI_SESSION])
        invite = build_request(
            "INVITE",
            group_uri,
            [
                ("Via", _via(alice)),
                ("Max-Forwards", "70"),
                ("From", f"<{alice_uri}>;tag={new_tag()}"),
                ("To", f"<{group_uri}>"),
                ("Call-ID", new_call_id(a_addr.host)),
                ("CSeq", "1 INVITE"),
                ("Contact", f"<{alice_uri}>;{icsi}"),
                ("Accept-Contact", f"*;{icsi}"),
                ("P-Preferred-Service", cpm.ICSI_SESSION_GROUP),
                ("User-Agent", "CPM-client/OMA2.0 cpm-conformance-demo/1"),
                ("Conversation-ID", "demo-conversation-1"),
                ("Contribution-ID", "demo-contribution-1"),
                ("Supported", "timer, recipient-list-invite"),
                ("Require", "recipient-list-invite"),
                ("Session-Expires", "1800;refresher=uac"),
                ("Content-Type", content_type),
            ],
            body,
        )
        handle = await alice.request(invite, pf_addr)

        # 2. the PF answers
        incoming = await pf.expect_request("INVITE", within=WITHIN)
        pf_path = pf_msrp.uri("pf-demo")
        answer = build_msrp_sdp(
            host=pf_addr.host,
            port=pf_msrp.address().port,
            path=[pf_path],
            accept_types=("message/cpim",),
            accept_wrapped_types=("text/plain", "message/imdn+xml"),
            setup="passive",
            msrp_cema=True,
        )
        pf_tag = new_tag()
        pf_contact = f"<sip:focus@{pf_addr.host}:{pf_addr.port}>;isfocus"
        ok = response_to(
            incoming.request,
            200,
            to_tag=pf_tag,
            headers=[
                ("Contact", pf_contact),
                ("Server", "CPM-serv/OMA2.0 cpm-conformance-demo/1"),
                ("Session-Expires", "1800;refresher=uac"),
                ("Content-Type", "application/sdp"),
            ],
            body=answer,
        )
        pf_dialog = Dialog.uas(incoming.request, pf_tag, pf_contact)
        pf.retransmit_2xx_until_ack(incoming, ok)
        final = await handle.final(within=WITHIN)
        if final.status != 200:
            raise RuntimeError(f"INVITE answered {final.status}, expected 200")
        dialog = Dialog.uac(invite, final)
        alice.send_stateless(dialog.create_ack(1, via=_via(alice)), pf_addr)
        await pf.expect_request("ACK", within=WITHIN)
        pf_dialog.confirm(ok)

        # 3./4. MSRP: alice (setup active) connects and sends a chunked CPIM message
        answered = parse_sdp(final.body).msrp
        channel = await alice_msrp.connect(
            answered.connection_address or pf_addr.host, answered.port
        )
        session = channel.add_session(alice_path, pf_path)
        pf_channel = await pf_msrp.accepted(within=WITHIN)
        pf_channel.add_session(pf_path, alice_path)
        text = ("Hello group! " * 480).encode()
        cpim = build_cpim(
            new_cpim(
                from_=f"<{alice_uri}>",
                to=("<sip:bob@example.test>", "<sip:carol@example.test>"),
                body=text,
                content_type="text/plain;charset=UTF-8",
                imdn_message_id="demo-msg-1",
                disposition_notification=("positive-delivery", "display"),
            )
        )
        chunks = channel.send_message(
            session, cpim, "message/cpim", success_report="yes", chunk_size=CHUNK
        )
        received = await pf_channel.expect_message(within=WITHIN)
        if received.body != cpim:
            raise RuntimeError("the PF reassembled a different message")
        for chunk in chunks:
            await channel.response(chunk, within=WITHIN)
        await channel.expect(ReportReceived, within=WITHIN)

        # 5. BYE with Reason
        bye = dialog.create_request(
            "BYE", via=_via(alice), headers=[("Reason", 'SIP;cause=200;text="Call completed"')]
        )
        bye_handle = await alice.request(bye, pf_addr)
        got_bye = await pf.expect_request("BYE", within=WITHIN)
        got_bye.respond(200, to_tag=pf_tag)
        await bye_handle.final(within=WITHIN)
    finally:
        for closing in (alice_msrp, pf_msrp):
            await closing.close()
        for sip in (alice, pf):
            await sip.close()

    if report_dir is None:  # nothing is written unless asked for
        return DemoResult(capture=capture, log_path=None, pcap_path=None)
    report_dir.mkdir(parents=True, exist_ok=True)
    log_path = report_dir / "capture.log"
    pcap_path = report_dir / "capture.pcap"
    write_text_log(capture.records, log_path)
    write_pcap(capture, pcap_path)
    return DemoResult(capture=capture, log_path=log_path, pcap_path=pcap_path)


def _start_lines(protocol: str | None, data: bytes) -> list[str]:
    """The start line of each message in a datagram or stream segment."""
    lines = data.split(b"\r\n")
    if protocol == "msrp":
        found = [ln for ln in lines if ln.startswith(b"MSRP ")]
    else:
        found = [ln for ln in lines if ln.startswith(b"SIP/2.0 ") or ln.endswith(b" SIP/2.0")]
    return [ln.decode("utf-8", "replace")[:100] for ln in found] or ["(continuation)"]


def configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=None,
        help="also write the capture here (capture.log, capture.pcap); default: nothing written",
    )
    parser.add_argument("--full", action="store_true", help="print every message in full")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cpm-conformance demo",
        description="Loopback demo: a captured CPM group session set-up, MSRP and tear-down.",
    )
    configure_demo(parser)
    return cmd_demo(parser.parse_args(argv))


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        result = asyncio.run(run_demo(args.report_dir))
    except (WaitTimeout, TransactionTimeoutError, RuntimeError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    start = result.capture.records[0].timestamp if result.capture.records else 0.0
    print("Captured at alice (the emulated CPM Client):")
    for rec in result.capture.records:
        arrow = "->" if rec.direction == "out" else "<-"
        if args.full:
            print(format_record(rec))
        else:
            where = f"{rec.transport.upper():3} {rec.protocol or '':4} {arrow}"
            peer = f"{rec.remote[0]}:{rec.remote[1]:<5}"
            for i, line in enumerate(_start_lines(rec.protocol, rec.data)):
                stamp = f"{rec.timestamp - start:8.3f}s" if i == 0 else " " * 9
                print(f"{stamp} {where} {peer}  {line}")
    files = f"; log: {result.log_path}; pcap: {result.pcap_path}" if result.log_path else ""
    print(f"\n{len(result.capture.records)} records{files}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
