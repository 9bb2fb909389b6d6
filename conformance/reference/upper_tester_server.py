"""The server side of the upper tester (docs/upper-tester.md, HTTP/JSON version 1).

``POST /upper-tester/v1/actions`` with one JSON object ``{"action": ..., params...}``,
one request per connection. Answers:

- 200 ``{"status": "ok", "detail": ...}`` when the registered handler did the action;
- 400 for a request that is not one JSON object with a string ``action`` (or a handler's
  :class:`ActionError` 400), 409 when the SUT cannot reach that state now;
- 404 for another path, 405 for another method on the actions path, 413 for a body over
  the limit, 422 for an action nobody registered, 501 for a documented action this SUT
  does not support.

``reset`` is always supported: it runs every registered reset hook. Its optional ``users``
(a JSON array of user URIs) limits it to those users and their clients; a hook leaves every
other user alone (parallel workers share the SUT, each with its own users). Without
``users``, every user is reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from conformance.errors import LocalProtocolError

log = logging.getLogger(__name__)

ACTIONS_PATH = "/upper-tester/v1/actions"
MAX_HEAD = 16 * 1024
MAX_BODY = 64 * 1024
READ_TIMEOUT = 10.0
#: the actions docs/upper-tester.md defines (a SUT may add its own, like end-session)
DOCUMENTED_ACTIONS = frozenset(
    {
        "client-offline",
        "client-online",
        "user-accept",
        "user-decline",
        "user-unavailable",
        "send-message",
        "admin-trigger",
        "set-preference",
        "reset",
    }
)

Handler = Callable[[Mapping[str, Any]], Awaitable[str]]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    501: "Not Implemented",
}


class ActionError(Exception):
    """A handler cannot do the action: ``status`` 400 (bad parameters) or 409."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class UpperTesterServer:
    """An asyncio HTTP/1.1 server for the upper-tester actions of one reference SUT."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._reset_hooks: list[Handler] = []
        self._server: asyncio.Server | None = None
        #: ``(action, params, status)`` of every request, in order (evidence)
        self.log: list[tuple[str, dict[str, Any], int]] = []

    def register(self, action: str, handler: Handler) -> None:
        """Let ``handler`` perform ``action``; a ``reset`` handler becomes a reset hook."""
        if action == "reset":
            self._reset_hooks.append(handler)
            return
        if action in self._handlers:
            raise LocalProtocolError(f"upper-tester action {action} registered twice")
        self._handlers[action] = handler

    def register_all(self, handlers: Mapping[str, Handler]) -> None:
        for action, handler in handlers.items():
            self.register(action, handler)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_HEAD)

    @property
    def url(self) -> str:
        if self._server is None:
            raise LocalProtocolError("the upper-tester server is not started")
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    # -- one connection -------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, body = await asyncio.wait_for(self._handle(reader), READ_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError):
            status, body = 400, {"status": "error", "error": "incomplete or oversized request"}
        except Exception:
            log.exception("upper-tester request failed")
            status, body = 500, {"status": "error", "error": "internal error"}
        data = json.dumps(body).encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        with contextlib.suppress(ConnectionError):
            writer.write(head + data)
            await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader) -> tuple[int, dict[str, Any]]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            return 400, _error("not an HTTP/1.x request line")
        method, target, _ = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, sep, value = line.partition(":")
                if not sep:
                    return 400, _error(f"bad header line {line!r}")
                headers[name.strip().lower()] = value.strip()
        path = target.split("?", 1)[0]
        if path != ACTIONS_PATH:
            return 404, _error(f"no such path {path}")
        if method != "POST":
            return 405, _error("only POST is allowed")
        length_text = headers.get("content-length", "")
        if not length_text.isdigit():
            return 400, _error("Content-Length required")
        length = int(length_text)
        if length > MAX_BODY:
            return 413, _error(f"body over {MAX_BODY} bytes")
        raw = await reader.readexactly(length)
        try:
            params = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return 400, _error(f"invalid JSON: {exc}")
        if not isinstance(params, dict) or not isinstance(params.get("action"), str):
            return 400, _error('the body must be a JSON object with a string "action"')
        action = params.pop("action")
        status, body = await self._dispatch(action, params)
        self.log.append((action, params, status))
        return status, body

    async def _dispatch(self, action: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            if action == "reset":
                users = params.get("users")
                if users is not None and (
                    not isinstance(users, list) or not all(isinstance(u, str) for u in users)
                ):
                    return 400, _error('reset: "users" must be a JSON array of user URIs')
                details = [await hook(params) for hook in self._reset_hooks]
                return 200, {"status": "ok", "detail": "; ".join(details) or "reset"}
            handler = self._handlers.get(action)
            if handler is None:
                if action in DOCUMENTED_ACTIONS:
                    return 501, _error(f"the upper tester does not support {action}")
                return 422, _error(f"unknown action {action}")
            return 200, {"status": "ok", "detail": await handler(params)}
        except ActionError as exc:
            return exc.status, _error(exc.message)


def _error(text: str) -> dict[str, Any]:
    return {"status": "error", "error": text}


__all__ = ["ACTIONS_PATH", "DOCUMENTED_ACTIONS", "ActionError", "Handler", "UpperTesterServer"]
