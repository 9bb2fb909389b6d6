"""The Message Store reader: what the tool sees in the SUT's CPM Message Storage Server.

A Participating Function stores, per CPM Group Session, a Session History Folder named
after the Contribution-ID holding a Session Info Object and Group State Objects
(seed 003, 8.3.2.1 and 8.5). The tool reads them back here, the same way whether the
store is a vendor's IMAP server, the embedded Dovecot, or a Maildir path:

    async with open_store("imap://user:pass@host:143/") as store:
        folder = await store.session_history_folder(contribution_id)
        objects = await store.group_state_objects(folder)

Store URLs: ``imap://user:pass@host[:port]/`` (``imaps://`` for TLS), ``maildir:/path``
or a plain file-system path (a Maildir in Dovecot's ``LAYOUT=fs``).

The reader holds no judgement: it returns what is stored, in order (Date header, then
internal date, then UID), with raw bytes kept as evidence. A stored object that is not
a valid RFC 5322 message raises :class:`~conformance.errors.RemoteProtocolError`.

Waiting: IMAP has no push without IDLE, and a Maildir has none at all, so
:meth:`MessageStoreReader.wait_for_object` re-reads the folder whenever it may have
changed: after an IMAP IDLE notification (RFC 2177, in slices of at most
``IDLE_SLICE`` seconds so a change racing the IDLE start costs one slice), or, without
IDLE, every ``POLL_INTERVAL`` (Maildir) or ``IMAP_POLL_INTERVAL`` seconds. The interval
only paces re-reads; the outcome is decided by the predicate matching a stored object,
or by the guard timeout ``within`` expiring (:class:`ObjectNotStored`, carrying what
was seen).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

from conformance.documents.store_object import (
    GROUP_STATE_CONTENT_TYPE,
    parse_date,
    parse_store_object,
    same_media_type,
    session_history_folder,
)
from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.net.clock import WaitTimeout
from conformance.net.imap import AsyncImapSession, ImapUrl, LazyImapSession, parse_store_url
from conformance.net.maildir import MaildirStore

#: longest single IMAP IDLE before the folder is re-read anyway (seconds)
IDLE_SLICE = 1.0
#: pace of re-reads when the store cannot notify (seconds); never decides an outcome
POLL_INTERVAL = 0.05
#: the same over IMAP without IDLE, or while the folder does not exist yet (one LIST each)
IMAP_POLL_INTERVAL = 0.2

_FAR_FUTURE = _dt.datetime.max.replace(tzinfo=_dt.UTC)


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One object read from a Session History Folder."""

    uid: int
    folder: str
    #: header fields in stored order: (name as written, unfolded value)
    headers: tuple[tuple[str, str], ...]
    #: the Content-Type value as written (``Application/...`` is common)
    content_type: str | None
    body: bytes
    raw: bytes
    #: the store's receive time (IMAP INTERNALDATE, Maildir file mtime)
    internal_date: _dt.datetime | None

    def header(self, name: str) -> str | None:
        """The first value of header field ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def date(self) -> _dt.datetime | None:
        """The Date header as an aware datetime (``None`` when absent or invalid)."""
        return parse_date(self.header("Date"))

    @property
    def timestamp(self) -> _dt.datetime | None:
        """The Date header, else the internal date: what objects are ordered by."""
        return self.date or self.internal_date

    def has_type(self, content_type: str) -> bool:
        """True when the object's media type is ``content_type`` (case-insensitive)."""
        return same_media_type(self.content_type, content_type)

    @property
    def is_group_state(self) -> bool:
        return self.has_type(GROUP_STATE_CONTENT_TYPE)


class ObjectNotStored(WaitTimeout):
    """No stored object matched within the guard timeout."""

    def __init__(self, what: str, within: float, seen: list[StoredObject]) -> None:
        super().__init__(what, within)
        #: the objects the folder held at the last read (evidence)
        self.seen = seen


@dataclass(frozen=True, slots=True)
class RawEntry:
    uid: int
    raw: bytes
    internal_date: _dt.datetime | None


class StoreBackend(Protocol):
    """How a store is reached; the reader's logic is the same for every backend."""

    description: str

    async def folders(self) -> list[str]: ...
    async def folder_exists(self, name: str) -> bool: ...
    async def entries(self, folder: str) -> list[RawEntry]: ...
    async def wait_for_change(self, folder: str, known_count: int, within: float) -> None: ...
    async def close(self) -> None: ...


class MaildirBackend:
    """A Maildir tree read from the local file system (no notifications: re-read)."""

    def __init__(self, root: Path) -> None:
        self.store = MaildirStore(root)
        self.description = f"maildir:{root}"

    async def folders(self) -> list[str]:
        return await asyncio.to_thread(self.store.folders)

    async def folder_exists(self, name: str) -> bool:
        return await asyncio.to_thread(self.store.folder_exists, name)

    async def entries(self, folder: str) -> list[RawEntry]:
        messages = await asyncio.to_thread(self.store.messages, folder)
        return [RawEntry(m.uid, m.raw, m.internal_date) for m in messages]

    async def wait_for_change(self, folder: str, known_count: int, within: float) -> None:
        await asyncio.sleep(min(POLL_INTERVAL, max(within, 0.0)))  # pacing only

    async def close(self) -> None:
        return None


