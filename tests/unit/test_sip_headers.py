"""Typed header accessors and their builders (parse/format pairs)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from conformance.errors import RemoteProtocolError
from conformance.protocol.sip import (
    NameAddr,
    SipRequest,
    SipUri,
    anonymity_requested,
    build_request,
    build_sip_uri,
    cpm,
    cpm_release,
    format_contact_preference,
    format_content_disposition,
    format_event,
    format_icsi_ref,
    format_name_addr,
    format_products,
    format_reason,
    format_session_expires,
    format_subscription_state,
    format_uri,
    format_via,
    format_warning,
    get_accept_contact,
    get_asserted_identities,
    get_asserted_services,
    get_call_id,
    get_contacts,
    get_contribution_id,
    get_conversation_id,
    get_in_reply_to_contribution_id,
    get_option_tags,
    get_privacy,
    get_session_replaces,
    get_warnings,
    parse_contact,
    parse_contact_preferences,
    parse_content_disposition,
    parse_content_type,
    parse_event,
    parse_expires,
    parse_min_se,
    parse_name_addr,
    parse_products,
    parse_reason,
    parse_request_disposition,
    parse_service_list,
    parse_session_expires,
    parse_subscription_state,
    parse_uri,
    parse_via,
    parse_warning,
)
from conformance.protocol.sip.headers import VALIDATION_PLAN, VALIDATORS, HasHeaders
from conformance.protocol.sip.message import Headers

ICSI_ENC = "urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session"


def msg(*headers: tuple[str, str]) -> SipRequest:
    base = [
        ("Via", "SIP/2.0/UDP h;branch=z9hG4bK1"),
        ("From", "<sip:alice@example.com>;tag=1"),
        ("To", "<sip:bob@example.com>"),
        ("Call-ID", "c1"),
        ("CSeq", "1 INVITE"),
    ]
    return build_request("INVITE", "sip:bob@example.com", [*base, *headers])


# -- URIs and name-addr --------------------------------------------------------------


def test_sip_uri_parts_and_round_trip() -> None:
    u = parse_uri("sips:al%20ice:pw@[2001:db8::1]:5061;transport=tcp;lr?subject=hi%20there&x=")
    assert (u.scheme, u.user, u.password, u.host, u.port) == (
        "sips",
        "al ice",
        "pw",
        "[2001:db8::1]",
        5061,
    )
    assert u.params == (("transport", "tcp"), ("lr", None))
    assert u.param("LR") == "" and u.param("maddr") is None
    assert u.headers == (("subject", "hi there"), ("x", ""))
    assert parse_uri(format_uri(u)) == SipUri(
        scheme="sips",
        host="[2001:db8::1]",
        user="al ice",
        password="pw",
        port=5061,
        params=u.params,
        headers=u.headers,
        raw=format_uri(u),
    )
    assert u.aor == "sips:al ice@[2001:db8::1]"
    assert build_sip_uri("a b", "h.example.com", port=5060, params=[("lr", None)]) == (
        "sip:a%20b@h.example.com:5060;lr"
    )


def test_tel_and_other_uris() -> None:
    t = parse_uri("tel:+16135551210;phone-context=example.com")
    assert (t.scheme, t.user) == ("tel", "+16135551210")
    assert t.params == (("phone-context", "example.com"),)
    assert str(t) == "tel:+16135551210;phone-context=example.com"
    urn = parse_uri("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
    assert (urn.scheme, urn.opaque) == ("urn", "uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6")


@pytest.mark.parametrize(
    "bad", ["", "sip", "1sip:x", "sip:a@", "sip:a@b:99999", "sip:%zz@b", "sip:a@b;p=%", "tel:"]
)
def test_invalid_uris(bad: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_uri(bad)


def test_name_addr_forms() -> None:
    n = parse_name_addr('"Alice \\"A\\"" <sip:alice@example.com;transport=tcp>;tag=x;foo')
    assert n == NameAddr(
        uri="sip:alice@example.com;transport=tcp",
        display_name='Alice "A"',
        params=(("tag", "x"), ("foo", None)),
    )
    assert n.tag == "x" and n.sip_uri.param("transport") == "tcp"
    spec = parse_name_addr("sip:bob@example.com;tag=9")
    assert (spec.uri, spec.tag, spec.bracketed) == ("sip:bob@example.com", "9", False)
    assert parse_name_addr("Bob Smith<sip:b@h>").display_name == "Bob Smith"
    assert format_name_addr("sip:a@h", "Alice A", [("tag", "1")]) == "Alice A <sip:a@h>;tag=1"
    assert format_name_addr("sip:a@h", "A, B") == '"A, B" <sip:a@h>'
    assert format_name_addr("sip:a@h", bracketed=False) == "sip:a@h"
    assert parse_name_addr(str(n)) == n


@pytest.mark.parametrize(
    "bad",
    [
        '"open <sip:a@h>',
        "Bell, A <sip:a@h>",
        "< sip:a@h >",
        "sip:a@h?x=y",
        "<sip:a@h>;;",
        "<sip:a@h",
        "",
    ],
)
def test_invalid_name_addr(bad: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_name_addr(bad)


# -- Via -------------------------------------------------------------------------------


def test_via() -> None:
    [a, b] = parse_via(
        "SIP/2.0/udp 192.0.2.1:5060;branch=z9hG4bK1;rport;received=192.0.2.9 , "
        "SIP / 2.0 / TCP [2001:db8::1];branch=z9hG4bK2"
    )
    assert (a.transport, a.host, a.port, a.branch, a.rport, a.received) == (
        "UDP",
        "192.0.2.1",
        5060,
        "z9hG4bK1",
        "",
        "192.0.2.9",
    )
    assert (b.transport, b.host, b.port, b.branch) == ("TCP", "[2001:db8::1]", None, "z9hG4bK2")
    assert b.sent_by == "[2001:db8::1]"
    text = format_via("tcp", "h.example.com", 5060, branch="z9hG4bKx", params=[("rport", None)])
    assert text == "SIP/2.0/TCP h.example.com:5060;branch=z9hG4bKx;rport"
    [again] = parse_via(text)
    assert again.branch == "z9hG4bKx" and str(again) == text
    for bad in ("SIP/2.0/UDP", "SIP/2.0 h", "HTTP/1.1/TCP h", "SIP/2.0/UDP h;"):
        with pytest.raises(RemoteProtocolError):
            parse_via(bad)


# -- Contact and caller preferences ------------------------------------------------------


def test_contact_feature_params() -> None:
    value = (
        '<sip:bob@192.0.2.4:5060;transport=tcp>;+sip.instance="<urn:uuid:1234>";'
        f'+g.3gpp.icsi-ref="{ICSI_ENC},urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.msg";'
        "expires=600;isfocus;q=0.5"
    )
    [c] = parse_contact(value)
    assert c.icsi_refs == (cpm.ICSI_SESSION, cpm.ICSI_MSG)
    assert c.instance == "<urn:uuid:1234>"
    assert c.expires == 600 and c.isfocus and c.q == "0.5" and not c.is_star
    [star] = parse_contact("*")
    assert star.is_star
    m = msg(("Contact", "<sip:a@h>"), ("m", "<sip:b@h>, <sip:c@h>;expires=0"))
    assert [(c.uri, c.expires) for c in get_contacts(m)] == [
        ("sip:a@h", None),
        ("sip:b@h", None),
        ("sip:c@h", 0),
    ]
    with pytest.raises(RemoteProtocolError):
        parse_contact("<sip:a@h>;expires=4294967296")
    with pytest.raises(RemoteProtocolError):
        parse_contact("*, <sip:a@h>")


def test_icsi_ref_builder_pair() -> None:
    built = format_icsi_ref([cpm.ICSI_SESSION])
    assert built == f'+g.3gpp.icsi-ref="{ICSI_ENC}"'
    two = format_icsi_ref([cpm.ICSI_SESSION, cpm.ICSI_DEFERRED])
    [c] = parse_contact(f"<sip:a@h>;{two}")
    assert c.icsi_refs == (cpm.ICSI_SESSION, cpm.ICSI_DEFERRED)


def test_accept_reject_contact() -> None:
    value = format_contact_preference(
        [format_icsi_ref([cpm.ICSI_SESSION])], require=True, explicit=True
    )
    assert value == f'*;+g.3gpp.icsi-ref="{ICSI_ENC}";require;explicit'
    m = msg(("Accept-Contact", value), ("a", '*;+sip.instance="<urn:uuid:9>";require'))
    [p1, p2] = get_accept_contact(m)
    assert p1.require and p1.explicit and p1.icsi_refs == (cpm.ICSI_SESSION,)
    assert p2.instance == "<urn:uuid:9>" and p2.require and not p2.explicit
    assert p1.feature_params() == (("+g.3gpp.icsi-ref", f'"{ICSI_ENC}"'),)
    [r] = parse_contact_preferences('*;+g.3gpp.icsi-ref="x"')
    assert r.icsi_refs == ("x",)
    with pytest.raises(RemoteProtocolError):
        parse_contact_preferences("<sip:a@h>;require")
    assert parse_request_disposition("fork, Parallel") == ("fork", "parallel")


# -- identity, services, privacy ---------------------------------------------------------


def test_services_identities_privacy() -> None:
    m = msg(
        ("P-Asserted-Service", cpm.ICSI_SESSION_GROUP),
        ("P-Asserted-Identity", '"Alice" <sip:alice@example.com>, <tel:+15551234>'),
        ("Privacy", "id;header"),
    )
    assert get_asserted_services(m) == (cpm.ICSI_SESSION_GROUP,)
    assert [n.uri for n in get_asserted_identities(m)] == ["sip:alice@example.com", "tel:+15551234"]
    assert get_privacy(m) == ("id", "header")
    assert anonymity_requested(m)
    assert parse_service_list(f"{cpm.ICSI_SESSION}, {cpm.ICSI_MSG}") == (
        cpm.ICSI_SESSION,
        cpm.ICSI_MSG,
    )
    with pytest.raises(RemoteProtocolError):
        parse_service_list("not a urn")


def test_anonymity() -> None:
    assert not anonymity_requested(msg())
    assert not anonymity_requested(msg(("Privacy", "none")))
    assert anonymity_requested(msg(("Privacy", "user")))
    anon_from = build_request(
        "INVITE",
        "sip:b@h",
        [("From", '"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1'), ("To", "<sip:b@h>")],
    )
    assert anonymity_requested(anon_from)
    assert anonymity_requested(msg(("P-Asserted-Identity", "<sip:anonymous@anonymous.invalid>")))


# -- products and the CPM release ------------------------------------------------------------


def test_cpm_release_tokens() -> None:
    assert cpm_release("CPM-client/OMA2.0 Acme-Phone/1.2 (build 7)") == ("client", "OMA2.0")
    assert cpm_release("CPM-serv/OMA2.2 RCS-serv/UP_2.3") == ("serv", "OMA2.2")
    assert cpm_release("RCS-client/UP_2.4 CPM-client/OMA2.0") is None
    assert cpm_release("CPM-client") is None
    assert cpm_release("(broken") is None
    products = parse_products("CPM-client/OMA2.2 RCS-client/UP_2.4 (a (nested) comment) x")
    assert [str(p) for p in products] == [
        "CPM-client/OMA2.2",
        "RCS-client/UP_2.4",
        "(a (nested) comment)",
        "x",
    ]
    assert products[2].is_comment
    assert format_products(("CPM-serv", "OMA2.0"), ("Ref", "1"), "(test)") == (
        "CPM-serv/OMA2.0 Ref/1 (test)"
    )
    assert cpm.CPM_CLIENT_RELEASE == "CPM-client/OMA2.0"


# -- Warning, Reason ---------------------------------------------------------------------------


def test_warning_pair() -> None:
    code, text = cpm.WARNING_SERVICE_NOT_AUTHORISED
    value = format_warning(code, "pf.example.com", text)
    assert value == '127 pf.example.com "Service not authorised"'
    [w] = parse_warning(value)
    assert (w.code, w.agent, w.text) == (127, "pf.example.com", "Service not authorised")
    m = msg(("Warning", '399 a.example "x, y", 132 b:5060 "Version not supported"'))
    assert [(w.code, w.text) for w in get_warnings(m)] == [
        (399, "x, y"),
        (132, "Version not supported"),
    ]
    for bad in ('1812 overture "In Progress"', "127 pf.example.com unquoted", '12 a "t"'):
        with pytest.raises(RemoteProtocolError):
            parse_warning(bad)


def test_reason_pair() -> None:
    value = format_reason("SIP", 200, "Call completed")
    assert value == 'SIP;cause=200;text="Call completed"'
    [r] = parse_reason(value)
    assert (r.protocol, r.cause, r.text) == ("SIP", 200, "Call completed")
    [a, b] = parse_reason('Q.850;cause=16, SIP ;cause=487;text="Request, Terminated"')
    assert (a.protocol, a.cause, a.text) == ("Q.850", 16, None)
    assert (b.cause, b.text) == (487, "Request, Terminated")
    with pytest.raises(RemoteProtocolError):
        parse_reason("SIP;cause=abc")


# -- timers, options, events ---------------------------------------------------------------------


def test_session_timers_and_expires() -> None:
    se = parse_session_expires("1800;refresher=UAC")
    assert (se.delta, se.refresher) == (1800, "uac")
    assert format_session_expires(1800, "uas") == "1800;refresher=uas"
    assert parse_session_expires(str(se)).delta == 1800
    assert parse_min_se("90") == 90
    assert parse_expires("0") == 0 and parse_expires("4294967295") == 2**32 - 1
    for bad in ("-1", "4294967296", "abc", ""):
        with pytest.raises(RemoteProtocolError):
            parse_expires(bad)
    with pytest.raises(RemoteProtocolError):
        parse_session_expires("1800;refresher=other")
    m = msg(("Supported", "timer, recipient-list-invite"), ("k", "100rel"), ("Require", ""))
    assert get_option_tags(m, "Supported") == ("timer", "recipient-list-invite", "100rel")
    assert get_option_tags(m, "Require") == ()


def test_event_and_subscription_state_pairs() -> None:
    e = parse_event("conference;id=17")
    assert (e.package, e.id) == ("conference", "17")
    assert format_event("conference") == "conference" and str(e) == "conference;id=17"
    s = parse_subscription_state("terminated;reason=noresource;retry-after=30")
    assert (s.state, s.reason, s.expires, s.retry_after) == ("terminated", "noresource", None, 30)
    built = format_subscription_state("active", expires=3600)
    assert built == "active;expires=3600"
    assert parse_subscription_state(built).expires == 3600
    with pytest.raises(RemoteProtocolError):
        parse_event("bad event")


# -- Content-Type, Content-Disposition -------------------------------------------------


def test_content_type_and_disposition_pairs() -> None:
    ct = parse_content_type('multipart/mixed;boundary="b 1";charset=utf-8')
    assert (ct.mime_type, ct.boundary, ct.param("charset")) == ("multipart/mixed", "b 1", "utf-8")
    assert parse_content_type("Application/SDP").mime_type == "application/sdp"
    cd = parse_content_disposition("recipient-list;handling=Optional")
    assert (cd.disposition, cd.handling) == ("recipient-list", "optional")
    assert format_content_disposition("recipient-list-history", [("handling", "required")]) == (
        "recipient-list-history;handling=required"
    )
    with pytest.raises(RemoteProtocolError):
        parse_content_type("text")


# -- CPM headers ----------------------------------------------------------------------------------


def test_cpm_header_getters() -> None:
    m = msg(
        ("Conversation-ID", "f81d4fae"),
        ("Contribution-ID", "abcd"),
        ("InReplyTo-Contribution-ID", "prev"),
        ("Session-Replaces", "old"),
    )
    assert get_conversation_id(m) == "f81d4fae"
    assert get_contribution_id(m) == "abcd"
    assert get_in_reply_to_contribution_id(m) == "prev"
    assert get_session_replaces(m) == "old"
    assert get_contribution_id(msg()) is None
    with pytest.raises(RemoteProtocolError):
        get_contribution_id(msg(("Contribution-ID", "a"), ("contribution-id", "b")))


def test_accessors_read_anything_with_headers_and_raw() -> None:
    """The get_* accessors are typed against HasHeaders, not the message model."""

    @dataclass
    class Stored:
        headers: Headers = field(
            default_factory=lambda: Headers([("Call-ID", "c1"), ("m", "<sip:a@192.0.2.1>")])
        )
        raw: bytes = b""

    stored: HasHeaders = Stored()
    assert get_call_id(stored) == "c1"
    assert [c.uri for c in get_contacts(stored)] == ["sip:a@192.0.2.1"]


def test_one_validation_table() -> None:
    assert dict(VALIDATORS) == {key: plan.check for key, plan in VALIDATION_PLAN.items()}
    for key, plan in VALIDATION_PLAN.items():
        assert plan.fast is None or callable(plan.fast), key
