"""The reference SUT's Message Store writer (the PF side of seed 003, 8.5).

The reference Participating Function records CPM Conversation History here: it checks
whether the Session History Folder exists, creates it, and appends the Session Info
Object and Group State Objects (built with :mod:`conformance.documents.store_object`).

    writer = open_store_writer("maildir:/var/tmp/store")   # or imap://user:pass@host:port/
    name = session_history_folder(contribution_id)
    if not await writer.folder_exists(name):
        await writer.create_folder(name)
    uid = await writer.append(name, build_session_info_object(...))

The default is an embedded Maildir (Dovecot's ``LAYOUT=fs``, created if missing); a
real Dovecot is reached over IMAP through :mod:`conformance.net.imap`, the same client
code the tool's reader uses. This module does not import the tool's roles.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
from types import TracebackType

from conformance.errors import LocalProtocolError
from conformance.net.imap import AsyncImapSession, ImapUrl, LazyImapSession, parse_store_url
from conformance.net.maildir import MaildirStore


class MessageStoreWriter:
    """Writes Session History Folders into one store. Use :func:`open_store_writer`."""

    def __init__(
        self,
        *,
        maildir: MaildirStore | None = None,
        imap: ImapUrl | None = None,
        timeout: float = 10.0,
    ) -> None:
        if (maildir is None) == (imap is None):
            raise LocalProtocolError("a store writer needs exactly one of maildir or imap")
        self._maildir = maildir
        self._imap = None if imap is None else LazyImapSession(imap, timeout)

    @property
    def description(self) -> str:
        if self._maildir is not None:
            return f"maildir:{self._maildir.root}"
        assert self._imap is not None
        return self._imap.url.redacted()

    async def _session(self) -> AsyncImapSession:
        assert self._imap is not None
        return await self._imap.get()

    async def folder_exists(self, name: str) -> bool:
        if self._maildir is not None:
            return await asyncio.to_thread(self._maildir.folder_exists, name)
        return await (await self._session()).folder_exists(name)

    async def create_folder(self, name: str) -> None:
        """Create the folder ``name`` (an existing one is an error over IMAP: check first)."""
        if self._maildir is not None:
            await asyncio.to_thread(self._maildir.create_folder, name)
            return
        await (await self._session()).create_folder(name)

    async def append(
        self, folder: str, object_bytes: bytes, *, internal_date: _dt.datetime | None = None
    ) -> int:
        """Store ``object_bytes`` in ``folder``; return the UID the store gave it."""
        if self._maildir is not None:
            return await asyncio.to_thread(
                self._maildir.append, folder, object_bytes, internal_date=internal_date
            )
        return await (await self._session()).append(
            folder, object_bytes, internal_date=internal_date
        )

    async def folders(self) -> list[str]:
        """Every folder name (the PF reads its Session History Folders back)."""
        if self._maildir is not None:
            return await asyncio.to_thread(self._maildir.folders)
        return await (await self._session()).list_folders()

    async def messages(self, folder: str) -> list[bytes]:
        """The raw objects of ``folder`` in store order."""
        if self._maildir is not None:
            found = await asyncio.to_thread(self._maildir.messages, folder)
            return [m.raw for m in found]
        return [m.raw for m in await (await self._session()).fetch_all(folder)]

    async def close(self) -> None:
        if self._imap is not None:
            await self._imap.close()

    async def __aenter__(self) -> MessageStoreWriter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def open_store_writer(url: str, *, timeout: float = 10.0) -> MessageStoreWriter:
    """A writer for ``imap[s]://user:pass@host:port/``, ``maildir:/path`` or a path.

    A Maildir root is created when missing. IMAP connects on first use.
    """
    location = parse_store_url(url)
    if isinstance(location, ImapUrl):
        return MessageStoreWriter(imap=location, timeout=timeout)
    return MessageStoreWriter(maildir=MaildirStore(location, create=True))


__all__ = ["MessageStoreWriter", "open_store_writer"]
