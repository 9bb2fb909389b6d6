"""The Message Store on an embedded Maildir: the reference SUT writes, the tool reads."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path

import pytest

from conformance.documents.store_object import (
    GROUP_STATE_CONTENT_TYPE,
    build_group_state_object,
    build_session_info_object,
    canonical_lines,
    session_history_folder,
)
from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.net.maildir import MaildirStore
from conformance.reference.store import open_store_writer
from conformance.roles.store import ObjectNotStored, StoredObject, open_store

CONTRIBUTION_ID = "d8a3f6c1.5b2e/4f7a@pf.operator.example.com"
CONVERSATION_ID = "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
T0 = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
INVITE = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Contribution-ID: " + CONTRIBUTION_ID.encode() + b"\r\n"
    b"Conversation-ID: " + CONVERSATION_ID.encode() + b"\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def gso(n: int) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<groupstate timestamp="2026-03-01T12:00:0{n}Z" '
        f'lastfocussessionid="sip:conf{n}@cf.example.com" group-type="Closed"/>\n'
    ).encode()


async def write_session(url: str) -> str:
    """A Session Info Object and three Group State Objects, appended out of Date order."""
    folder = session_history_folder(CONTRIBUTION_ID)
    writer = open_store_writer(url)
    async with writer:
        assert not await writer.folder_exists(folder)
        await writer.create_folder(folder)
        assert await writer.folder_exists(folder)
        uids = [
            await writer.append(
                folder,
                build_session_info_object(
                    INVITE,
                    conversation_id=CONVERSATION_ID,
                    contribution_id=CONTRIBUTION_ID,
                    imdn_message_id="sess-0",
                    date=T0,
                ),
            )
        ]
        for n in (3, 1, 2):
            extra = [("Content-Type", "Application/Group-State-Object+xml")] if n == 2 else []
            uids.append(
                await writer.append(
                    folder,
                    build_group_state_object(
                        gso(n),
                        conversation_id=CONVERSATION_ID,
                        contribution_id=CONTRIBUTION_ID,
                        imdn_message_id=f"gso-{n}",
                        direction="In",
                        date=T0 + dt.timedelta(seconds=n),
                        extra=extra,
                    ),
                )
            )
    assert uids == sorted(uids) and len(set(uids)) == 4
    return folder


async def check_session(url: str, folder: str) -> list[StoredObject]:
    """Read the folder back through the tool's reader and check what it holds."""
    async with open_store(url) as store:
        assert folder in await store.folders()
        assert await store.folder_exists(folder)
        assert await store.session_history_folder(CONTRIBUTION_ID) == folder
        objects = await store.objects(folder)
        assert [o.header("IMDN-Message-ID") for o in objects] == [
            "sess-0",
            "gso-1",
            "gso-2",
            "gso-3",
        ]
        for obj in objects:
            assert obj.folder == folder
            assert obj.header("contribution-id") == CONTRIBUTION_ID
            assert obj.header("Conversation-ID") == CONVERSATION_ID
            assert obj.header("Message-Direction") == "In"
            assert obj.internal_date is not None
        assert objects[0].body == INVITE
        assert not objects[0].is_group_state
        states = await store.group_state_objects(folder)
        assert [o.header("IMDN-Message-ID") for o in states] == ["gso-1", "gso-2", "gso-3"]
        assert states[1].content_type == "Application/Group-State-Object+xml"
        assert all(o.has_type(GROUP_STATE_CONTENT_TYPE) for o in states)
        # bodies come back in canonical CRLF form (what IMAP serves)
        assert [o.body for o in states] == [canonical_lines(gso(n)) for n in (1, 2, 3)]
        assert [o.date for o in states] == [T0 + dt.timedelta(seconds=n) for n in (1, 2, 3)]
        return objects


async def test_write_then_read_session_history_folder(tmp_path: Path) -> None:
    url = f"maildir:{tmp_path / 'store'}"
    folder = await write_session(url)
    assert folder == "d8a3f6c1.5b2e%2F4f7a@pf.operator.example.com"
    await check_session(url, folder)
    # a plain path reads the same tree
    await check_session(str(tmp_path / "store"), folder)


