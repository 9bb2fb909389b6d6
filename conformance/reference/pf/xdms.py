"""User preferences from the XDMS (seed 003 8.4.1 "Retrieving User Preferences" is not in
the seeds; the tool's XDMS emulator serves them as JSON).

``GET <xdms_url>/preferences/<percent-encoded user URI>`` answers
``{"allow-offline-storage": bool, "allow-store": bool, "blacklist": [...],
"do-not-disturb": bool}``. A 404, a missing XDMS or a missing key gives the defaults
(false / empty). One bounded HTTP/1.1 request per read, over asyncio streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import urllib.parse
from dataclasses import dataclass

from conformance.errors import RemoteProtocolError

log = logging.getLogger(__name__)

MAX_RESPONSE = 256 * 1024
TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Preferences:
    """One user's preferences (the defaults when the XDMS holds none)."""

    allow_offline_storage: bool = False
    allow_store: bool = False
    blacklist: tuple[str, ...] = ()
    do_not_disturb: bool = False


DEFAULT_PREFERENCES = Preferences()


def preferences_url(xdms_url: str, user: str) -> str:
    return f"{xdms_url.rstrip('/')}/preferences/{urllib.parse.quote(user, safe='')}"


def parse_preferences(data: bytes) -> Preferences:
    """Preferences from the JSON document; RemoteProtocolError when it is not one."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RemoteProtocolError(f"XDMS preferences are not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise RemoteProtocolError("XDMS preferences are not a JSON object")

    def flag(name: str) -> bool:
        value = doc.get(name, False)
        if not isinstance(value, bool):
            raise RemoteProtocolError(f"XDMS preference {name} is not a boolean")
        return value

    blacklist = doc.get("blacklist", [])
    if not isinstance(blacklist, list) or not all(isinstance(u, str) for u in blacklist):
        raise RemoteProtocolError("XDMS blacklist is not a list of strings")
    return Preferences(
        allow_offline_storage=flag("allow-offline-storage"),
        allow_store=flag("allow-store"),
        blacklist=tuple(blacklist),
        do_not_disturb=flag("do-not-disturb"),
    )


async def _get(url: str) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise RemoteProtocolError(f"unsupported XDMS URL {url!r} (http only)")
    port = parts.port or 80
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    reader, writer = await asyncio.open_connection(parts.hostname, port)
    try:
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{port}"
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        data = await reader.read(MAX_RESPONSE + 1)
        while len(data) <= MAX_RESPONSE:
            more = await reader.read(MAX_RESPONSE + 1 - len(data))
            if not more:
                break
            data += more
    finally:
        writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await writer.wait_closed()
    if len(data) > MAX_RESPONSE:
        raise RemoteProtocolError("XDMS response too large")
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise RemoteProtocolError("XDMS response without a header block")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise RemoteProtocolError(f"bad XDMS status line {head[:80]!r}")
    if b"transfer-encoding: chunked" in head.lower():
        raise RemoteProtocolError("chunked XDMS responses are not supported")
    return int(status_line[1]), body


async def fetch_preferences(
    xdms_url: str | None, user: str, *, timeout: float = TIMEOUT
) -> Preferences:
    """The user's preferences; the defaults when there is no XDMS or it has none.

    An unreachable or misbehaving XDMS is logged and also gives the defaults (the PF
    then does what a user without preferences gets).
    """
    if xdms_url is None:
        return DEFAULT_PREFERENCES
    url = preferences_url(xdms_url, user)
    try:
        status, body = await asyncio.wait_for(_get(url), timeout)
        if status == 404:
            return DEFAULT_PREFERENCES
        if status != 200:
            raise RemoteProtocolError(f"XDMS answered {status}")
        return parse_preferences(body)
    except (OSError, TimeoutError, RemoteProtocolError) as exc:
        log.warning("XDMS preferences of %s unavailable (%s): defaults", user, exc)
        return DEFAULT_PREFERENCES


__all__ = [
    "DEFAULT_PREFERENCES",
    "Preferences",
    "fetch_preferences",
    "parse_preferences",
    "preferences_url",
]
