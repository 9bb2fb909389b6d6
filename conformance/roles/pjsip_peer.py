"""pjsua2 as an independent SIP peer, driven from asyncio.

pjsua2 (PyPI ``pjsua2-python``) is a battle-tested SIP stack. The interop tests use it
to prove that our own engine talks to somebody else's: INVITE/ACK/BYE, MESSAGE,
OPTIONS and REGISTER with digest authentication, with custom headers both ways.

Threading model (see DESIGN.md, "Dependencies and why"):

- pjsua2 runs in ONE dedicated thread. That thread calls ``libCreate``, ``libInit`` with
  ``threadCnt=0`` and ``mainThreadOnly=True``, then loops on ``libHandleEvents(10)``
  (an event wait of at most 10 ms, not a sleep) and runs queued commands between two
  waits. Every pjsua2 call, and every pjsua2 callback, therefore happens on that thread.
- Callbacks copy plain data (ints, strings, raw bytes) out of pjsua2 objects and hand it
  to the asyncio loop with ``loop.call_soon_threadsafe``. No pjsua2 object ever leaves
  the thread, so none is ever garbage-collected elsewhere.
- ``libDestroy`` runs in a ``finally`` block of the thread, after the Python wrappers of
  calls, buddies and accounts have been dropped. It runs with
  ``PJSUA_DESTROY_NO_NETWORK`` (otherwise it waits about one second for nothing):
  calls are hung up before, but a registration left in place is not removed; call
  :meth:`PjsipPeer.unregister` when the registrar must see it.

One Endpoint per process: pjsua2 keeps a process-wide singleton. A second
:meth:`PjsipPeer.start` while a peer is running raises
:class:`~conformance.errors.LocalProtocolError`; after :meth:`PjsipPeer.stop` a new peer
may be started. Test suites share one peer per session (a fixture) when they can.

Every wait is bounded by ``within=`` seconds and raises :class:`PjsipTimeout`.

Measured behaviour of pjsua2 2.15 worth knowing (also in the interop tests):

- an offer carrying only an MSRP m-line is refused with 488; pjsip needs an audio m-line;
- a SUBSCRIBE with ``Event: conference`` is refused with 489 (Bad Event);
- OPTIONS and MESSAGE outside a dialog are answered 200 by pjsua itself;
- pjsua2 has no OPTIONS call: :meth:`PjsipPeer.send_options` uses ``Account.sendRequest``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from conformance.errors import LocalProtocolError
from conformance.net.clock import WaitTimeout

try:  # pjsua2 is an optional dependency (extra "pjsip")
    import pjsua2 as pj
except ImportError:  # pragma: no cover - depends on the installation
    pj = None

T = TypeVar("T")

#: How long one libHandleEvents() call may wait for a SIP event, in milliseconds.
POLL_MS = 10


class PjsipTimeout(WaitTimeout):
    """A bounded wait on the pjsua2 peer expired before the awaited event."""

    def __init__(self, what: str, within: float) -> None:
        super().__init__(f"{what} from the pjsua2 peer", within)


def pjsua2_available() -> bool:
    """True when the ``pjsua2`` module can be imported."""
    return pj is not None


# ---------------------------------------------------------------------------------------
# Observations handed to asyncio (plain data only)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """An INVITE pjsua2 received and turned into a call."""

    call: int
    raw: bytes
    src: str


@dataclass(frozen=True, slots=True)
class CallEvent:
    """A call state change, or a SIP message received within a call's transactions.

    ``kind`` is ``"state"`` (``state`` is the pjsip invite state name, e.g. ``CONFIRMED``;
    ``raw`` the received message that caused the change, if one did, such as the final
    non-2xx response of an outgoing INVITE) or ``"rx"`` (``raw`` holds the received request
    or response, ``method`` its transaction method, ``code`` the response status or 0 for a
    request).
    """

    call: int
    kind: str
    state: str = ""
    code: int = 0
    reason: str = ""
    method: str = ""
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """A MESSAGE request pjsua2 received outside a dialog."""

    raw: bytes
    body: str
    content_type: str
    from_uri: str
    src: str


@dataclass(frozen=True, slots=True)
class RequestResult:
    """The final outcome of a request pjsua2 sent (the response, if one arrived)."""

    code: int
    reason: str
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class RegResult:
    """The outcome of a REGISTER transaction, after pjsua2 answered any challenge."""

    code: int
    reason: str
    expiration: int
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class BodyPart:
    """One part of a multipart/mixed body added after pjsua's SDP offer."""

    content_type: str
    body: str
    headers: tuple[tuple[str, str], ...] = ()

    def to_pj(self) -> Any:
        part = pj.SipMultipartPart()
        main, _, sub = self.content_type.partition("/")
        part.contentType.type = main
        part.contentType.subType = sub
        part.body = self.body
        for name, value in self.headers:
            h = pj.SipHeader()
            h.hName = name
            h.hValue = value
            part.headers.append(h)
        return part


