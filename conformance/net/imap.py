"""A thin, typed and bounded IMAP client over :mod:`imapclient` (RFC 3501).

Both the tool's Message Store reader (roles/store.py) and the reference SUT's writer
(reference/store.py) use this module, so a vendor's store and the embedded Dovecot are
read through exactly the same code.

- :class:`ImapSession` is synchronous (imapclient is blocking). Every socket operation
  has a timeout (``timeout`` seconds, connect and each read).
- :class:`AsyncImapSession` runs each call in a worker thread (``asyncio.to_thread``),
  one call at a time per connection.
- Fetches are bounded: at most ``max_messages`` per folder and ``max_size`` bytes per
  message (checked with ``RFC822.SIZE`` before the body is fetched).
- Mailbox names are Unicode; imapclient encodes them in modified UTF-7 (RFC 3501 5.1.3).

Errors: a server that answers NO/BAD or sends something malformed raises
:class:`ImapError` (a :class:`RemoteProtocolError`: evidence about the store); a store
that cannot be reached or logged into raises :class:`StoreUnavailable` (a
:class:`LocalProtocolError`: the profile or the environment is wrong).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import re
import socket
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import imapclient
import imapclient.exceptions

from conformance.errors import LocalProtocolError, RemoteProtocolError

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_MESSAGES = 10_000
DEFAULT_MAX_SIZE = 8 * 1024 * 1024
MAX_FOLDERS = 10_000
#: what a literal may hold beyond ``max_size`` (the headers of a FETCH answer)
LITERAL_SLACK = 64 * 1024

_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)


class ImapError(RemoteProtocolError):
    """The IMAP server refused a command or answered something malformed."""


class StoreUnavailable(LocalProtocolError):
    """The IMAP server could not be reached, or refused the configured credentials."""


@dataclass(frozen=True, slots=True)
class ImapUrl:
    """Where an IMAP store is: ``imap://user:pass@host:port/`` (``imaps://`` for TLS)."""

    host: str
    port: int
    user: str
    password: str
    tls: bool = False

    def __str__(self) -> str:
        scheme = "imaps" if self.tls else "imap"
        user = urllib.parse.quote(self.user, safe="")
        password = urllib.parse.quote(self.password, safe="")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{user}:{password}@{host}:{self.port}/"

    def redacted(self) -> str:
        """The URL without the password, for logs and reports."""
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{urllib.parse.quote(self.user, safe='')}@{self.host}:{self.port}/"


