"""Hostile XML from a SUT: in a NOTIFY body (conference-info) and in a Message Store
object (Group State Object). Entity declarations (billion laughs, external entities,
parameter entities), oversize, deep or wide documents and wrong encodings all end in a
DocumentError (a RemoteProtocolError: fail) carrying the raw bytes, fast and with
bounded memory; never an expansion, a file read or a network fetch."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.documents.conference_info import parse_conference_info
from conformance.documents.groupstate import parse_group_state
from conformance.documents.store_object import (
    build_group_state_object,
    session_history_folder,
)
from conformance.errors import DocumentError, RemoteProtocolError
from conformance.net.maildir import MaildirStore
from conformance.protocol.sip.message import build_request
from conformance.roles.client import ClientEmulator
from conformance.roles.store import open_store

from .conftest import GUARD
from .peers import RssGuard, UdpPeer

CI_NS = "urn:ietf:params:xml:ns:conference-info"
GS_NS = "urn:oma:xml:cpm:groupstate"


def _laughs(root: str) -> bytes:
    ents = '<!ENTITY l0 "lollollollollollollollollollol">' + "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE {root} [{ents}]>\n'
        f'<{root} xmlns="{CI_NS}" entity="sip:c@x">&l9;</{root}>'
    ).encode()


def _external(root: str, ns: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY x SYSTEM "file:///etc/passwd">'
        f'<!ENTITY y SYSTEM "http://127.0.0.1:9/evil">]>\n'
        f'<{root} xmlns="{ns}" entity="sip:c@x">&x;&y;</{root}>'
    ).encode()


def _parameter(root: str, ns: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY % p SYSTEM '
        f'"http://127.0.0.1:9/evil.dtd"> %p;]>\n<{root} xmlns="{ns}"/>'
    ).encode()


def _deep(root: str, ns: str) -> bytes:
    return (
        f'<{root} xmlns="{ns}" entity="sip:c@x">' + "<a>" * 5000 + "</a>" * 5000 + f"</{root}>"
    ).encode()


def _wide(root: str, ns: str) -> bytes:
    return (f'<{root} xmlns="{ns}" entity="sip:c@x">' + "<a/>" * 20000 + f"</{root}>").encode()


def _big(root: str, ns: str) -> bytes:
    return (
        f'<{root} xmlns="{ns}" entity="sip:c@x"><!--' + "x" * (2 * 1024 * 1024) + f"--></{root}>"
    ).encode()


HOSTILE_XML: list[tuple[str, Callable[[str, str], bytes]]] = [
    ("billion laughs", lambda root, ns: _laughs(root)),
    ("external entities", _external),
    ("parameter entity", _parameter),
    ("doctype only", lambda root, ns: f"<!DOCTYPE {root}><{root} xmlns='{ns}'/>".encode()),
    ("5000 deep", _deep),
    ("20000 wide", _wide),
    ("2 MB", _big),
    (
        "utf-16 declared, utf-8 sent",
        lambda root, ns: (
            f'<?xml version="1.0" encoding="UTF-16"?><{root} xmlns="{ns}"/>'
        ).encode(),
    ),
    (
        "latin-1 declared",
        lambda root, ns: (
            f'<?xml version="1.0" encoding="ISO-8859-1"?><{root} xmlns="{ns}">\xe9</{root}>'
        ).encode("latin-1"),
    ),
    ("not XML", lambda root, ns: b"\x00\x01\x02 garbage <<<"),
    ("unclosed", lambda root, ns: f'<{root} xmlns="{ns}"><a>'.encode()),
    ("SDP instead", lambda root, ns: b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"),
]
IDS = [n for n, _ in HOSTILE_XML]


def _judge(parse: Callable[[bytes], object], data: bytes) -> DocumentError:
    began = time.monotonic()
    with RssGuard(32 * 1024 * 1024), pytest.raises(RemoteProtocolError) as caught:
        parse(data)
    assert time.monotonic() - began < 2.0
    assert isinstance(caught.value, DocumentError) or caught.value.raw is not None
    return caught.value  # type: ignore[return-value]


@pytest.mark.parametrize(("name", "make"), HOSTILE_XML, ids=IDS)
def test_hostile_conference_info(name: str, make: Callable[[str, str], bytes]) -> None:
    _judge(parse_conference_info, make("conference-info", CI_NS))


@pytest.mark.parametrize(("name", "make"), HOSTILE_XML, ids=IDS)
def test_hostile_group_state(name: str, make: Callable[[str, str], bytes]) -> None:
    _judge(parse_group_state, make("groupstate", GS_NS))


async def test_conference_info_bomb_in_a_notify(client: ClientEmulator) -> None:
    """The SUT NOTIFYs the client with a billion-laughs conference-info: the client takes
    the request, and reading its body is a DocumentError with the bytes as evidence."""
    body = _laughs("conference-info")
    core = client.core
    # in a subscription the client made (a NOTIFY of none is answered 481 and kept away)
    client.track_call("hostile-notify@127.0.0.1", "t1")
    peer = await UdpPeer.start()
    try:
        notify = build_request(
            "NOTIFY",
            client.contact_uri,
            [
                ("Via", f"SIP/2.0/UDP 127.0.0.1:{peer.address.port};branch=z9hG4bKhostile;rport"),
                ("Max-Forwards", "70"),
                ("From", "<sip:conf@cf.reference.test>;tag=h1"),
                ("To", f"<{client.user}>;tag=t1"),
                ("Call-ID", "hostile-notify@127.0.0.1"),
                ("CSeq", "1 NOTIFY"),
                ("Event", "conference"),
                ("Subscription-State", "active;expires=600"),
                ("Content-Type", "application/conference-info+xml"),
            ],
            body,
        )
        peer.send(notify.to_bytes(), (core.address.host, core.address.port))
        incoming = await client.expect_request("NOTIFY", within=GUARD)
        incoming.respond(200)
    finally:
        peer.close()
    error = _judge(parse_conference_info, incoming.request.body)
    assert error.raw is not None and b"<!ENTITY" in error.raw


# ------------------------------------------------------------------ the Message Store


def _store(root: Path) -> tuple[MaildirStore, str]:
    store = MaildirStore(root)
    folder = session_history_folder("hostile-contribution")
    store.create_folder(folder)
    return store, folder


@pytest.mark.parametrize(("name", "make"), HOSTILE_XML[:3], ids=IDS[:3])
async def test_hostile_group_state_object_in_the_store(
    tmp_path: Path, name: str, make: Callable[[str, str], bytes]
) -> None:
    store, folder = _store(tmp_path)
    store.append(
        folder,
        build_group_state_object(
            make("groupstate", GS_NS),
            conversation_id="c",
            contribution_id="hostile-contribution",
            imdn_message_id="m1",
        ),
    )
    async with open_store(f"maildir:{tmp_path}") as reader:
        (obj,) = await reader.group_state_objects(folder)
    error = _judge(parse_group_state, obj.body)
    assert error.raw is not None


MALFORMED_OBJECTS: list[tuple[str, bytes]] = [
    ("no header section", b"\x00\x01\x02\xff binary junk without any header"),
    ("header without colon", b"Content-Type application/x\r\n\r\nbody"),
    ("1 MB header line", b"X-Long: " + b"A" * (1024 * 1024) + b"\r\n\r\nbody"),
    ("NUL in header", b"Conversation-ID: a\x00b\r\nContent-Type: text/plain\r\n\r\nx"),
    ("9 MB object", b"Content-Type: text/plain\r\n\r\n" + b"x" * (9 * 1024 * 1024)),
    ("bad encoded word", b"Subject: =?utf-8?B?####?=\r\nContent-Type: text/plain\r\n\r\nx"),
    ("bad date", b"Date: 99 Foo 99999 99:99:99 +9999\r\nContent-Type: text/plain\r\n\r\nx"),
]


@pytest.mark.parametrize(("name", "data"), MALFORMED_OBJECTS, ids=[n for n, _ in MALFORMED_OBJECTS])
async def test_malformed_object_in_a_maildir(tmp_path: Path, name: str, data: bytes) -> None:
    """A vendor's Maildir with a malformed object: reading the folder either returns the
    object (its fields unusable: the check that reads them fails) or raises a
    RemoteProtocolError naming the object, bounded in time and memory."""
    _, folder = _store(tmp_path)
    new = (
        tmp_path.joinpath(*folder.split("/"), "new") if "/" in folder else tmp_path / folder / "new"
    )
    if not new.is_dir():
        new = next(p for p in tmp_path.rglob("new") if p.is_dir() and p.parent != tmp_path)
    (new / "1700000000.hostile.host").write_bytes(data)
    began = time.monotonic()
    with RssGuard(64 * 1024 * 1024):
        async with open_store(f"maildir:{tmp_path}") as reader:
            try:
                objects = await reader.objects(folder)
            except RemoteProtocolError as exc:
                # the evidence names the object: its bytes, its UID or its file
                assert exc.raw is not None or "UID" in str(exc) or "hostile" in str(exc)
                objects = []
            for obj in objects:
                obj.date  # noqa: B018 (what a check reads)
                assert not obj.is_group_state
    assert time.monotonic() - began < 5.0


# ------------------------------------------------------------------ a hostile IMAP server


def _imap_server(mode: str) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await script(reader, writer)  # the server's own end is not the tool's

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if mode == "garbage greeting":
            writer.write(b"\x00\xffHELLO THERE\r\n")
            await writer.drain()
            await asyncio.sleep(5)
            return
        writer.write(b"* OK [CAPABILITY IMAP4rev1 IDLE] hostile\r\n")
        await writer.drain()
        while True:
            line = await reader.readline()
            if not line:
                return
            tag, _, rest = line.decode("latin-1").partition(" ")
            cmd = rest.split(" ", 1)[0].strip().upper()
            if cmd == "CAPABILITY":
                out = f"* CAPABILITY IMAP4rev1 IDLE\r\n{tag} OK done\r\n"
            elif cmd == "LOGIN":
                out = f"{tag} OK logged in\r\n"
            elif cmd == "LOGOUT":
                out = f"* BYE\r\n{tag} OK done\r\n"
            elif mode == "silent":
                await asyncio.sleep(30)
                return
            elif cmd == "LIST" and mode == "malformed list":
                out = f'* LIST (\\HasNoChildren "/" \r\n* LIST ((( "/" x\r\n{tag} OK done\r\n'
            elif cmd == "LIST":
                out = f'* LIST (\\HasNoChildren) "/" "f"\r\n{tag} OK done\r\n'
            elif cmd in ("SELECT", "EXAMINE"):
                out = f"* 1 EXISTS\r\n* OK [UIDVALIDITY 1]\r\n{tag} OK [READ-ONLY] ok\r\n"
            elif cmd == "UID" and "SEARCH" in rest.upper():
                out = f"* SEARCH 1\r\n{tag} OK done\r\n"
            elif cmd == "UID" and "RFC822.SIZE" in rest.upper() and mode == "size lie":
                out = (
                    f'* 1 FETCH (UID 1 RFC822.SIZE 10 INTERNALDATE "01-Jan-2020 00:00:00'
                    f' +0000")\r\n{tag} OK done\r\n'
                )
            elif cmd == "UID" and mode == "size lie":
                # claims 10 bytes, then sends a 64 MB literal
                writer.write(b"* 1 FETCH (UID 1 BODY[] {67108864}\r\n")
                for _ in range(64):
                    writer.write(b"x" * (1024 * 1024))
                    await writer.drain()
                writer.write(f")\r\n{tag} OK done\r\n".encode())
                await writer.drain()
                continue
            elif cmd in ("FETCH", "UID") and mode == "literal lie":
                out = "* 1 FETCH (UID 1 RFC822.SIZE 10 BODY[] {999999}\r\nshort"
                writer.write(out.encode())
                await writer.drain()
                writer.close()
                return
            elif cmd in ("FETCH", "UID"):
                out = f'* 1 FETCH (UID x RFC822.SIZE -5 INTERNALDATE "junk")\r\n{tag} OK done\r\n'
            else:
                out = f"{tag} BAD what\r\n"
            writer.write(out.encode("latin-1"))
            await writer.drain()

    return serve


@pytest.mark.parametrize(
    "mode", ["garbage greeting", "malformed list", "literal lie", "bad fetch", "silent", "size lie"]
)
async def test_hostile_imap_store(mode: str) -> None:
    """A hostile IMAP Message Store: the reader raises ImapError (RemoteProtocolError:
    evidence about the store) or StoreUnavailable (the store cannot be used: found by the
    preflight), within its timeout; never another exception or a hang."""
    from conformance.net.imap import StoreUnavailable

    server = await asyncio.start_server(_imap_server(mode), "127.0.0.1", 0)  # type: ignore[arg-type]
    port = server.sockets[0].getsockname()[1]
    began = time.monotonic()
    try:
        with RssGuard(32 * 1024 * 1024):
            async with open_store(f"imap://u:p@127.0.0.1:{port}/", timeout=1.0) as reader:
                with pytest.raises((RemoteProtocolError, StoreUnavailable)):
                    await asyncio.wait_for(reader.objects("f"), 10)
    finally:
        server.close()
    assert time.monotonic() - began < 8.0