@dataclass(frozen=True, slots=True)
class PjsipConfig:
    """How to start the peer. Transports bind on ``host`` at an ephemeral port."""

    user: str = "pjsip"
    host: str = "127.0.0.1"
    user_agent: str = "pjsua2-interop-peer"
    log_level: int = 0
    start_within: float = 10.0


# ---------------------------------------------------------------------------------------
# A non-lossy mailbox: waits scan everything received so far, then new arrivals
# ---------------------------------------------------------------------------------------


class Mailbox(Generic[T]):
    """Items received from the pjsua2 thread, consumed in order by bounded waits."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self._next = 0
        self._changed = asyncio.Event()

    def put(self, item: T) -> None:
        self.items.append(item)
        self._changed.set()

    def drain(self) -> None:
        """Mark everything received so far as consumed."""
        self._next = len(self.items)

    async def take(
        self, within: float, what: str, predicate: Callable[[T], bool] | None = None
    ) -> T:
        """The next unconsumed item matching ``predicate``; earlier non-matching items
        are skipped (they stay visible in :attr:`items`)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            while self._next < len(self.items):
                item = self.items[self._next]
                self._next += 1
                if predicate is None or predicate(item):
                    return item
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise PjsipTimeout(what, within)
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                raise PjsipTimeout(what, within) from None


def _raw(rdata: Any) -> bytes:
    try:
        text = rdata.wholeMsg
    except Exception:  # a response that was generated locally has no rdata
        return b""
    if isinstance(text, bytes):
        return text
    return str(text).encode("utf-8", "surrogateescape")


def _header_vector(headers: Iterable[tuple[str, str]]) -> Any:
    vector = pj.SipHeaderVector()
    for name, value in headers:
        h = pj.SipHeader()
        h.hName = name
        h.hValue = value
        vector.append(h)
    return vector


_STATE_NAMES: dict[int, str] = {}


def _state_name(state: int) -> str:
    if not _STATE_NAMES and pj is not None:
        for name in dir(pj):
            if name.startswith("PJSIP_INV_STATE_"):
                _STATE_NAMES[int(getattr(pj, name))] = name.removeprefix("PJSIP_INV_STATE_")
    return _STATE_NAMES.get(state, str(state))


# ---------------------------------------------------------------------------------------
# pjsua2 subclasses: run only on the pjsua2 thread
# ---------------------------------------------------------------------------------------

_Base: Any = object if pj is None else pj.Account
_CallBase: Any = object if pj is None else pj.Call