def parse_imap_url(url: str) -> ImapUrl:
    """Parse ``imap://user:pass@host[:port]/`` (RFC 5092 server part only).

    User and password are percent-decoded. Raises :class:`LocalProtocolError` when the
    URL is not usable (it comes from the SUT profile, which is ours to get right).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("imap", "imaps"):
        raise LocalProtocolError(f"not an imap:// or imaps:// URL: {url!r}")
    if not parts.hostname:
        raise LocalProtocolError(f"IMAP URL without a host: {url!r}")
    if parts.username is None or parts.password is None:
        raise LocalProtocolError("IMAP URL needs user and password (imap://user:pass@host/)")
    tls = parts.scheme == "imaps"
    try:
        port = parts.port or (993 if tls else 143)
    except ValueError as exc:
        raise LocalProtocolError(f"bad port in IMAP URL: {exc}") from None
    return ImapUrl(
        host=parts.hostname,
        port=port,
        user=urllib.parse.unquote(parts.username),
        password=urllib.parse.unquote(parts.password),
        tls=tls,
    )


def parse_store_url(url: str) -> ImapUrl | Path:
    """A Message Store URL: ``imap[s]://user:pass@host:port/``, ``maildir:/path`` or a path.

    Returns the :class:`ImapUrl`, or the root of the Maildir. Raises
    :class:`LocalProtocolError` for a URL that names no usable store.
    """
    if url.startswith(("imap://", "imaps://")):
        return parse_imap_url(url)
    if url.startswith("maildir:"):
        path = url[len("maildir:") :]
        if path.startswith("//"):
            path = path[2:]
    elif "://" in url:
        raise LocalProtocolError(f"unsupported Message Store URL {url!r}")
    else:
        path = url
    if not path:
        raise LocalProtocolError(f"Message Store URL {url!r} names no path")
    return Path(path)


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    """One message as the server holds it."""

    uid: int
    raw: bytes
    internal_date: _dt.datetime | None
    size: int


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _aware(value: object) -> _dt.datetime | None:
    if not isinstance(value, _dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=_dt.UTC)


class ImapSession:
    """A logged-in IMAP connection. Use :meth:`connect`; close with :meth:`close`."""

    def __init__(
        self,
        client: Any,
        url: ImapUrl,
        *,
        timeout: float,
        max_messages: int,
        max_size: int,
    ) -> None:
        self._client = client
        self.url = url
        self.timeout = timeout
        self.max_messages = max_messages
        self.max_size = max_size
        self._capabilities: frozenset[str] = frozenset(
            _text(c).upper() for c in client.capabilities()
        )

    @classmethod
    def connect(
        cls,
        url: ImapUrl | str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> ImapSession:
        """Connect and LOGIN; every socket operation is bounded by ``timeout`` seconds."""
        target = parse_imap_url(url) if isinstance(url, str) else url
        try:
            client = imapclient.IMAPClient(
                target.host, port=target.port, ssl=target.tls, timeout=timeout
            )
        except (OSError, imapclient.exceptions.IMAPClientError) as exc:
            raise StoreUnavailable(f"cannot connect to {target.redacted()}: {exc}") from None
        _bound_literals(client, max_size + LITERAL_SLACK)
        try:
            client.login(target.user, target.password)
        except imapclient.exceptions.LoginError as exc:
            _shutdown(client)
            raise StoreUnavailable(f"LOGIN refused by {target.redacted()}: {exc}") from None
        except (OSError, imapclient.exceptions.IMAPClientError) as exc:
            _shutdown(client)
            raise StoreUnavailable(f"LOGIN to {target.redacted()} failed: {exc}") from None
        try:
            return cls(
                client, target, timeout=timeout, max_messages=max_messages, max_size=max_size
            )
        except (OSError, imapclient.exceptions.IMAPClientError) as exc:
            _shutdown(client)
            raise ImapError(f"CAPABILITY failed: {exc}") from None

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except TimeoutError:
            raise ImapError(f"{what}: no answer within {self.timeout:g} s") from None
        except imapclient.exceptions.IMAPClientAbortError as exc:
            raise ImapError(f"{what}: connection aborted: {exc}") from None
        except imapclient.exceptions.IMAPClientError as exc:
            raise ImapError(f"{what}: {exc}") from None
        except OSError as exc:
            raise ImapError(f"{what}: {exc}") from None
        except (ValueError, IndexError, KeyError, TypeError) as exc:
            # imapclient's response parser on a malformed answer
            raise ImapError(f"{what}: malformed response: {exc!r}") from None

    @property
    def capabilities(self) -> frozenset[str]:
        return self._capabilities

    def has_idle(self) -> bool:
        return "IDLE" in self._capabilities

    def delimiter(self) -> str:
        """The hierarchy delimiter of the personal namespace (RFC 3501 6.3.8)."""
        rows = self._call("LIST", lambda: self._client.list_folders("", ""))
        for _flags, delim, _name in rows:
            if delim:
                return _text(delim)
        return "/"

    def list_folders(self) -> list[str]:
        """Every selectable mailbox name, decoded from modified UTF-7."""
        rows = self._call("LIST", lambda: self._client.list_folders())
        if len(rows) > MAX_FOLDERS:
            raise ImapError(f"LIST returned {len(rows)} mailboxes, over {MAX_FOLDERS}")
        names: list[str] = []
        for flags, _delim, name in rows:
            if any(_text(f).lower() == "\\noselect" for f in flags):
                continue
            names.append(_text(name))
        return names

    def folder_exists(self, name: str) -> bool:
        """True when mailbox ``name`` exists (exact name: "%" and "*" in it are LIST
        wildcards, so the listed names are compared, not merely counted)."""
        rows = self._call(f"LIST {name!r}", lambda: self._client.list_folders("", name))
        return any(_text(listed) == name for _flags, _delim, listed in rows)

    def create_folder(self, name: str) -> None:
        self._call(f"CREATE {name!r}", lambda: self._client.create_folder(name))

    def append(self, folder: str, data: bytes, *, internal_date: _dt.datetime | None = None) -> int:
        """APPEND ``data``; return its UID (RFC 4315 APPENDUID, else the highest UID)."""
        response = self._call(
            f"APPEND to {folder!r}",
            lambda: self._client.append(folder, data, msg_time=internal_date),
        )
        found = _APPENDUID.search(response if isinstance(response, bytes) else b"")
        if found:
            return int(found.group(2))
        self._call(f"SELECT {folder!r}", lambda: self._client.select_folder(folder))
        uids = self._call("UID SEARCH", lambda: self._client.search(["ALL"]))
        if not uids:
            raise ImapError(f"APPEND to {folder!r} succeeded but the folder is empty")
        return int(max(uids))

    def count(self, folder: str) -> int:
        """How many messages ``folder`` holds (SELECT EXISTS, read-only)."""
        info = self._call(
            f"EXAMINE {folder!r}", lambda: self._client.select_folder(folder, readonly=True)
        )
        try:
            return int(info[b"EXISTS"])
        except (KeyError, TypeError, ValueError):
            raise ImapError(f"EXAMINE {folder!r}: no EXISTS count") from None

    def fetch_all(self, folder: str) -> list[FetchedMessage]:
        """Every message in ``folder`` with UID, INTERNALDATE and the full raw bytes.

        Uses BODY.PEEK[] so no \\Seen flag is set in a vendor's store. Raises
        :class:`ImapError` when the folder holds more than ``max_messages`` messages or
        a message is larger than ``max_size``.
        """
        self._call(f"EXAMINE {folder!r}", lambda: self._client.select_folder(folder, readonly=True))
        uids = [int(u) for u in self._call("UID SEARCH", lambda: self._client.search(["ALL"]))]
        if len(uids) > self.max_messages:
            raise ImapError(f"{folder!r} holds {len(uids)} messages, over {self.max_messages}")
        if not uids:
            return []
        sizes = self._call(
            "UID FETCH RFC822.SIZE",
            lambda: self._client.fetch(uids, ["RFC822.SIZE", "INTERNALDATE"]),
        )
        out: list[FetchedMessage] = []
        for uid in sorted(uids):
            meta = sizes.get(uid, {})
            size = meta.get(b"RFC822.SIZE")
            if not isinstance(size, int):
                raise ImapError(f"UID {uid} in {folder!r}: no RFC822.SIZE")
            if size > self.max_size:
                raise ImapError(f"UID {uid} in {folder!r} is {size} bytes, over {self.max_size}")
            body = self._call(
                f"UID FETCH {uid} BODY.PEEK[]",
                lambda uid=uid: self._client.fetch([uid], ["BODY.PEEK[]"]),  # type: ignore[misc]
            )
            raw = body.get(uid, {}).get(b"BODY[]")
            if not isinstance(raw, bytes):
                continue  # expunged between SEARCH and FETCH
            if len(raw) > self.max_size:
                raise ImapError(f"UID {uid} in {folder!r} is over {self.max_size} bytes")
            out.append(
                FetchedMessage(
                    uid=uid,
                    raw=raw,
                    internal_date=_aware(meta.get(b"INTERNALDATE")),
                    size=size,
                )
            )
        return out

    def wait_for_change(self, folder: str, known_count: int, within: float) -> bool:
        """Block until ``folder`` may hold more than ``known_count`` messages.

        Uses IDLE (RFC 2177) when offered; returns True when the count differs or the
        server reported something, False when ``within`` passed quietly. Without IDLE it
        returns False at once (the caller polls instead).
        """
        if self.count(folder) != known_count:
            return True
        if not self.has_idle():
            return False
        self._call("IDLE", lambda: self._client.idle())
        try:
            responses = self._call(
                "IDLE wait", lambda: self._client.idle_check(timeout=max(within, 0.0))
            )
        finally:
            self._call("DONE", lambda: self._client.idle_done())
        return bool(responses)

    def close(self) -> None:
        _shutdown(self._client)


def _bound_literals(client: Any, limit: int) -> None:
    """Refuse a literal the server announces over ``limit`` bytes before reading it.

    The RFC822.SIZE check of :meth:`ImapSession.fetch_all` trusts the server; a literal
    (``{n}``) is read whole by imaplib whatever its size, so a hostile store could make
    the reader hold gigabytes. The refusal aborts the connection (:class:`ImapError`)."""
    imap = getattr(client, "_imap", None)
    read = getattr(imap, "read", None)
    if imap is None or read is None:
        return

    def bounded(size: int) -> bytes:
        if size > limit:
            raise imapclient.exceptions.IMAPClientAbortError(
                f"the server announced a literal of {size} bytes, over {limit}"
            )
        data: bytes = read(size)
        return data

    imap.read = bounded


def _shutdown(client: Any) -> None:
    try:
        client.logout()
    except (OSError, imapclient.exceptions.IMAPClientError):
        with contextlib.suppress(OSError, imapclient.exceptions.IMAPClientError):
            client.shutdown()


def probe_login(url: ImapUrl, within: float, *, alive: Callable[[], bool] | None = None) -> None:
    """Connect and LOGIN until it works, for at most ``within`` seconds.

    A readiness probe for a server just started: a refused connection is retried every
    50 ms (a probe, not a decision) until the guard timeout, then :class:`StoreUnavailable`.
    ``alive`` lets the caller stop early when the server process has died.
    """
    deadline = time.monotonic() + within
    last: Exception | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StoreUnavailable(f"no IMAP LOGIN at {url.redacted()} within {within:g} s: {last}")
        if alive is not None and not alive():
            raise StoreUnavailable(f"IMAP server at {url.redacted()} exited: {last}")
        try:
            with socket.create_connection((url.host, url.port), timeout=min(remaining, 1.0)):
                pass
        except OSError as exc:
            last = exc
            time.sleep(min(0.05, remaining))  # retry interval of the probe only
            continue
        try:
            session = ImapSession.connect(url, timeout=max(min(remaining, 5.0), 0.1))
        except (StoreUnavailable, ImapError) as exc:
            last = exc  # listening but not serving yet (or refusing): retry until the guard
            time.sleep(min(0.05, max(deadline - time.monotonic(), 0.0)))
            continue
        session.close()
        return


class AsyncImapSession:
    """:class:`ImapSession` for asyncio: each call runs in a thread, one at a time."""

    def __init__(self, session: ImapSession) -> None:
        self.session = session
        self._lock = asyncio.Lock()

    @classmethod
    async def connect(
        cls,
        url: ImapUrl | str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> AsyncImapSession:
        session = await asyncio.to_thread(
            ImapSession.connect,
            url,
            timeout=timeout,
            max_messages=max_messages,
            max_size=max_size,
        )
        return cls(session)

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        async with self._lock:
            return await asyncio.to_thread(fn, *args, **kwargs)

    async def list_folders(self) -> list[str]:
        return await self._run(self.session.list_folders)

    async def folder_exists(self, name: str) -> bool:
        return await self._run(self.session.folder_exists, name)

    async def create_folder(self, name: str) -> None:
        await self._run(self.session.create_folder, name)

    async def append(
        self, folder: str, data: bytes, *, internal_date: _dt.datetime | None = None
    ) -> int:
        return await self._run(self.session.append, folder, data, internal_date=internal_date)

    async def count(self, folder: str) -> int:
        return await self._run(self.session.count, folder)

    async def fetch_all(self, folder: str) -> list[FetchedMessage]:
        return await self._run(self.session.fetch_all, folder)

    async def wait_for_change(self, folder: str, known_count: int, within: float) -> bool:
        return await self._run(self.session.wait_for_change, folder, known_count, within)

    async def close(self) -> None:
        await self._run(self.session.close)


class LazyImapSession:
    """An :class:`AsyncImapSession` to ``url`` that connects on first use.

    ``timeout`` bounds every socket operation of the session.
    """

    def __init__(self, url: ImapUrl, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout
        self._session: AsyncImapSession | None = None

    async def get(self) -> AsyncImapSession:
        if self._session is None:
            self._session = await AsyncImapSession.connect(self.url, timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


__all__ = [
    "DEFAULT_TIMEOUT",
    "AsyncImapSession",
    "FetchedMessage",
    "ImapError",
    "ImapSession",
    "ImapUrl",
    "LazyImapSession",
    "StoreUnavailable",
    "parse_imap_url",
    "parse_store_url",
    "probe_login",
]
