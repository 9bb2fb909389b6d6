"""DispatchTable: which worker owns a request the SUT sent to the tool's one address."""

from __future__ import annotations

import pytest

from conformance.protocol.sip.dispatch import Claim, DispatchTable, user_key
from conformance.protocol.sip.message import SipRequest, build_request

ALICE = "sip:alice@reference.test"
BOB = "sip:bob@reference.test"
CAROL = "sip:carol@reference.test"
DAVE = "sip:dave@reference.test"
INSTANCE_A = "urn:uuid:00000000-0000-0000-0000-00000000000a"
INSTANCE_B = "urn:uuid:00000000-0000-0000-0000-00000000000b"

_counter = iter(range(1_000_000))


def _request(
    uri: str,
    *,
    to: str | None = "sip:nobody@elsewhere.test",
    from_: str | None = "<sip:nobody@elsewhere.test>;tag=1",
    call_id: str | None = None,
    extra: list[tuple[str, str]] | None = None,
    method: str = "INVITE",
) -> SipRequest:
    headers: list[tuple[str, str]] = [("Via", "SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-x")]
    if from_ is not None:
        headers.append(("From", from_))
    if to is not None:
        headers.append(("To", f"<{to}>" if "<" not in to else to))
    headers.append(("Call-ID", call_id or f"call-{next(_counter)}"))
    headers.append(("CSeq", f"1 {method}"))
    headers += extra or []
    return build_request(method, uri, headers)


def _table() -> DispatchTable:
    table = DispatchTable()
    table.claim(
        Claim(
            "gw0",
            frozenset({ALICE, BOB}),
            instances=frozenset({INSTANCE_A}),
            addresses=frozenset({("127.0.0.1", 6000)}),
            xdms=("127.0.0.1", 7000),
        )
    )
    table.claim(
        Claim(
            "gw1",
            frozenset({CAROL, DAVE}),
            instances=frozenset({f"<{INSTANCE_B}>"}),
            addresses=frozenset({("127.0.0.1", 6001)}),
        )
    )
    return table


# -- each rule ------------------------------------------------------------------------
def test_request_uri_address() -> None:
    d = _table().decide(_request("sip:whatever@127.0.0.1:6001;transport=tcp", to=ALICE))
    assert (d.worker, d.rule) == ("gw1", "request-uri-address")


def test_request_uri_address_without_port_is_5060() -> None:
    table = _table()
    table.claim(Claim("gw2", frozenset(), addresses=frozenset({("127.0.0.2", 5060)})))
    d = table.decide(_request("sip:x@127.0.0.2"))
    assert (d.worker, d.rule) == ("gw2", "request-uri-address")


def test_request_uri_user_ignores_port_params_and_host_case() -> None:
    d = _table().decide(_request("sip:carol@Reference.TEST:5070;transport=udp", to=ALICE))
    assert (d.worker, d.rule) == ("gw1", "request-uri-user")


def test_gruu_gr_parameter() -> None:
    uri = f"sip:alice@reference.test;gr={INSTANCE_B}"
    # the AOR is gw0's, but the Request-URI AOR rule comes first
    assert _table().decide(_request(uri)).rule == "request-uri-user"
    d = _table().decide(_request(f"sip:someone@pf.test;gr={INSTANCE_B.upper()}"))
    assert (d.worker, d.rule) == ("gw1", "instance")


def test_accept_contact_instance() -> None:
    ac = f'*;+sip.instance="<{INSTANCE_A}>";require;explicit'
    d = _table().decide(_request("sip:someone@pf.test", extra=[("Accept-Contact", ac)]))
    assert (d.worker, d.rule) == ("gw0", "instance")


def test_claimed_gruu_matches_its_gr() -> None:
    table = DispatchTable()
    table.claim(
        Claim("gw3", frozenset(), instances=frozenset({f"sip:eve@ref.test;gr={INSTANCE_A}"}))
    )
    d = table.decide(_request(f"sip:other@pf.test;gr={INSTANCE_A}"))
    assert (d.worker, d.rule) == ("gw3", "instance")


