"""The robustness campaign (conformance/robustness.py): its mutator is reproducible, its
liveness bookkeeping names the first input after which a SUT stopped answering, and a
bounded campaign against the reference SUT finds it alive."""

from __future__ import annotations

import asyncio
import base64
import os
from collections import Counter

import pytest

from conformance.catalog.profile import load_sut
from conformance.errors import RemoteProtocolError
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import SipRequest, parse_message
from conformance.protocol.sip.timers import Address, Timers, Transport
from conformance.robustness import (
    OPERATIONS,
    TEMPLATES,
    Campaign,
    CampaignOptions,
    Context,
    Live,
    build_template,
    check_target,
    error_signature,
    generate,
    log_errors,
    run_against,
    wire_bytes,
)
from conformance.roles.core import ToolCore

T1 = 0.02


# ------------------------------------------------------------------ the mutator


def test_an_input_id_regenerates_the_same_bytes() -> None:
    first = [generate(7, i) for i in range(300)]
    again = [generate(7, i) for i in range(299, -1, -1)][::-1]
    assert first == again
    assert all(item.id == f"7:{i}" for i, item in enumerate(first))


def test_another_seed_gives_other_inputs() -> None:
    a = [generate(1, i).data for i in range(100)]
    b = [generate(2, i).data for i in range(100)]
    assert sum(x != y for x, y in zip(a, b, strict=True)) > 90


def test_every_template_and_operation_is_drawn() -> None:
    items = [generate(3, i) for i in range(3000)]
    assert set(Counter(i.template for i in items)) == set(TEMPLATES)
    assert set(Counter(op for i in items for op in i.operations)) == set(OPERATIONS)
    assert {i.protocol for i in items} == {"sip", "msrp"}
    # nearly every input differs from the valid message it was made from
    same = sum(i.data == build_template(i.template, Context(), f"r3x{i.index}") for i in items)
    assert same < len(items) // 20


def test_templates_are_valid_before_mutation() -> None:
    from conformance.protocol.msrp.codec import parse_message as parse_msrp

    for name in TEMPLATES:
        data = build_template(name, Context(), "r0x0")
        if name.startswith("msrp"):
            parse_msrp(data)
        else:
            parse_message(data)


def test_wire_bytes_fill_the_placeholders_only() -> None:
    item = next(
        generate(5, i)
        for i in range(100)
        if generate(5, i).template == "options"
        and generate(5, i).transport == "udp"
        and b"127.0.0.1:5060" in generate(5, i).data
    )
    wire = wire_bytes(item, Live("127.0.0.1", 40000))
    assert b"127.0.0.1:40000" in wire and b"127.0.0.1:5060" not in wire
    assert wire.replace(b"127.0.0.1:40000", b"127.0.0.1:5060") == item.data


def test_described_input_carries_base64_and_escaped_text() -> None:
    item = generate(9, 4)
    d = item.describe()
    assert base64.b64decode(d["base64"]) == item.data
    assert d["id"] == "9:4" and d["length"] == len(item.data)
    assert "\r" not in d["text"]


def test_targets_loopback_only_and_never_documentation_addresses() -> None:
    assert check_target("127.0.0.1", external=False) is None
    assert check_target("::1", external=False) is None
    assert check_target("10.1.2.3", external=False) is not None
    assert check_target("10.1.2.3", external=True) is None
    for doc in ("192.0.2.7", "198.51.100.1", "203.0.113.200"):
        assert "documentation" in (check_target(doc, external=True) or "")
    assert check_target("sut.example", external=True) is not None


def test_log_errors_and_their_signature() -> None:
    log = (
        "PF task failed\nTraceback (most recent call last):\n"
        '  File "/x/conformance/reference/pf/service.py", line 388, in _originate\n'
        "    invite = build()\n"
        '  File "/x/conformance/protocol/sip/headers.py", line 618, in parse_option_tags\n'
        "    raise RemoteProtocolError('x')\n"
        "conformance.errors.RemoteProtocolError: invalid option tag 'x'\nINFO later\n"
    )
    (entry,) = log_errors(log)
    assert entry.startswith("PF task failed")
    assert error_signature(entry) == (
        "service.py:388 in _originate -> headers.py:618 in parse_option_tags: RemoteProtocolError"
    )


# ------------------------------------------------------------------ bookkeeping


class _ScriptedPeer(asyncio.DatagramProtocol):
    """A SIP peer that answers every request with 200 until it receives the bytes that
    carry ``token`` (input K); from then on it answers nothing, like a hung SUT."""

    def __init__(self, token: bytes) -> None:
        self.token = token
        self.hung = False
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if self.token in data:
            self.hung = True
        if self.hung:
            return
        try:
            msg = parse_message(data)
        except RemoteProtocolError:
            return
        if isinstance(msg, SipRequest) and msg.method != "ACK":
            assert self.transport is not None
            self.transport.sendto(response_to(msg, 200).to_bytes(), addr)


