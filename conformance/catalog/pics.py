"""PICS registry and applicability expressions.

The PICS is what a SUT claims: the roles it implements and the options the seeds leave to the
implementation. Every option is registered here with the clause that leaves it open. A
requirement's ``applicability`` is a small boolean expression over these names::

    expr    := or_expr
    or_expr := and_expr ("or" and_expr)*
    and_expr:= not_expr ("and" not_expr)*
    not_expr:= "not" not_expr | atom
    atom    := "true" | "false" | NAME | NAME ("==" | "!=") STRING | "(" expr ")"
    NAME    := letter/underscore, then letters, digits, "_" and "." (e.g. ``pf.media_path``)
    STRING  := a double-quoted value of a ``choice`` option (no escapes)

Parsing never uses ``eval``. A bare name must be a ``bool`` option; ``==``/``!=`` need a
``choice`` option and one of its values. Names missing from the evaluated PICS take the
option's default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Literal

__all__ = [
    "PICS_OPTIONS",
    "And",
    "Compare",
    "Const",
    "Expr",
    "Name",
    "Not",
    "Or",
    "PicsError",
    "PicsOption",
    "check_expression",
    "evaluate",
    "names_in",
    "parse_expression",
]

PicsValue = bool | str


class PicsError(ValueError):
    """A PICS expression or value is invalid; ``position`` is a 0-based offset (or -1)."""

    def __init__(self, message: str, text: str = "", position: int = -1) -> None:
        self.text = text
        self.position = position
        where = f" at position {position} in {text!r}" if position >= 0 else ""
        super().__init__(f"{message}{where}")


@dataclass(frozen=True, slots=True)
class PicsOption:
    name: str
    kind: Literal["bool", "choice"]
    choices: tuple[str, ...]
    default: PicsValue
    description: str
    #: the clause (seed section/step) that leaves the behaviour to the implementation
    source: str


def _b(name: str, default: bool, description: str, source: str) -> PicsOption:
    return PicsOption(name, "bool", (), default, description, source)


def _c(
    name: str, choices: tuple[str, ...], default: str, description: str, source: str
) -> PicsOption:
    return PicsOption(name, "choice", choices, default, description, source)


# Defaults are the conservative claim: an optional behaviour is tested only when claimed.
_OPTIONS: tuple[PicsOption, ...] = (
    # roles
    _b("role.pf", False, "The SUT implements a CPM Participating Function.", "DESIGN roles"),
    _b("role.cf", False, "The SUT implements a CPM Controlling Function.", "DESIGN roles"),
    _b("role.client", False, "The SUT implements a CPM Client.", "DESIGN roles"),
    # Participating Function
    _b(
        "pf.media_path",
        True,
        "The PF stays in the media path (acts as a B2BUA); false: it acts as a SIP proxy.",
        "8.2.1 steps 4/5; 8.3.2 steps 8/9",
    ),
    _b(
        "pf.requires_ua_version",
        False,
        "The PF requires a specific User-Agent (CPM release) version and rejects others "
        'with 403 "132 Version not supported".',
        "8.2.1 step 2; 8.3.2 step 1; 8.2.1 200 OK step 10.a",
    ),
    _b(
        "pf.allows_anonymity",
        True,
        "The PF allows anonymity; false: it rejects anonymous requests with 403 "
        '"119 Anonymity not allowed".',
        "8.2.1 step 3; 8.3.2 step 2",
    ),
    _b(
        "pf.rejects_unexpected_service",
        False,
        "The PF rejects an INVITE whose P-Asserted-Service carries neither CPM session ICSI "
        "(MAY 403).",
        "8.2.1 step 4.a.iii; 8.3.2 step 7.iii",
    ),
    _c(
        "pf.pps_other_policy",
        ("accept-contact", "configuration"),
        "accept-contact",
        "How the PF sets P-Asserted-Service when P-Preferred-Service carries another value: "
        "from the Accept-Contact feature tag, or from service provider configuration "
        "(PIXIT value).",
        "8.2.1 step 4.c.iv.1/2",
    ),
    _b(
        "pf.blacklist",
        False,
        "The terminating PF checks the originator against the chat Blacklist URI-list "
        "(XDMS emulator supplies it).",
        "8.3.2 step 3",
    ),
    _b(
        "pf.do_not_disturb",
        False,
        "The terminating PF checks the do-not-disturb rule in OMA-XDM-Policy.",
        "8.3.2 step 4",
    ),
    _b(
        "pf.sdp_policy",
        False,
        "The PF has an SDP media policy that a PIXIT-described offer violates (488 expected).",
        "8.3.2 step 5",
    ),
    _b(
        "pf.deferred_delivery",
        True,
        "Store and forward: with no suitable client the PF applies deferred delivery "
        "(8.3.6, not in the seeds) instead of answering 480; it stays in the media path "
        "for a client that dropped out (8.3.2.9).",
        "8.3.2 steps 6, 8.b.ii.1, 9.e; 8.3.2.9; SD B.2.3.5.X",
    ),
    _b(
        "pf.interworking",
        False,
        "The PF applies interworking (8.3.6) when no client is suitable; no IWF role is "
        "emulated, so this only removes the 480 expectation.",
        "8.3.2 steps 8.b.ii.1, 9.e",
    ),
    _b(
        "pf.gruu",
        False,
        "The PF addresses a client by its public GRUU (else Accept-Contact +sip.instance).",
        "8.3.2 steps 8.d.i/ii",
    ),
    _b(
        "pf.direct_delivery_all_clients",
        False,
        "Service provider policy: the PF delivers originated chat messages directly to all "
        "of the user's registered/connected clients.",
        "8.2.1 200 OK step 10; 8.6 step 2.a.ii",
    ),
    _b(
        "pf.single_client_policy",
        False,
        "Service provider policy: keep only the client the user chose when several clients "
        "of the user joined the session.",
        "8.6 step 2.a.i",
    ),
    _c(
        "pf.client_subscribe_mode",
        ("forward", "b2bua"),
        "forward",
        "How the PF handles a client's conference SUBSCRIBE: forward it to the CF, or act as "
        "a B2BUA with its own (or a linked) subscription.",
        "8.2.3 (client SUBSCRIBE)",
    ),
    _b(
        "pf.parallel_client_subscriptions",
        False,
        "Several clients of one user can subscribe in parallel (the PF then acts as a B2BUA "
        "with one subscription towards the CF).",
        "8.2.3 (client SUBSCRIBE)",
    ),
    _b(
        "pf.local_notify_without_cf",
        False,
        "With no session towards the CF (forwarding stored content) the PF answers a client "
        "SUBSCRIBE itself and NOTIFYs the locally stored Participant Information.",
        "8.2.3 (MAY opt to not forward)",
    ),
    _c(
        "pf.deferred_first_notify",
        ("only-b", "stored"),
        "only-b",
        "Seed conflict: the first NOTIFY to a client that subscribes during a deferred "
        "delivery lists only that client (B.2.3.5.X step 4, 'only-b'), or the locally stored "
        "Participant Information (8.2.3's local NOTIFY when the PF has no session with the "
        "CF, 'stored').",
        "000 B.2.3.5.X step 4 / 003 8.2.3 (client SUBSCRIBE, MAY opt to not forward)",
    ),
    _c(
        "pf.rejoin_notify_order",
        ("notify-first", "delivery-first"),
        "notify-first",
        "Seed conflict: once client B is back in the active group session (MSRP set up) and "
        "subscribes, the PF lets the NOTIFY to client B come before the delivery of the "
        "buffered messages (B.2.3.x.y steps 16-17 then 18-19, 'notify-first') or delivers "
        "first (B.2.3.x.y+1 step 16 then 17-19, 'delivery-first').",
        "002 B.2.3.x.y steps 16-19 / B.2.3.x.y+1 steps 16-19",
    ),
    _b(
        "pf.conference_info_via_msrp",
        False,
        "Participant Information Notifications via Conference Information Object (MSRP "
        "application/conference-info+xml) apply to the PF's sessions.",
        "8.2.1 200 OK step 9; 8.3.2 200 OK step 3; 8.2.3 RCV step 4; 8.6 step 2.b",
    ),
    _b(
        "pf.admin_trigger",
        False,
        "The PF supports administrative triggers removing a user from all sessions.",
        "Termination ... due to Administrative Trigger",
    ),
    _b(
        "pf.message_store",
        True,
        "A CPM Message Store is available to the PF (the store reader can inspect it).",
        "8.3.2 200 OK step 2; Administrative Trigger notes",
    ),
    _b(
        "pf.cpim_to_actual_recipients",
        False,
        "In deferred delivery the PF sets the CPIM To header(s) to the actual recipient list.",
        "SD 5.2.3.5; SD B.2.3.5.X step 5",
    ),
    _b(
        "pf.recording",
        False,
        "Recording is enabled for the served user (8.5, not in the seeds): the PF stores the "
        "session even when <allow-offline-storage> is false. It selects no requirement; it "
        "lets PF-8.2.1-200OK-8 and PF-8.3.2-200OK-2 also be run with that preference false.",
        "8.2.1 200 OK step 8; 8.3.2 200 OK step 2",
    ),
    _b(
        "pf.retry_rejected_media",
        False,
        "The PF attempts a new session for media streams an ISF rejected (the MAY of 200 OK "
        "step 1; the tool plays the ISF at PIXIT uris.isf).",
        "8.2.1 200 OK step 1",
    ),
    _b(
        "pf.unsubscribe_after_rejoin",
        False,
        "The PF un-subscribes from the focus after the client's session is re-established.",
        "SD B.2.3.x.y NOTE after 16-17",
    ),
    # Controlling Function
    _b(
        "cf.subscription_policy",
        False,
        "The CF can be given a subscriber (PIXIT) that its group or service provider policy "
        "does not authorise, so that the error response can be observed.",
        "SD 5.2.3.5",
    ),
    # Client
    _b(
        "client.deferred_delivery",
        True,
        "The client supports deferred message delivery of CPM Group Sessions.",
        "7.3.11; SD 5.2.3.5",
    ),
    _b(
        "client.subscribe_during_inactive_delivery",
        False,
        "Seed conflict: the client subscribes to the PF's conference state during an inactive "
        "(sendonly) deferred delivery, as SD B.2.3.5.X steps 3-4 and 5.2.3.5 show; false: it "
        "follows 7.3.11 1.a.vi (SHALL NOT subscribe).",
        "7.3.11 1.a.vi vs SD B.2.3.5.X 3-4",
    ),
    _b(
        "client.rejoin",
        False,
        "The client can re-join/re-start a group session when the user acts after coming "
        "back online (upper tester: user sends a message).",
        "7.3.11 3); SD B.2.3.x.y+1",
    ),
    _b(
        "client.rejoin_lists_participants",
        False,
        "The client's re-join INVITE (7.3.1.5, not in the seeds) carries a resource list of "
        "its current Participant Information. No seed requires that list, and it is the only "
        "place where the client's Participant Information shows: without this claim "
        "CLIENT-7.3.11-1.a.vii and CLIENT-5.2.3.5-404-GSO are n/a.",
        "7.3.11 1.a.vii, 1.a.viii; SD 5.2.3.5",
    ),
)

PICS_OPTIONS: Mapping[str, PicsOption] = MappingProxyType({o.name: o for o in _OPTIONS})


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


@dataclass(frozen=True, slots=True)
class Name:
    name: str
    position: int = -1


@dataclass(frozen=True, slots=True)
class Compare:
    name: str
    op: Literal["==", "!="]
    value: str
    position: int = -1


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Expr, ...]


Expr = Const | Name | Compare | Not | And | Or

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<lparen>\()
      | (?P<rparen>\))
      | (?P<op>==|!=)
      | (?P<string>"[^"\\]*")
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)
_KEYWORDS = frozenset({"true", "false", "not", "and", "or"})


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos] == '"':
                raise PicsError("unterminated string", text, pos)
            raise PicsError(f"unexpected character {text[pos]!r}", text, pos)
        kind = m.lastgroup or ""
        if kind != "ws":
            word = m.group()
            if kind == "name" and word in _KEYWORDS:
                kind = word
            out.append(_Tok(kind, word, pos))
        pos = m.end()
    out.append(_Tok("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def fail(self, message: str, tok: _Tok) -> PicsError:
        found = "end of expression" if tok.kind == "end" else repr(tok.text)
        return PicsError(f"{message}, found {found}", self.text, tok.pos)

    def parse(self) -> Expr:
        if self.peek().kind == "end":
            raise PicsError("empty expression", self.text, 0)
        expr = self.or_expr()
        tok = self.peek()
        if tok.kind != "end":
            raise self.fail("expected 'and', 'or' or end of expression", tok)
        return expr

    def or_expr(self) -> Expr:
        parts = [self.and_expr()]
        while self.peek().kind == "or":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Expr:
        parts = [self.not_expr()]
        while self.peek().kind == "and":
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def not_expr(self) -> Expr:
        if self.peek().kind == "not":
            self.take()
            return Not(self.not_expr())
        return self.atom()

    def atom(self) -> Expr:
        tok = self.take()
        if tok.kind == "true":
            return Const(True)
        if tok.kind == "false":
            return Const(False)
        if tok.kind == "lparen":
            expr = self.or_expr()
            close = self.take()
            if close.kind != "rparen":
                raise self.fail("expected ')'", close)
            return expr
        if tok.kind == "name":
            if self.peek().kind == "op":
                op = self.take()
                value = self.take()
                if value.kind != "string":
                    raise self.fail(f"expected a double-quoted value after {op.text!r}", value)
                cmp_op: Literal["==", "!="] = "==" if op.text == "==" else "!="
                return Compare(tok.text, cmp_op, value.text[1:-1], tok.pos)
            return Name(tok.text, tok.pos)
        raise self.fail("expected a name, 'true', 'false', 'not' or '('", tok)


@lru_cache(maxsize=1024)
def parse_expression(text: str) -> Expr:
    """Parse an applicability expression (syntax only; see :func:`check_expression`)."""
    if not isinstance(text, str):
        raise PicsError(f"expression must be a string, got {type(text).__name__}")
    return _Parser(text).parse()


def names_in(expr: Expr | str) -> frozenset[str]:
    """The PICS option names an expression mentions."""
    node = parse_expression(expr) if isinstance(expr, str) else expr
    match node:
        case Const():
            return frozenset()
        case Name(name=name) | Compare(name=name):
            return frozenset({name})
        case Not(operand=operand):
            return names_in(operand)
        case And(operands=ops) | Or(operands=ops):
            return frozenset().union(*(names_in(o) for o in ops))
    raise AssertionError(node)  # pragma: no cover


def check_expression(expr: Expr | str, options: Mapping[str, PicsOption] = PICS_OPTIONS) -> Expr:
    """Parse (if needed) and check names and types against the registry."""
    text = expr if isinstance(expr, str) else ""
    node = parse_expression(expr) if isinstance(expr, str) else expr
    _check(node, options, text)
    return node


def _check(node: Expr, options: Mapping[str, PicsOption], text: str) -> None:
    match node:
        case Const():
            return
        case Name(name=name, position=pos):
            opt = _option(name, options, text, pos)
            if opt.kind != "bool":
                raise PicsError(
                    f"{name} is a choice option ({', '.join(opt.choices)}): compare it with "
                    f'== "value"',
                    text,
                    pos,
                )
        case Compare(name=name, value=value, position=pos):
            opt = _option(name, options, text, pos)
            if opt.kind != "choice":
                raise PicsError(f"{name} is a bool option: use it without == / !=", text, pos)
            if value not in opt.choices:
                raise PicsError(
                    f"{value!r} is not a value of {name} (one of {', '.join(opt.choices)})",
                    text,
                    pos,
                )
        case Not(operand=operand):
            _check(operand, options, text)
        case And(operands=ops) | Or(operands=ops):
            for o in ops:
                _check(o, options, text)


def _option(name: str, options: Mapping[str, PicsOption], text: str, pos: int) -> PicsOption:
    opt = options.get(name)
    if opt is None:
        near = sorted(n for n in options if n.rsplit(".", 1)[-1] == name.rsplit(".", 1)[-1])
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise PicsError(f"unknown PICS option {name!r}{hint}", text, pos)
    return opt


def evaluate(
    expr: Expr | str,
    pics: Mapping[str, PicsValue],
    options: Mapping[str, PicsOption] = PICS_OPTIONS,
) -> bool:
    """Evaluate an expression; names missing from ``pics`` take the option default."""
    node = check_expression(expr, options)
    return _eval(node, pics, options)


def _value(
    name: str, pics: Mapping[str, PicsValue], options: Mapping[str, PicsOption]
) -> PicsValue:
    if name in pics:
        return pics[name]
    return options[name].default


def _eval(node: Expr, pics: Mapping[str, PicsValue], options: Mapping[str, PicsOption]) -> bool:
    match node:
        case Const(value=const):
            return const
        case Name(name=name):
            flag = _value(name, pics, options)
            if not isinstance(flag, bool):
                raise PicsError(f"PICS {name} must be true or false, got {flag!r}")
            return flag
        case Compare(name=name, op=op, value=expected):
            choice = _value(name, pics, options)
            if not isinstance(choice, str):
                raise PicsError(f"PICS {name} must be a string, got {choice!r}")
            return (choice == expected) if op == "==" else (choice != expected)
        case Not(operand=operand):
            return not _eval(operand, pics, options)
        case And(operands=ops):
            return all(_eval(o, pics, options) for o in ops)
        case Or(operands=ops):
            return any(_eval(o, pics, options) for o in ops)
    raise AssertionError(node)  # pragma: no cover