def test_to() -> None:
    d = _table().decide(_request("sip:conf-factory@cf.test", to=f'"Dave" <{DAVE}>'))
    assert (d.worker, d.rule) == ("gw1", "to")


def test_p_asserted_identity_first_value() -> None:
    pai = [("P-Asserted-Identity", f"<{BOB}>, <{CAROL}>")]
    d = _table().decide(_request("sip:conf-factory@cf.test", extra=pai))
    assert (d.worker, d.rule) == ("gw0", "p-asserted-identity")


def test_from() -> None:
    d = _table().decide(_request("sip:conf-factory@cf.test", from_=f"<{CAROL}>;tag=9"))
    assert (d.worker, d.rule) == ("gw1", "from")


def test_unroutable() -> None:
    d = _table().decide(_request("sip:conf-factory@cf.test"))
    assert (d.worker, d.rule) == (None, "unroutable")


# -- precedence -----------------------------------------------------------------------
def test_precedence_order() -> None:
    """Each rule wins over every later one: a request whose later headers name the
    other worker still goes by the earlier rule."""
    table = _table()
    pai = ("P-Asserted-Identity", f"<{ALICE}>")
    ac = ("Accept-Contact", f'*;+sip.instance="<{INSTANCE_A}>"')
    cases = [
        # request-uri-address beats request-uri-user
        (_request("sip:alice@127.0.0.1:6001", to=ALICE), "gw1", "request-uri-address"),
        # request-uri-user beats instance, to, pai, from
        (
            _request(
                "sip:carol@reference.test",
                to=ALICE,
                from_=f"<{ALICE}>;tag=1",
                extra=[pai, ac],
            ),
            "gw1",
            "request-uri-user",
        ),
        # instance beats to, pai, from
        (
            _request(
                f"sip:x@pf.test;gr={INSTANCE_B}", to=ALICE, from_=f"<{ALICE}>;tag=1", extra=[pai]
            ),
            "gw1",
            "instance",
        ),
        # to beats pai and from
        (_request("sip:x@pf.test", to=CAROL, from_=f"<{ALICE}>;tag=1", extra=[pai]), "gw1", "to"),
        # pai beats from
        (
            _request("sip:x@pf.test", from_=f"<{CAROL}>;tag=1", extra=[pai]),
            "gw0",
            "p-asserted-identity",
        ),
    ]
    for request, worker, rule in cases:
        d = table.decide(request)
        assert (d.worker, d.rule) == (worker, rule), request


def test_learned_call_id_beats_every_other_rule() -> None:
    table = _table()
    first = table.decide(_request("sip:alice@reference.test", call_id="dialog-1"))
    assert first.worker == "gw0"
    # an in-dialog request with a Request-URI at gw1's address still follows the dialog
    d = table.decide(_request("sip:carol@127.0.0.1:6001", call_id="dialog-1", to=CAROL))
    assert (d.worker, d.rule) == ("gw0", "call-id")


def test_unroutable_learns_nothing() -> None:
    table = _table()
    assert table.decide(_request("sip:x@pf.test", call_id="lost")).worker is None
    assert table.learned_call_ids == 0
    table.claim(Claim("gw2", frozenset({"sip:x@pf.test"})))
    assert table.decide(_request("sip:x@pf.test", call_id="lost")).rule == "request-uri-user"


# -- claims ---------------------------------------------------------------------------
def test_latest_claim_wins_and_replaces() -> None:
    table = _table()
    assert table.owner_of_user(CAROL) == "gw1"
    # the serial group re-claims the whole pool on one worker
    table.claim(Claim("gw0", frozenset({ALICE, BOB, CAROL, DAVE})))
    assert {table.owner_of_user(u) for u in (ALICE, BOB, CAROL, DAVE)} == {"gw0"}
    # gw0's replaced claim dropped its instance and address
    assert table.decide(_request("sip:x@127.0.0.1:6000")).worker is None
    assert table.decide(_request(f"sip:x@pf.test;gr={INSTANCE_A}")).worker is None
    claim = table.claim_of("gw0")
    assert claim is not None and claim.xdms is None and CAROL in claim.users
    # gw1 claims again: now its users are gw1's again
    table.claim(Claim("gw1", frozenset({CAROL})))
    assert table.owner_of_user(CAROL) == "gw1"
    assert table.owner_of_user(DAVE) == "gw0"


