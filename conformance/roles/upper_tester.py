"""Upper tester client: makes the SUT do what no protocol message can trigger.

Three modes (the SUT profile's ``[upper_tester] url``):

- HTTP: ``POST /upper-tester/v1/actions`` with a JSON object, as specified in
  ``docs/upper-tester.md``; HTTP/1.1 over asyncio streams, every request bounded by a timeout.
- manual: print the instruction on the terminal and wait for the operator's Enter. Needs a
  terminal (``/dev/tty``, which pytest's capture leaves alone); without one, ``inconc``.
- none: every action is ``inconc`` with the reason "no upper tester configured for <action>".

An action that cannot be performed (no upper tester, no terminal, a refused or failed request,
a timeout) raises :class:`UpperTesterUnavailable`: an :class:`~conformance.errors.Inconclusive`
whose message starts with ``"inconc: "``, which the plugin maps to the verdict ``inconc``
(DESIGN.md: "a check that needs a missing upper tester is inconc, never a silent skip"). The
roles hold no judgement.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from conformance.errors import INCONC_PREFIX, Inconclusive

__all__ = [
    "ACTIONS",
    "ACTIONS_PATH",
    "INCONC_PREFIX",
    "Action",
    "UpperTester",
    "UpperTesterResult",
    "UpperTesterUnavailable",
    "instruction",
]

ACTIONS_PATH = "/upper-tester/v1/actions"
_MAX_BODY = 1 << 20


class Action(StrEnum):
    """The upper tester actions (docs/upper-tester.md)."""

    CLIENT_OFFLINE = "client-offline"
    CLIENT_ONLINE = "client-online"
    USER_ACCEPT = "user-accept"
    USER_DECLINE = "user-decline"
    USER_UNAVAILABLE = "user-unavailable"
    SEND_MESSAGE = "send-message"
    ADMIN_TRIGGER = "admin-trigger"
    SET_PREFERENCE = "set-preference"
    END_SESSION = "end-session"
    RESET = "reset"


#: action -> (required parameters, optional parameters)
ACTIONS: dict[Action, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Action.CLIENT_OFFLINE: (("user",), ("instance",)),
    Action.CLIENT_ONLINE: (("user",), ("instance",)),
    Action.USER_ACCEPT: (("user",), ()),
    Action.USER_DECLINE: (("user",), ()),
    Action.USER_UNAVAILABLE: (("user",), ()),
    Action.SEND_MESSAGE: (("user", "text"), ("conversation-id", "contribution-id", "to")),
    Action.ADMIN_TRIGGER: (("user",), ()),
    Action.SET_PREFERENCE: (("user", "name", "value"), ()),
    Action.END_SESSION: (("session",), ()),
    Action.RESET: ((), ("users",)),
}


class UpperTesterUnavailable(Inconclusive):
    """The upper tester could not perform an action: verdict ``inconc``."""


@dataclass(frozen=True, slots=True)
class UpperTesterResult:
    """What the upper tester answered (evidence for the test case)."""

    action: str
    params: dict[str, Any]
    status: int  #: HTTP status, 0 for a manual action
    body: dict[str, Any] = field(default_factory=dict)


def instruction(action: Action, params: dict[str, Any]) -> str:
    """The operator's instruction for a manual action."""
    user = params.get("user", "")
    instance = params.get("instance")
    which = f"client {instance} of {user}" if instance else f"every client of {user}"
    text = {
        Action.CLIENT_OFFLINE: f"Take {which} OFFLINE (deregister, no network).",
        Action.CLIENT_ONLINE: f"Bring {which} back ONLINE (register).",
        Action.USER_ACCEPT: f"Make {user} ACCEPT the next (deferred) invitation.",
        Action.USER_DECLINE: f"Make {user} DECLINE the next (deferred) invitation.",
        Action.USER_UNAVAILABLE: f"Make {user} leave the next (deferred) invitation UNANSWERED.",
        Action.SEND_MESSAGE: (
            f"From {user}, send the message {params.get('text', '')!r}"
            + (
                f" in conversation {params['conversation-id']}"
                if params.get("conversation-id")
                else ""
            )
            + (
                f" (contribution {params['contribution-id']})"
                if params.get("contribution-id")
                else ""
            )
            + (f" to {params['to']}" if params.get("to") else "")
            + "."
        ),
        Action.ADMIN_TRIGGER: f"Fire the ADMINISTRATIVE TRIGGER for {user}.",
        Action.SET_PREFERENCE: (
            f"Set the preference {params.get('name')} of {user} to {params.get('value')!r}."
        ),
        Action.END_SESSION: f"End the group session {params.get('session')} at the CF.",
        Action.RESET: (
            "Reset the SUT's users "
            + (", ".join(params["users"]) + " " if params.get("users") else "")
            + "and their clients to their initial state"
            + (" (leave every other user alone)." if params.get("users") else ".")
        ),
    }[action]
    return text