async def test_on_disk_layout_is_dovecot_fs_with_uidlist(tmp_path: Path) -> None:
    root = tmp_path / "store"
    folder = await write_session(f"maildir:{root}")
    box = root / folder
    assert {"cur", "new", "tmp"} <= set(os.listdir(box))
    lines = (box / "dovecot-uidlist").read_text().splitlines()
    assert lines[0].startswith("3 V") and " N5 " in lines[0]
    assert [line.split(" :")[0] for line in lines[1:]] == ["1", "2", "3", "4"]
    assert not (box / "dovecot-uidlist.lock").exists()


async def test_uids_survive_moving_into_cur(tmp_path: Path) -> None:
    root = tmp_path / "store"
    folder = await write_session(f"maildir:{root}")
    box = root / folder
    before = {
        o.header("IMDN-Message-ID"): o.uid for o in await open_store(str(root)).objects(folder)
    }
    for name in os.listdir(box / "new"):
        os.rename(box / "new" / name, box / "cur" / f"{name}:2,S")
    after = {
        o.header("IMDN-Message-ID"): o.uid for o in await open_store(str(root)).objects(folder)
    }
    assert before == after


async def test_non_ascii_folder_is_modified_utf7_on_disk(tmp_path: Path) -> None:
    root = tmp_path / "store"
    writer = open_store_writer(str(root))
    name = session_history_folder("caf\u00e9-1@example.com")
    await writer.create_folder(name)
    assert (root / "caf&AOk--1@example.com" / "cur").is_dir()
    assert name in await open_store(str(root)).folders()


async def test_wait_for_object_returns_an_object_stored_later(tmp_path: Path) -> None:
    root = tmp_path / "store"
    writer = open_store_writer(str(root))
    store = open_store(str(root))
    folder = session_history_folder(CONTRIBUTION_ID)

    async def later() -> None:
        await writer.create_folder(folder)
        await writer.append(
            folder,
            build_group_state_object(
                gso(1),
                conversation_id=CONVERSATION_ID,
                contribution_id=CONTRIBUTION_ID,
                imdn_message_id="late",
            ),
        )

    waiter = asyncio.ensure_future(
        store.wait_for_object(folder, lambda o: o.is_group_state, within=5.0)
    )
    await later()
    found = await asyncio.wait_for(waiter, 10.0)
    assert found.header("IMDN-Message-ID") == "late"


async def test_wait_for_object_times_out_with_typed_error(tmp_path: Path) -> None:
    url = f"maildir:{tmp_path / 'store'}"
    folder = await write_session(url)
    store = open_store(url)
    with pytest.raises(ObjectNotStored) as info:
        await asyncio.wait_for(
            store.wait_for_object(folder, lambda o: o.header("IMDN-Message-ID") == "x", 0.2),
            5.0,
        )
    assert info.value.within == 0.2
    assert len(info.value.seen) == 4


async def test_malformed_stored_object_is_remote_protocol_error(tmp_path: Path) -> None:
    root = tmp_path / "store"
    MaildirStore(root, create=True).create_folder("bad")
    MaildirStore(root).append("bad", b"this is not a header\r\n\r\n")
    with pytest.raises(RemoteProtocolError, match="UID 1"):
        await open_store(str(root)).objects("bad")


async def test_oversized_file_is_refused(tmp_path: Path) -> None:
    store = MaildirStore(tmp_path, create=True, max_size=10)
    store.create_folder("f")
    store.append("f", b"X: " + b"y" * 20 + b"\r\n\r\n")
    with pytest.raises(RemoteProtocolError, match="over 10"):
        store.messages("f")


def test_unsafe_names_are_refused(tmp_path: Path) -> None:
    store = MaildirStore(tmp_path, create=True)
    for bad in ("..", "a/../b", "", "cur", ".x", "a//b"):
        with pytest.raises(LocalProtocolError):
            store.create_folder(bad)


def test_store_urls() -> None:
    with pytest.raises(LocalProtocolError):
        open_store("http://example.com/")
    with pytest.raises(LocalProtocolError):
        open_store("maildir:")
    with pytest.raises(LocalProtocolError):
        open_store("imap://host/")  # no credentials