def test_owner_of_user_accepts_name_addr_and_case() -> None:
    table = _table()
    assert table.owner_of_user(f'"Alice" <{ALICE}>;tag=3') == "gw0"
    assert table.owner_of_user("sip:alice@REFERENCE.test") == "gw0"
    assert table.owner_of_user("sip:Alice@reference.test") is None  # user part is exact
    assert table.owner_of_user("not a uri") is None


def test_release_forgets_claim_and_call_ids() -> None:
    table = _table()
    table.decide(_request(ALICE, call_id="d-alice"))
    table.decide(_request(CAROL, call_id="d-carol"))
    table.release("gw0")
    assert table.claim_of("gw0") is None
    assert table.owner_of_user(ALICE) is None
    d = table.decide(_request("sip:x@pf.test", call_id="d-alice"))
    assert (d.worker, d.rule) == (None, "unroutable")
    assert table.decide(_request("sip:x@pf.test", call_id="d-carol")).worker == "gw1"
    table.release("gw-unknown")  # no error


def test_call_id_learning_is_bounded_lru() -> None:
    table = DispatchTable(call_id_limit=3)
    table.claim(Claim("gw0", frozenset({ALICE})))
    for n in range(3):
        table.decide(_request(ALICE, call_id=f"c{n}"))
    # touch c0: now c1 is the least recently used
    assert table.decide(_request("sip:x@pf.test", call_id="c0")).rule == "call-id"
    table.decide(_request(ALICE, call_id="c3"))
    assert table.learned_call_ids == 3
    assert table.decide(_request("sip:x@pf.test", call_id="c1")).rule == "unroutable"
    assert table.decide(_request("sip:x@pf.test", call_id="c0")).rule == "call-id"
    assert table.decide(_request("sip:x@pf.test", call_id="c3")).rule == "call-id"


# -- hostile input --------------------------------------------------------------------
@pytest.mark.parametrize(
    "request_",
    [
        _request("sip:x@pf.test", to=None, from_=None),
        _request("not-a-uri", to="garbage", from_="<<<;tag="),
        _request("sip:@@@:99999", to="<sip:unterminated", from_='"open quote <sip:a@b>'),
        _request("sip:x@pf.test;gr", extra=[("Accept-Contact", "no-star;+sip.instance")]),
        _request("sip:x@pf.test", extra=[("Accept-Contact", '*;+sip.instance="<urn:open')]),
        _request("sip:x@pf.test", extra=[("P-Asserted-Identity", ",,,")]),
        _request("sip:x@pf.test", extra=[("P-Asserted-Identity", "")]),
        _request("sip:x@pf.test", extra=[("To", f"<{ALICE}>")]),  # two To lines
        _request("", to="", from_=""),
        _request("sips:[::1", to="tel:+1;;;"),
    ],
)
def test_hostile_requests_never_raise(request_: SipRequest) -> None:
    d = _table().decide(request_)
    assert d.worker is None or d.worker in ("gw0", "gw1")
    assert d.rule in {
        "request-uri-address",
        "request-uri-user",
        "instance",
        "to",
        "p-asserted-identity",
        "from",
        "unroutable",
    }


def test_hostile_headers_fall_through_to_a_later_rule() -> None:
    """A To that does not parse does not stop the From rule."""
    d = _table().decide(_request("sip:x@pf.test", to="<sip:unterminated", from_=f"<{DAVE}>"))
    assert (d.worker, d.rule) == ("gw1", "from")


def test_no_call_id_decides_but_learns_nothing() -> None:
    table = _table()
    request = build_request(
        "MESSAGE", ALICE, [("Via", "SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-1"), ("CSeq", "1 X")]
    )
    assert table.decide(request).worker == "gw0"
    assert table.learned_call_ids == 0


def test_user_key() -> None:
    assert user_key("<sip:a@B.test:5060;transport=tcp>") == "sip:a@b.test"
    assert user_key("tel:+123") == "tel:+123"
    assert user_key("garbage") is None