Prompt = Callable[[str, float], Awaitable[bool]]


async def _tty_prompt(text: str, timeout: float) -> bool:
    """Show ``text`` on the terminal and wait for Enter (True) or "s" + Enter (False)."""
    try:
        tty_in = open("/dev/tty", encoding="utf-8")  # noqa: SIM115 - closed by the reader
        tty_out = open("/dev/tty", "w", encoding="utf-8")  # noqa: SIM115
    except OSError:
        raise UpperTesterUnavailable("manual upper tester needs a terminal (no /dev/tty)") from None
    if not tty_in.isatty():
        tty_in.close()
        tty_out.close()
        raise UpperTesterUnavailable("manual upper tester needs a terminal")
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def read() -> None:
        try:
            line = tty_in.readline()
        except OSError as exc:
            line = f"error {exc}"
        finally:
            tty_in.close()

        def deliver() -> None:
            if not answer.done():
                answer.set_result(line)

        if not loop.is_closed():
            loop.call_soon_threadsafe(deliver)

    tty_out.write(
        f"\n*** UPPER TESTER ***\n{text}\nPress Enter when done, or type s and Enter if"
        " the SUT cannot do it: "
    )
    tty_out.flush()
    tty_out.close()
    # A daemon thread: an unanswered prompt never keeps the process alive.
    threading.Thread(target=read, name="upper-tester-prompt", daemon=True).start()
    try:
        line = await asyncio.wait_for(answer, timeout)
    except TimeoutError:
        raise UpperTesterUnavailable(f"no operator answer within {timeout:g} s") from None
    return line.strip().lower() not in ("s", "skip", "n", "no") and not line.startswith("error")