class _Account(_Base):  # type: ignore[misc]
    def __init__(self, peer: PjsipPeer) -> None:
        super().__init__()
        self.peer = peer

    def onIncomingCall(self, prm: Any) -> None:
        call = _Call(self.peer, self, prm.callId)
        self.peer.track_call(prm.callId, call)
        event = IncomingCall(prm.callId, _raw(prm.rdata), str(prm.rdata.srcAddress))
        self.peer.post_to_loop(self.peer.incoming_calls.put, event)

    def onInstantMessage(self, prm: Any) -> None:
        msg = ReceivedMessage(
            raw=_raw(prm.rdata),
            body=str(prm.msgBody),
            content_type=str(prm.contentType),
            from_uri=str(prm.fromUri),
            src=str(prm.rdata.srcAddress),
        )
        self.peer.post_to_loop(self.peer.messages.put, msg)

    def onInstantMessageStatus(self, prm: Any) -> None:
        result = RequestResult(int(prm.code), str(prm.reason), _raw(prm.rdata))
        self.peer.post_to_loop(self.peer.message_results.put, result)

    def onRegState(self, prm: Any) -> None:
        result = RegResult(int(prm.code), str(prm.reason), int(prm.expiration), _raw(prm.rdata))
        self.peer.post_to_loop(self.peer.reg_results.put, result)

    def onSendRequest(self, prm: Any) -> None:
        tsx = prm.e.body.tsxState
        code = int(tsx.tsx.statusCode)
        raw = _raw(tsx.src.rdata) if prm.e.body.tsxState.type == pj.PJSIP_EVENT_RX_MSG else b""
        result = RequestResult(code, str(tsx.tsx.statusText), raw)
        self.peer.post_to_loop(self.peer.request_results.put, result)


class _Call(_CallBase):  # type: ignore[misc]
    def __init__(self, peer: PjsipPeer, account: _Account, call_id: int | None = None) -> None:
        if call_id is None:
            super().__init__(account)
        else:
            super().__init__(account, call_id)
        self.peer = peer
        #: replaces pjsua's own SDP offer (onCallSdpCreated) when set
        self.sdp_override = ""

    def onCallSdpCreated(self, prm: Any) -> None:
        if self.sdp_override and prm.remSdp.wholeSdp == "":
            prm.sdp.wholeSdp = self.sdp_override

    def onCallState(self, prm: Any) -> None:
        info = self.getInfo()
        raw = b""
        e = prm.e
        if e.type == pj.PJSIP_EVENT_TSX_STATE and e.body.tsxState.type == pj.PJSIP_EVENT_RX_MSG:
            # e.g. the final non-2xx response to our INVITE (no onCallTsxState for it)
            raw = _raw(e.body.tsxState.src.rdata)
        event = CallEvent(
            call=int(info.id),
            kind="state",
            state=_state_name(int(info.state)),
            code=int(info.lastStatusCode),
            reason=str(info.lastReason),
            raw=raw,
        )
        self.peer.post_to_loop(self.peer.call_events.put, event)

    def onCallTsxState(self, prm: Any) -> None:
        e = prm.e
        if e.type != pj.PJSIP_EVENT_TSX_STATE or e.body.tsxState.type != pj.PJSIP_EVENT_RX_MSG:
            return
        tsx = e.body.tsxState.tsx
        raw = _raw(e.body.tsxState.src.rdata)
        is_response = raw.startswith(b"SIP/")
        event = CallEvent(
            call=int(self.getId()),
            kind="rx",
            code=int(tsx.statusCode) if is_response else 0,
            reason=str(tsx.statusText) if is_response else "",
            method=str(tsx.method),
            raw=raw,
        )
        self.peer.post_to_loop(self.peer.call_events.put, event)


# ---------------------------------------------------------------------------------------
# The peer
# ---------------------------------------------------------------------------------------

_running_lock = threading.Lock()
_running: PjsipPeer | None = None


@dataclass(slots=True)
class _Command:
    fn: Callable[[], Any]
    future: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)