class _ScriptedSut:
    """The campaign's view of the scripted peer; a restart gives a fresh, answering one."""

    restartable = True

    def __init__(self, token: bytes) -> None:
        self.token = token
        self.targets: dict[str, Address] = {}
        self.peer: _ScriptedPeer | None = None
        self.starts = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, peer = await loop.create_datagram_endpoint(
            lambda: _ScriptedPeer(self.token), local_addr=("127.0.0.1", 0)
        )
        self.peer = peer
        self.starts += 1
        port = int(transport.get_extra_info("sockname")[1])
        self.targets = {"cf": Address("127.0.0.1", port, Transport.UDP)}

    def dead(self) -> str | None:
        return None

    def new_log_errors(self) -> list[str]:
        return []

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def stop(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()
        self.peer = None


async def test_the_first_input_after_which_the_peer_stopped_answering_is_reported() -> None:
    ctx = Context(targets=("cf",), msrp=False)
    seed, k = 11, None
    for i in range(40, 200):
        item = generate(seed, i, ctx)
        if item.transport == "udp" and f"Call-ID: r{seed}x{i}@".encode() in item.data:
            k = i
            break
    assert k is not None
    sut = _ScriptedSut(f"Call-ID: r{seed}x{k}@".encode())
    await sut.start()
    core = await ToolCore.start("127.0.0.1", 0, timers=Timers(T1, 8 * T1, 10 * T1))
    try:
        campaign = Campaign(
            sut,
            core,
            ctx,
            CampaignOptions(seed=seed, count=300, batch=25, timeout=0.5),
            probe_invite=False,
        )
        try:
            result = await asyncio.wait_for(campaign.run(), 60)
        finally:
            await campaign.close()
    finally:
        await core.close()
        await sut.stop()
    (finding,) = result.findings
    assert finding.kind == "no-answer"
    assert finding.batch[0] <= k < finding.batch[1]
    assert finding.first is not None and finding.first.index == k
    assert finding.first.data == generate(seed, k, ctx).data
    described = result.to_json()["findings"][0]["first_input"]
    assert described["id"] == f"{seed}:{k}"
    assert base64.b64decode(described["base64"]) == generate(seed, k, ctx).data
    # the campaign stopped at the failing batch, and a fresh SUT was used for the replay
    assert result.sent == finding.batch[1] and not result.complete
    assert sut.starts == 2
    assert f"{seed}:{k}" in result.summary()


# ------------------------------------------------------------------ against the reference


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.timeout(90)
async def test_a_bounded_campaign_finds_the_reference_sut_alive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from conformance import robustness

    pids: list[int] = []
    original = robustness.ReferenceSut.start

    async def start(self: robustness.ReferenceSut) -> None:
        await original(self)
        pids.extend(self.pids[-1:])

    monkeypatch.setattr(robustness.ReferenceSut, "start", start)
    loop = asyncio.get_running_loop()
    began = loop.time()
    result = await run_against(
        load_sut("reference"), CampaignOptions(seed=2026, count=300, batch=50, timeout=2.0)
    )
    assert loop.time() - began < 45
    assert result.sent == 300 and result.complete
    assert result.probes >= 300 // 50
    assert not [f for f in result.findings if f.kind != "log-exception"], result.summary()
    for f in result.findings:  # an unhandled exception is pinned to an input
        assert f.first is not None, result.summary()
    assert pids and not any(_alive(p) for p in pids)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out


@pytest.mark.timeout(120)
async def test_sigterm_stops_the_reference_sut_and_writes_the_results(tmp_path: object) -> None:
    import json
    import signal
    import sys
    from pathlib import Path

    out = Path(str(tmp_path)) / "robustness.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "conformance.robustness",
        "--count",
        "100000",
        "--batch",
        "50",
        "--output",
        str(out),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    children: list[int] = []
    try:
        while loop.time() < deadline and process.returncode is None:
            children = _children(process.pid)
            if children:
                break
            await asyncio.sleep(0.1)  # probe interval while the SUT starts; the guard decides
        assert children, "the campaign started no reference SUT"
        await asyncio.sleep(1.0)  # let some inputs go out (not a decision)
        process.send_signal(signal.SIGTERM)
        stdout, _ = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 130, stdout
    result = json.loads(out.read_text())
    assert "interrupted" in result["notes"] and not result["complete"]
    assert not any(_alive(c) for c in children)


def test_the_tools_parsers_survive_mutated_inputs() -> None:
    """The campaign's inputs fed to the tool's own parsers (what it reads from a SUT):
    each parses or raises RemoteProtocolError; nothing else."""
    from collections.abc import Callable

    from conformance.documents.cpim import parse_cpim
    from conformance.documents.imdn import parse_imdn
    from conformance.protocol.msrp.codec import MsrpParser, MsrpRequest
    from conformance.protocol.sip.headers import get_contacts, get_content_type, get_vias
    from conformance.protocol.sip.message import SipMessage, StreamParser, check_semantics
    from conformance.protocol.sip.sdp import parse_sdp
    from conformance.roles.client import sdp_of

    def attempt(fn: Callable[[], object]) -> object:
        try:
            return fn()
        except RemoteProtocolError:
            return None

    def readers(msg: SipMessage) -> list[Callable[[], object]]:
        return [
            lambda: check_semantics(msg),
            lambda: get_vias(msg),
            lambda: get_contacts(msg),
            lambda: get_content_type(msg),
            lambda: parse_sdp(sdp_of(msg)).msrp,
        ]  # type: ignore[arg-type]

    for i in range(1000):
        item = generate(12, i)
        data = item.data
        if item.protocol == "sip":
            StreamParser().feed(data)
            try:
                msg = parse_message(data)
            except RemoteProtocolError:
                continue
            for read in readers(msg):
                attempt(read)
            continue
        for out in MsrpParser().feed(data):
            if isinstance(out, MsrpRequest) and out.body:
                try:
                    cpim = parse_cpim(out.body)
                except RemoteProtocolError:
                    continue
                body = cpim.body
                attempt(lambda body=body: parse_imdn(body))  # type: ignore[misc]
