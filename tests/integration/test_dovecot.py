"""A real Dovecot as the Message Storage Server.

The reference SUT's writer appends over IMAP and the tool's reader reads back over IMAP:
the same reader code path that reads a vendor's store. The scenario (a Session Info
Object and three Group State Objects in a folder named after a realistic Contribution-ID)
is the one the Maildir tests use.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conformance.documents.store_object import build_group_state_object, session_history_folder
from conformance.net.dovecot import Dovecot, dovecot_version, render_config
from conformance.net.imap import ImapSession, StoreUnavailable, parse_imap_url
from conformance.net.maildir import MaildirStore
from conformance.reference.store import open_store_writer
from conformance.roles.store import ObjectNotStored, open_store
from tests.integration.test_store_maildir import (
    CONTRIBUTION_ID,
    CONVERSATION_ID,
    check_session,
    gso,
    write_session,
)
from tests.support.servers import require_binary

pytestmark = pytest.mark.needs_server("dovecot")


@pytest.fixture
async def dovecot() -> AsyncIterator[Dovecot]:
    require_binary("dovecot")
    async with Dovecot.start() as d:
        yield d


async def test_writer_and_reader_round_trip_over_imap(dovecot: Dovecot) -> None:
    folder = await write_session(dovecot.url)
    await check_session(dovecot.url, folder)
    # Dovecot stored it in the LAYOUT=fs tree: the Maildir reader sees the same objects
    await check_session(f"maildir:{dovecot.maildir}", folder)


async def test_url_and_login(dovecot: Dovecot) -> None:
    url = parse_imap_url(dovecot.url)
    assert (url.host, url.port, url.user) == ("127.0.0.1", dovecot.port, dovecot.user)
    session = ImapSession.connect(dovecot.url, timeout=5.0)
    try:
        assert "IDLE" in session.capabilities and "UIDPLUS" in session.capabilities
        assert session.delimiter() == "/"
        assert "INBOX" in session.list_folders()
    finally:
        session.close()
    bad = dovecot.url.replace(dovecot.password, "wrong")
    with pytest.raises(StoreUnavailable, match="LOGIN"):
        ImapSession.connect(bad, timeout=5.0)


async def test_wait_for_object_wakes_on_idle(dovecot: Dovecot) -> None:
    folder = session_history_folder(CONTRIBUTION_ID)
    writer = open_store_writer(dovecot.url)
    await writer.create_folder(folder)
    async with open_store(dovecot.url) as store:
        waiter = asyncio.ensure_future(
            store.wait_for_object(folder, lambda o: o.is_group_state, within=8.0)
        )
        await asyncio.sleep(0)  # let the reader start reading before the append
        uid = await writer.append(
            folder,
            build_group_state_object(
                gso(1),
                conversation_id=CONVERSATION_ID,
                contribution_id=CONTRIBUTION_ID,
                imdn_message_id="late",
            ),
        )
        found = await asyncio.wait_for(waiter, 15.0)
    await writer.close()
    assert (found.uid, found.header("IMDN-Message-ID")) == (uid, "late")


async def test_wait_for_object_times_out_cleanly(dovecot: Dovecot) -> None:
    folder = await write_session(dovecot.url)
    async with open_store(dovecot.url) as store:
        with pytest.raises(ObjectNotStored) as info:
            await asyncio.wait_for(
                store.wait_for_object(folder, lambda o: o.header("X-None") is not None, 0.5),
                10.0,
            )
        assert len(info.value.seen) == 4
        # the connection is still usable after the IDLE slices
        assert len(await store.objects(folder)) == 4


async def test_folder_exists_is_exact_despite_list_wildcards(dovecot: Dovecot) -> None:
    writer = open_store_writer(dovecot.url)
    await writer.create_folder("aX2Fb")
    async with open_store(dovecot.url) as store:
        assert not await store.folder_exists("a%2Fb")  # "%" is a LIST wildcard
        assert await store.folder_exists("aX2Fb")
        assert await store.session_history_folder("a/b") is None
    await writer.create_folder("a%2Fb")
    async with open_store(dovecot.url) as store:
        assert await store.session_history_folder("a/b") == "a%2Fb"
    await writer.close()


async def test_wait_for_object_in_a_folder_not_yet_created(dovecot: Dovecot) -> None:
    async with open_store(dovecot.url) as store:
        with pytest.raises(ObjectNotStored):
            await store.wait_for_object("never@example.com", lambda o: True, 0.3)


async def test_dovecot_serves_a_tree_written_by_the_maildir_writer(dovecot: Dovecot) -> None:
    """The embedded Maildir layout and dovecot-uidlist are what Dovecot itself reads."""
    folder = await write_session(f"maildir:{dovecot.maildir}")
    if os.geteuid() == 0:  # mail is accessed as the generated user's uid
        owner = dovecot.maildir.stat()
        for path in [dovecot.maildir, *dovecot.maildir.rglob("*")]:
            os.chown(path, owner.st_uid, owner.st_gid)
    objects = await check_session(dovecot.url, folder)
    on_disk = {m.uid for m in MaildirStore(dovecot.maildir).messages(folder)}
    assert {o.uid for o in objects} == on_disk == {1, 2, 3, 4}


def test_sync_runner_starts_and_stops_by_pid() -> None:
    require_binary("dovecot")
    with Dovecot.run() as d:
        workdir = d.workdir
        assert d.process is not None
        pid = d.process.pid
        session = ImapSession.connect(d.url, timeout=5.0)
        session.close()
        assert "imap-login" in d.conf_path.read_text()
    assert not workdir.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(StoreUnavailable):
        ImapSession.connect(d.url, timeout=2.0)


def test_stop_escalates_to_sigkill(monkeypatch: pytest.MonkeyPatch) -> None:
    """A master that ignores SIGTERM is killed after the bounded grace period."""
    require_binary("dovecot")
    d = Dovecot.launch()
    assert d.process is not None
    sent: list[int] = []
    real_killpg = os.killpg

    def killpg(pgid: int, sig: int) -> None:
        sent.append(sig)
        if sig != signal.SIGTERM:  # pretend the master ignored SIGTERM
            real_killpg(pgid, sig)

    monkeypatch.setattr(os, "killpg", killpg)
    d.stop(grace=0.2)
    assert sent == [signal.SIGTERM, signal.SIGKILL]
    assert d.process is None


def test_config_follows_the_installed_version(tmp_path: Path) -> None:
    require_binary("dovecot")
    from conformance.net.dovecot import Accounts

    accounts = Accounts("dovecot", "dovenull", 65534, 65534)
    old = render_config(
        tmp_path, port=1430, host="127.0.0.1", accounts=accounts, version=(2, 3, 19)
    )
    new = render_config(tmp_path, port=1430, host="127.0.0.1", accounts=accounts, version=(2, 4, 1))
    assert "disable_plaintext_auth = no" in old and "auth_allow_cleartext" not in old
    assert "auth_allow_cleartext = yes" in new and "disable_plaintext_auth" not in new
    for text in (old, new):
        assert "listen = 127.0.0.1" in text and "port = 1430" in text and "ssl = no" in text
    assert "LAYOUT=fs" in old and "mailbox_list_layout = fs" in new
    assert dovecot_version() >= (2, 3, 0)


def test_dates_are_kept_over_imap() -> None:
    """INTERNALDATE given on APPEND comes back (aware, UTC-comparable)."""
    require_binary("dovecot")
    when = dt.datetime(2026, 3, 1, 12, 0, 5, tzinfo=dt.UTC)
    with Dovecot.run() as d:
        session = ImapSession.connect(d.url, timeout=5.0)
        try:
            session.create_folder("f")
            uid = session.append("f", b"X: y\r\n\r\n", internal_date=when)
            [msg] = session.fetch_all("f")
        finally:
            session.close()
    assert msg.uid == uid and msg.internal_date == when