class UpperTester:
    """Client of the upper tester. Every method is bounded by ``timeout`` (seconds)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        manual: bool = False,
        timeout: float = 10.0,
        manual_timeout: float = 600.0,
        prompt: Prompt | None = None,
    ) -> None:
        if url and manual:
            raise ValueError("an upper tester is either HTTP (url) or manual, not both")
        self.url = url or ""
        self.manual = manual
        self.timeout = timeout
        self.manual_timeout = manual_timeout
        self._prompt: Prompt = prompt or _tty_prompt
        #: every action performed, in order (evidence)
        self.log: list[UpperTesterResult] = []
        if self.url:
            parts = urlsplit(self.url)
            if parts.scheme != "http" or not parts.hostname:
                raise ValueError(f"upper tester URL must be http://host:port, got {url!r}")
            self._host = parts.hostname
            self._port = parts.port or 80
            self._path = parts.path.rstrip("/") + ACTIONS_PATH

    @property
    def configured(self) -> bool:
        return bool(self.url) or self.manual

    @property
    def mode(self) -> str:
        return "http" if self.url else "manual" if self.manual else "none"

    # -- the actions
    async def client_offline(self, user: str, instance: str | None = None) -> UpperTesterResult:
        return await self.act(Action.CLIENT_OFFLINE, user=user, instance=instance)

    async def client_online(self, user: str, instance: str | None = None) -> UpperTesterResult:
        return await self.act(Action.CLIENT_ONLINE, user=user, instance=instance)

    async def user_accept(self, user: str) -> UpperTesterResult:
        return await self.act(Action.USER_ACCEPT, user=user)

    async def user_decline(self, user: str) -> UpperTesterResult:
        return await self.act(Action.USER_DECLINE, user=user)

    async def user_unavailable(self, user: str) -> UpperTesterResult:
        return await self.act(Action.USER_UNAVAILABLE, user=user)

    async def send_message(
        self,
        user: str,
        text: str,
        *,
        conversation_id: str | None = None,
        contribution_id: str | None = None,
        to: str | None = None,
    ) -> UpperTesterResult:
        return await self.act(
            Action.SEND_MESSAGE,
            user=user,
            text=text,
            to=to,
            **{"conversation-id": conversation_id, "contribution-id": contribution_id},
        )

    async def admin_trigger(self, user: str) -> UpperTesterResult:
        return await self.act(Action.ADMIN_TRIGGER, user=user)

    async def set_preference(self, user: str, name: str, value: object) -> UpperTesterResult:
        return await self.act(Action.SET_PREFERENCE, user=user, name=name, value=value)

    async def end_session(self, session: str) -> UpperTesterResult:
        """The CF ends the group session (a focus URI or Conversation-ID)."""
        return await self.act(Action.END_SESSION, session=session)

    async def reset(self, users: Sequence[str] | None = None) -> UpperTesterResult:
        """Put ``users`` (SIP URIs) and their clients back to the initial state; every user
        when ``None``. A parallel worker passes its own slice of the users, so that it never
        disturbs another worker's test case on the same SUT."""
        return await self.act(Action.RESET, users=None if users is None else list(users))

    # -- the engine
    async def act(self, action: Action | str, **params: Any) -> UpperTesterResult:
        """Perform one action; ``None`` parameters are left out."""
        act = Action(action)
        clean = {k: v for k, v in params.items() if v is not None}
        required, optional = ACTIONS[act]
        missing = [p for p in required if p not in clean]
        unknown = [p for p in clean if p not in required and p not in optional]
        if missing or unknown:
            raise ValueError(f"upper tester {act}: missing {missing}, unknown {unknown}")
        if self.url:
            result = await self._http(act, clean)
        elif self.manual:
            done = await self._prompt(instruction(act, clean), self.manual_timeout)
            if not done:
                raise UpperTesterUnavailable(f"the operator could not perform {act}")
            result = UpperTesterResult(act.value, clean, 0, {"status": "ok"})
        else:
            raise UpperTesterUnavailable(f"no upper tester configured for {act}")
        self.log.append(result)
        return result

    async def _http(self, action: Action, params: dict[str, Any]) -> UpperTesterResult:
        body = json.dumps({"action": action.value, **params}).encode("utf-8")
        try:
            status, payload = await asyncio.wait_for(self._post(body), self.timeout)
        except TimeoutError:
            raise UpperTesterUnavailable(
                f"upper tester did not answer {action} within {self.timeout:g} s"
            ) from None
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            raise UpperTesterUnavailable(
                f"upper tester at {self.url} unreachable for {action}: {exc}"
            ) from None
        result = UpperTesterResult(action.value, params, status, payload)
        if status == 501:
            raise UpperTesterUnavailable(f"the upper tester does not support {action}")
        if not 200 <= status < 300:
            detail = payload.get("error") or payload.get("detail") or ""
            raise UpperTesterUnavailable(
                f"upper tester refused {action}: HTTP {status} {detail}".rstrip()
            )
        return result

    async def _post(self, body: bytes) -> tuple[int, dict[str, Any]]:
        reader, writer = await asyncio.open_connection(self._host, self._port)
        try:
            head = (
                f"POST {self._path} HTTP/1.1\r\n"
                f"Host: {self._host}:{self._port}\r\n"
                "Content-Type: application/json\r\n"
                "Accept: application/json\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode("ascii")
            writer.write(head + body)
            await writer.drain()
            status_line = await reader.readline()
            parts = status_line.decode("latin-1").split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
                raise ValueError(f"not an HTTP response: {status_line[:80]!r}")
            status = int(parts[1])
            length: int | None = None
            chunked = False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                lname = name.strip().lower()
                if lname == "content-length":
                    length = int(value.strip())
                elif lname == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
            if chunked:
                data = await self._read_chunked(reader)
            elif length is not None:
                if length > _MAX_BODY:
                    raise ValueError("response body too large")
                data = await reader.readexactly(length)
            else:
                data = await reader.read(_MAX_BODY)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        payload: dict[str, Any] = {}
        if data.strip():
            try:
                decoded = json.loads(data)
            except json.JSONDecodeError:
                decoded = {"detail": data[:200].decode("utf-8", errors="replace")}
            if isinstance(decoded, dict):
                payload = decoded
        return status, payload

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        out = bytearray()
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await reader.readline()
                return bytes(out)
            out += await reader.readexactly(size)
            await reader.readline()
            if len(out) > _MAX_BODY:
                raise ValueError("response body too large")
