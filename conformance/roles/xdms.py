"""The XDMS role: user preferences served over HTTP/1.1 (see docs/xdms.md).

``GET <root>/preferences/<percent-encoded user URI>`` answers ``200 application/json``::

    {"allow-offline-storage": true, "allow-store": true,
     "blacklist": ["sip:mallory@example.test"], "do-not-disturb": false}

or ``404`` when the user has no document (the SUT then applies its defaults). Every
request is kept in :attr:`XdmsServer.requests` as evidence. The server is asyncio
streams on a run-time port; it reads one request per connection and closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from conformance.net.clock import Notifier

MAX_HEAD = 16 * 1024
#: the preference names and their defaults (OMA CPM 2.0 user preferences used by the PF)
DEFAULT_PREFERENCES: dict[str, bool | list[str]] = {
    "allow-offline-storage": True,
    "allow-store": True,
    "blacklist": [],
    "do-not-disturb": False,
}
_NAMES = {name.replace("-", "_"): name for name in DEFAULT_PREFERENCES}


@dataclass(frozen=True, slots=True)
class XdmsRequest:
    """One HTTP request the XDMS saw, with the answer it gave."""

    at: float  #: wall-clock time of arrival
    peer: tuple[str, int]
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    raw: bytes
    status: int
    user: str | None  #: the decoded user URI of a preferences request


class XdmsServer:
    """Preferences over HTTP (module docstring). Build it with :meth:`start`."""

    def __init__(self, host: str, root: str = "") -> None:
        self.host = host
        self.root = "/" + root.strip("/") if root.strip("/") else ""
        self.port = 0
        #: every request seen, in order
        self.requests: list[XdmsRequest] = []
        self._documents: dict[str, dict[str, bool | list[str]]] = {}
        self._server: asyncio.Server | None = None
        self._changed = Notifier()

    @classmethod
    async def start(cls, host: str = "127.0.0.1", port: int = 0, *, root: str = "") -> XdmsServer:
        xdms = cls(host, root)
        xdms._server = await asyncio.start_server(xdms._serve, host, port)
        xdms.port = xdms._server.sockets[0].getsockname()[1]
        return xdms

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> XdmsServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """The base URL a SUT is configured with (``http://host:port<root>``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.root}"

    def preferences_url(self, user: str) -> str:
        return f"{self.url}/preferences/{quote(user, safe='')}"

    # -- documents ------------------------------------------------------------------
    def set_preferences(self, user: str, **prefs: bool | list[str]) -> dict[str, bool | list[str]]:
        """Create or update ``user``'s document; names use ``_`` for ``-``
        (``allow_offline_storage=False``). Unset names take their defaults."""
        doc = self._documents.setdefault(
            user, {k: _copy(v) for k, v in DEFAULT_PREFERENCES.items()}
        )
        for key, value in prefs.items():
            name = _NAMES.get(key, key)
            if name not in DEFAULT_PREFERENCES:
                raise ValueError(f"unknown preference {key!r} (known: {sorted(_NAMES)})")
            doc[name] = _copy(value)
        return dict(doc)

    def remove(self, user: str) -> None:
        self._documents.pop(user, None)

    def clear(self) -> None:
        """Forget every document (every user then gets 404) and the request log."""
        self._documents.clear()
        self.requests.clear()

    def document(self, user: str) -> dict[str, bool | list[str]] | None:
        doc = self._documents.get(user)
        return None if doc is None else dict(doc)

    async def expect_request(self, *, within: float, since: int = 0) -> XdmsRequest:
        """The first request at index ``since`` or later of :attr:`requests`."""

        def probe() -> XdmsRequest | None:
            return self.requests[since] if len(self.requests) > since else None

        return await self._changed.wait_until(probe, within, f"HTTP request at {self.url}")

    # -- HTTP -----------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("", 0)
        try:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            if len(head) > MAX_HEAD:
                return
            status, body, user, method, target, headers = self._answer(head)
            reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
            out = (
                f"HTTP/1.1 {status} {reason.get(status, 'Error')}\r\n"
                f"Content-Length: {len(body)}\r\n"
                + ("Content-Type: application/json\r\n" if status == 200 else "")
                + "Connection: close\r\n\r\n"
            ).encode() + (body if method != "HEAD" else b"")
            self.requests.append(
                XdmsRequest(
                    time.time(),
                    (str(peer[0]), int(peer[1])),
                    method,
                    target,
                    headers,
                    head,
                    status,
                    user,
                )
            )
            self._changed.notify()
            writer.write(out)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _answer(
        self, head: bytes
    ) -> tuple[int, bytes, str | None, str, str, tuple[tuple[str, str], ...]]:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        headers = tuple(
            (n.strip(), v.strip()) for n, _, v in (ln.partition(":") for ln in lines[1:] if ln)
        )
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            return 400, b"", None, parts[0] if parts else "", "", headers
        method, target = parts[0], parts[1]
        path = urlsplit(target).path
        prefix = f"{self.root}/preferences/"
        if not path.startswith(prefix):
            return 404, b"", None, method, target, headers
        user = unquote(path[len(prefix) :])
        if method not in ("GET", "HEAD"):
            return 405, b"", user, method, target, headers
        doc = self._documents.get(user)
        if doc is None:
            return 404, b"", user, method, target, headers
        return 200, json.dumps(doc).encode(), user, method, target, headers


def _copy(value: bool | list[str]) -> bool | list[str]:
    return list(value) if isinstance(value, list) else value


__all__ = ["DEFAULT_PREFERENCES", "XdmsRequest", "XdmsServer"]