class PjsipPeer:
    """A pjsua2 user agent in its own thread, scripted with bounded async waits.

    Use ``peer = await PjsipPeer.start()`` and ``await peer.stop()``, or
    ``async with await PjsipPeer.start() as peer``.
    """

    def __init__(self, config: PjsipConfig) -> None:
        self.config = config
        self.loop = asyncio.get_running_loop()
        self.udp_port = 0
        self.tcp_port = 0
        self.incoming_calls: Mailbox[IncomingCall] = Mailbox()
        self.call_events: Mailbox[CallEvent] = Mailbox()
        self.messages: Mailbox[ReceivedMessage] = Mailbox()
        self.message_results: Mailbox[RequestResult] = Mailbox()
        self.request_results: Mailbox[RequestResult] = Mailbox()
        self.reg_results: Mailbox[RegResult] = Mailbox()
        # owned by the pjsua2 thread
        self._commands: queue.SimpleQueue[_Command] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._ep: Any = None
        self._account: _Account | None = None
        self._reg_account: _Account | None = None
        self._proxy_accounts: dict[tuple[str, str, str], _Account] = {}
        self._calls: dict[int, _Call] = {}
        self._buddies: dict[str, Any] = {}
        self._last_incoming: int | None = None
        self._request_lock = asyncio.Lock()
        self._message_lock = asyncio.Lock()

    # -- life cycle ----------------------------------------------------------------------
    @classmethod
    async def start(cls, config: PjsipConfig | None = None) -> PjsipPeer:
        """Create the Endpoint in a new thread, bind UDP and TCP, and wait until ready."""
        global _running
        if pj is None:
            raise LocalProtocolError("pjsua2 is not installed (pip install pjsua2-python)")
        peer = cls(config or PjsipConfig())
        with _running_lock:
            if _running is not None:
                raise LocalProtocolError(
                    "a pjsua2 peer is already running in this process: pjsua2 allows one "
                    "Endpoint per process; stop it first or share it (session fixture)"
                )
            _running = peer
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        peer._thread = threading.Thread(
            target=peer._thread_main, args=(ready,), name="pjsua2", daemon=True
        )
        peer._thread.start()
        try:
            await peer._wait(asyncio.wrap_future(ready), peer.config.start_within, "start")
        except BaseException:
            await peer.stop()
            raise
        return peer

    async def stop(self, within: float = 10.0) -> None:
        """Hang up every call, destroy the library and join the thread."""
        global _running
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            await self._wait(asyncio.to_thread(thread.join, within), within + 1, "stop")
            if thread.is_alive():
                raise PjsipTimeout("end of the pjsua2 thread", within)
        with _running_lock:
            if _running is self:
                _running = None

    async def __aenter__(self) -> PjsipPeer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def uri(self) -> str:
        """The peer's own SIP URI (UDP)."""
        return f"sip:{self.config.user}@{self.config.host}:{self.udp_port}"

    def contact(self, transport: str = "udp") -> str:
        """A URI that reaches this peer over ``transport`` (``udp`` or ``tcp``)."""
        if transport == "tcp":
            return f"sip:{self.config.user}@{self.config.host}:{self.tcp_port};transport=tcp"
        return self.uri

    def _thread_main(self, ready: concurrent.futures.Future[None]) -> None:
        ep = pj.Endpoint()
        self._ep = ep
        created = False
        try:
            ep.libCreate()
            created = True
            cfg = pj.EpConfig()
            cfg.uaConfig.threadCnt = 0
            cfg.uaConfig.mainThreadOnly = True
            cfg.uaConfig.userAgent = self.config.user_agent
            cfg.logConfig.level = self.config.log_level
            cfg.logConfig.consoleLevel = self.config.log_level
            cfg.medConfig.noVad = True
            ep.libInit(cfg)
            self.udp_port = self._transport(pj.PJSIP_TRANSPORT_UDP)
            self.tcp_port = self._transport(pj.PJSIP_TRANSPORT_TCP)
            ep.libStart()
            ep.audDevManager().setNullDev()
            self._account = self._make_account(self.uri)
            ready.set_result(None)
            while not self._stopping.is_set():
                ep.libHandleEvents(POLL_MS)
                self._run_commands()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
        finally:
            self._shutdown(ep, created)

    def _shutdown(self, ep: Any, created: bool) -> None:
        try:
            if created:
                with contextlib.suppress(Exception):
                    ep.hangupAllCalls()
                    for _ in range(20):  # let the BYEs/CANCELs leave (bounded)
                        if not any(call.isActive() for call in self._calls.values()):
                            break
                        ep.libHandleEvents(POLL_MS)
            self._calls.clear()
            self._buddies.clear()
            for account in (self._reg_account, self._account, *self._proxy_accounts.values()):
                if account is not None:
                    with contextlib.suppress(Exception):
                        account.shutdown()
            self._reg_account = None
            self._account = None
            self._proxy_accounts.clear()
            # commands still queued fail instead of hanging their callers
            while True:
                try:
                    cmd = self._commands.get_nowait()
                except queue.Empty:
                    break
                cmd.future.set_exception(LocalProtocolError("pjsua2 peer stopped"))
        finally:
            if created:
                ep.libDestroy(pj.PJSUA_DESTROY_NO_NETWORK)
            self._ep = None

    def _transport(self, kind: int) -> int:
        tc = pj.TransportConfig()
        tc.port = 0
        tc.boundAddress = self.config.host
        tid = self._ep.transportCreate(kind, tc)
        local = str(self._ep.transportGetInfo(tid).localName)
        return int(local.rsplit(":", 1)[1])

    def _make_account(
        self, id_uri: str, registrar: str = "", user: str = "", password: str = ""
    ) -> _Account:
        acfg = pj.AccountConfig()
        acfg.idUri = id_uri
        acfg.mediaConfig.transportConfig.boundAddress = self.config.host
        if registrar:
            acfg.regConfig.registrarUri = registrar
            acfg.regConfig.registerOnAdd = True
            acfg.regConfig.retryIntervalSec = 0
            acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", user, 0, password))
        account = _Account(self)
        account.create(acfg, not registrar)
        return account

    def _proxy_account(self, proxy: str, from_uri: str, contact_params: str) -> _Account:
        key = (proxy, from_uri, contact_params)
        account = self._proxy_accounts.get(key)
        if account is None:
            acfg = pj.AccountConfig()
            acfg.idUri = from_uri or self.uri
            acfg.mediaConfig.transportConfig.boundAddress = self.config.host
            if proxy:
                acfg.sipConfig.proxies.append(proxy)
            acfg.sipConfig.contactParams = contact_params
            account = _Account(self)
            account.create(acfg, False)
            self._proxy_accounts[key] = account
        return account

    def _active_account(self) -> _Account:
        account = self._reg_account or self._account
        if account is None:
            raise LocalProtocolError("pjsua2 peer has no account (not started)")
        return account

    def _run_commands(self) -> None:
        while True:
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                return
            if not cmd.future.set_running_or_notify_cancel():
                continue
            try:
                cmd.future.set_result(cmd.fn())
            except BaseException as exc:  # handed to the awaiting coroutine
                cmd.future.set_exception(exc)

    def post_to_loop(self, fn: Callable[[T], None], item: T) -> None:
        """From the pjsua2 thread (the account and call callbacks): deliver ``item`` to
        ``fn`` on the asyncio loop."""
        self.loop.call_soon_threadsafe(fn, item)

    def track_call(self, call_id: int, call: _Call) -> None:
        """From the pjsua2 thread: keep an incoming call until it ends."""
        self._calls[call_id] = call

    async def _call(self, fn: Callable[[], T], within: float, what: str) -> T:
        """Run ``fn`` on the pjsua2 thread and return its result."""
        if self._thread is None or self._stopping.is_set():
            raise LocalProtocolError("pjsua2 peer is not running")
        cmd = _Command(fn)
        self._commands.put(cmd)
        result: T = await self._wait(asyncio.wrap_future(cmd.future), within, what)
        return result

    @staticmethod
    async def _wait(aw: Any, within: float, what: str) -> Any:
        try:
            return await asyncio.wait_for(aw, within)
        except TimeoutError:
            raise PjsipTimeout(f"completion of {what}", within) from None

    async def reset(self, *, within: float = 5.0) -> None:
        """Between two test cases of a shared peer: hang up every call and forget every
        observation received so far (waits then see only what comes next)."""

        def do() -> None:
            self._ep.hangupAllCalls()
            for account in self._proxy_accounts.values():
                account.shutdown()  # pjsua has few account slots (PJSUA_MAX_ACC)
            self._proxy_accounts.clear()
            for call_id in [c for c, call in self._calls.items() if not call.isActive()]:
                del self._calls[call_id]

        await self._call(do, within, "reset")
        for box in (
            self.incoming_calls,
            self.call_events,
            self.messages,
            self.message_results,
            self.request_results,
            self.reg_results,
        ):
            box.drain()
        self._last_incoming = None

    # -- calls ---------------------------------------------------------------------------
    async def make_call(
        self,
        uri: str,
        headers: Sequence[tuple[str, str]] = (),
        *,
        proxy: str = "",
        from_uri: str = "",
        contact_params: str = "",
        parts: Sequence[BodyPart] = (),
        sdp: str = "",
        within: float = 5.0,
    ) -> int:
        """Send an INVITE (with pjsua's audio offer) to ``uri``; return the call id.

        ``proxy`` (a loose-routing URI) sends it through that hop whatever the
        Request-URI's host (pjsua resolves the first hop of the account's route set);
        ``from_uri`` is the From identity, ``contact_params`` are appended to the Contact
        (e.g. ``;isfocus``); ``sdp`` replaces pjsua's offer (``onCallSdpCreated``; pjsua
        itself still plans audio media, so this serves requests expected to be rejected);
        ``parts`` turn the body into multipart/mixed
        with pjsua's SDP first (pjsua_msg_data multipart)."""

        def do() -> int:
            account = (
                self._proxy_account(proxy, from_uri, contact_params)
                if proxy or from_uri or contact_params
                else self._active_account()
            )
            call = _Call(self, account)
            call.sdp_override = sdp
            prm = pj.CallOpParam(True)
            prm.txOption.headers = _header_vector(headers)
            if parts:
                prm.txOption.multipartContentType.type = "multipart"
                prm.txOption.multipartContentType.subType = "mixed"
                for part in parts:
                    prm.txOption.multipartParts.append(part.to_pj())
            call.makeCall(uri, prm)
            call_id = int(call.getId())
            self._calls[call_id] = call
            return call_id

        return await self._call(do, within, "make_call")

    async def expect_call(self, within: float) -> IncomingCall:
        """Wait for the next incoming INVITE."""
        call = await self.incoming_calls.take(within, "incoming call")
        self._last_incoming = call.call
        return call

    async def answer(
        self,
        code: int = 200,
        call: int | None = None,
        headers: Sequence[tuple[str, str]] = (),
        *,
        within: float = 5.0,
    ) -> None:
        """Answer an incoming call (default: the last one) with ``code``."""
        call_id = self._pick_call(call)

        def do() -> None:
            prm = pj.CallOpParam()
            prm.statusCode = code
            prm.txOption.headers = _header_vector(headers)
            self._calls[call_id].answer(prm)

        await self._call(do, within, "answer")

    async def hangup(
        self,
        call: int | None = None,
        code: int = 0,
        headers: Sequence[tuple[str, str]] = (),
        *,
        within: float = 5.0,
    ) -> None:
        """BYE a confirmed call, CANCEL an early outgoing one, reject an incoming one."""
        call_id = self._pick_call(call)

        def do() -> None:
            prm = pj.CallOpParam()
            if code:
                prm.statusCode = code
            prm.txOption.headers = _header_vector(headers)
            self._calls[call_id].hangup(prm)

        await self._call(do, within, "hangup")

    async def wait_call_state(self, call: int, state: str, within: float) -> CallEvent:
        """Wait until call ``call`` reaches ``state`` (e.g. ``CONFIRMED``, ``DISCONNECTED``)."""
        return await self.call_events.take(
            within,
            f"call {call} state {state}",
            lambda e: e.call == call and e.kind == "state" and e.state == state,
        )

    async def wait_call_rx(
        self, call: int, within: float, *, method: str = "", code: int | None = None
    ) -> CallEvent:
        """Wait for a message received within the call (a request if ``code == 0``)."""

        def match(e: CallEvent) -> bool:
            return (
                e.call == call
                and e.kind == "rx"
                and (not method or e.method == method)
                and (code is None or e.code == code)
            )

        return await self.call_events.take(within, f"call {call} rx {method} {code}", match)

    def _pick_call(self, call: int | None) -> int:
        if call is not None:
            return call
        if self._last_incoming is None:
            raise LocalProtocolError("no incoming call to act on")
        return self._last_incoming

    # -- requests outside a dialog -------------------------------------------------------
    async def send_message(
        self,
        uri: str,
        body: str,
        content_type: str = "text/plain",
        headers: Sequence[tuple[str, str]] = (),
        *,
        within: float = 5.0,
    ) -> RequestResult:
        """Send a MESSAGE (pjsua's IM path) and wait for its final response."""

        def do() -> None:
            buddy = self._buddies.get(uri)
            if buddy is None:
                bcfg = pj.BuddyConfig()
                bcfg.uri = uri
                bcfg.subscribe = False
                buddy = pj.Buddy()
                buddy.create(self._active_account(), bcfg)
                self._buddies[uri] = buddy
            prm = pj.SendInstantMessageParam()
            prm.content = body
            prm.contentType = content_type
            prm.txOption.headers = _header_vector(headers)
            buddy.sendInstantMessage(prm)

        async with self._message_lock:  # results arrive in order: one at a time
            await self._call(do, within, "send_message")
            return await self.message_results.take(within, "MESSAGE response")

    async def expect_message(self, within: float) -> ReceivedMessage:
        """Wait for the next MESSAGE received outside a dialog."""
        return await self.messages.take(within, "MESSAGE")

    async def send_options(
        self,
        uri: str,
        headers: Sequence[tuple[str, str]] = (),
        *,
        within: float = 5.0,
    ) -> RequestResult:
        """Send an OPTIONS outside a dialog (``Account.sendRequest``); wait for its answer."""
        return await self.send_request("OPTIONS", uri, headers, within=within)

    async def send_request(
        self,
        method: str,
        uri: str,
        headers: Sequence[tuple[str, str]] = (),
        body: str = "",
        content_type: str = "",
        *,
        within: float = 5.0,
    ) -> RequestResult:
        """Send any request outside a dialog and wait for its final response."""

        def do() -> None:
            prm = pj.SendRequestParam()
            prm.method = method
            prm.txOption.targetUri = uri
            prm.txOption.headers = _header_vector(headers)
            if body:
                prm.txOption.msgBody = body
                prm.txOption.contentType = content_type
            self._active_account().sendRequest(prm)

        async with self._request_lock:
            await self._call(do, within, f"send {method}")
            return await self.request_results.take(within, f"{method} response")

    # -- registration --------------------------------------------------------------------
    async def register(
        self,
        registrar_uri: str,
        user: str,
        password: str,
        *,
        domain: str | None = None,
        within: float = 5.0,
    ) -> RegResult:
        """REGISTER ``sip:user@domain`` at ``registrar_uri``, answering digest challenges.

        Returns the final outcome (pjsua2 retries a 401/407 with credentials itself).
        """
        host = domain or registrar_uri.split(":", 1)[1].split(";", 1)[0]

        def do() -> None:
            if self._reg_account is not None:
                raise LocalProtocolError("already registered; unregister() first")
            self._reg_account = self._make_account(
                f"sip:{user}@{host}", registrar_uri, user, password
            )

        await self._call(do, within, "register")
        return await self.reg_results.take(within, "REGISTER outcome")

    async def unregister(self, *, within: float = 5.0) -> RegResult:
        """Send REGISTER with Expires: 0 for the registered account and drop it."""

        def do() -> None:
            if self._reg_account is None:
                raise LocalProtocolError("not registered")
            self._reg_account.setRegistration(False)

        await self._call(do, within, "unregister")
        result = await self.reg_results.take(within, "un-REGISTER outcome")

        def drop() -> None:
            account, self._reg_account = self._reg_account, None
            if account is not None:
                account.shutdown()

        await self._call(drop, within, "drop account")
        return result