class ImapBackend:
    """An IMAP server (connects on first use; IDLE when offered, else re-read)."""

    def __init__(self, url: ImapUrl, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self.description = url.redacted()
        self._session = LazyImapSession(url, timeout)

    async def _s(self) -> AsyncImapSession:
        return await self._session.get()

    async def folders(self) -> list[str]:
        return await (await self._s()).list_folders()

    async def folder_exists(self, name: str) -> bool:
        return await (await self._s()).folder_exists(name)

    async def entries(self, folder: str) -> list[RawEntry]:
        fetched = await (await self._s()).fetch_all(folder)
        return [RawEntry(m.uid, m.raw, m.internal_date) for m in fetched]

    async def wait_for_change(self, folder: str, known_count: int, within: float) -> None:
        session = await self._s()
        slice_ = min(IDLE_SLICE, max(within, 0.0))
        if session.session.has_idle() and await session.folder_exists(folder):
            await session.wait_for_change(folder, known_count, slice_)
        else:
            await asyncio.sleep(min(IMAP_POLL_INTERVAL, slice_))  # pacing only

    async def close(self) -> None:
        await self._session.close()


def _sort_key(obj: StoredObject) -> tuple[_dt.datetime, int]:
    return (obj.timestamp or _FAR_FUTURE, obj.uid)


class MessageStoreReader:
    """Reads Session History Folders from one store. Use :func:`open_store`."""

    def __init__(self, backend: StoreBackend) -> None:
        self.backend = backend

    @property
    def description(self) -> str:
        """The store's address without credentials (for reports)."""
        return self.backend.description

    async def __aenter__(self) -> MessageStoreReader:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self.backend.close()

    async def folders(self) -> list[str]:
        """Every mailbox name in the store (decoded from modified UTF-7)."""
        return await self.backend.folders()

    async def folder_exists(self, name: str) -> bool:
        return await self.backend.folder_exists(name)

    async def session_history_folder(self, contribution_id: str) -> str | None:
        """The folder for ``contribution_id``: this project's mapped name, else the raw
        Contribution-ID (a vendor may accept it as is); ``None`` when neither exists."""
        candidates = [session_history_folder(contribution_id)]
        if contribution_id not in candidates:
            candidates.append(contribution_id)
        for name in candidates:
            try:
                if await self.backend.folder_exists(name):
                    return name
            except LocalProtocolError:
                continue  # a name this backend cannot even express
        return None

    async def objects(self, folder: str) -> list[StoredObject]:
        """Every object in ``folder``, ordered by Date (then internal date, then UID)."""
        out: list[StoredObject] = []
        for entry in await self.backend.entries(folder):
            try:
                msg = parse_store_object(entry.raw)
            except RemoteProtocolError as exc:
                raise RemoteProtocolError(
                    f"{self.description} {folder!r} UID {entry.uid}: {exc.message}",
                    raw=entry.raw,
                ) from None
            out.append(
                StoredObject(
                    uid=entry.uid,
                    folder=folder,
                    headers=msg.headers,
                    content_type=msg.content_type,
                    body=msg.body,
                    raw=msg.raw,
                    internal_date=entry.internal_date,
                )
            )
        out.sort(key=_sort_key)
        return out

    async def group_state_objects(self, folder: str) -> list[StoredObject]:
        """The Group State Objects in ``folder`` (content type compared case-insensitively)."""
        return [o for o in await self.objects(folder) if o.is_group_state]

    async def wait_for_object(
        self,
        folder: str,
        predicate: Callable[[StoredObject], bool],
        within: float,
        *,
        what: str | None = None,
    ) -> StoredObject:
        """The first object (in store order) of ``folder`` matching ``predicate``.

        The folder may not exist yet. Raises :class:`ObjectNotStored` when nothing
        matches within ``within`` seconds (see the module docstring for how it waits).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        label = what or f"matching stored object in {folder!r} of {self.description}"
        seen: list[StoredObject] = []
        while True:
            exists = await self.backend.folder_exists(folder)
            seen = await self.objects(folder) if exists else []
            for obj in seen:
                if predicate(obj):
                    return obj
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ObjectNotStored(label, within, seen)
            await self.backend.wait_for_change(folder, len(seen), remaining)


def open_store(url: str, *, timeout: float = 10.0) -> MessageStoreReader:
    """A reader for ``imap[s]://user:pass@host:port/``, ``maildir:/path`` or a path.

    IMAP connects on first use (``timeout`` bounds every socket operation). Raises
    :class:`LocalProtocolError` for a URL that names no usable store.
    """
    location = parse_store_url(url)
    if isinstance(location, ImapUrl):
        return MessageStoreReader(ImapBackend(location, timeout))
    return MessageStoreReader(MaildirBackend(location))


__all__ = [
    "MessageStoreReader",
    "ObjectNotStored",
    "StoredObject",
    "open_store",
]
