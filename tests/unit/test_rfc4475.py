"""RFC 4475 SIP torture tests: one test per message file, each with its own assertions.

- 3.1.1 valid messages parse to the right values;
- 3.1.2 invalid messages raise RemoteProtocolError for the right reason (never another
  exception);
- 3.2-3.4 valid syntax: they parse, and where they are semantically invalid the semantic
  accessor raises RemoteProtocolError.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.errors import RemoteProtocolError
from conformance.protocol.sip import (
    SipMessage,
    SipRequest,
    SipResponse,
    StreamParser,
    check_semantics,
    get_contacts,
    get_from,
    get_option_tags,
    get_to,
    get_vias,
    is_rfc3261_branch,
    parse_content_type,
    parse_cseq,
    parse_expires,
    parse_message,
    parse_multipart,
    parse_products,
    parse_sdp,
    parse_uri,
    parse_warning,
    require_single,
)
from conformance.protocol.sip.headers import check_contact, check_retry_after

#: The RFC 4475 torture messages, vendored byte for byte with their INDEX.md.
DATA = Path(__file__).resolve().parents[1] / "data" / "rfc4475"


def load(name: str) -> bytes:
    return (DATA / f"{name}.dat").read_bytes()


def req(name: str) -> SipRequest:
    msg = parse_message(load(name))
    assert isinstance(msg, SipRequest)
    return msg


def resp(name: str) -> SipResponse:
    msg = parse_message(load(name))
    assert isinstance(msg, SipResponse)
    return msg


def vias(msg: SipMessage) -> list[tuple[str, str, str | None]]:
    return [(v.transport, v.host, v.branch) for v in get_vias(msg)]


# ---------------------------------------------------------------------------------------
# 3.1.1 valid messages
# ---------------------------------------------------------------------------------------


def case_wsinv() -> None:
    m = req("wsinv")
    assert m.method == "INVITE"
    assert m.uri == "sip:vivekg@chair-dnrc.example.com;unknownparam"
    assert m.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert m.cseq == (9, "INVITE")
    assert vias(m) == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    to = get_to(m)
    assert (to.uri, to.tag, to.display_name) == (
        "sip:vivekg@chair-dnrc.example.com",
        "1918181833n",
        None,
    )
    frm = get_from(m)
    assert frm.display_name == 'J Rosenberg \\"'
    assert (frm.uri, frm.tag) == ("sip:jdrosen@example.com", "98asjd8")
    assert m.headers.get("max-forwards") == "0068"
    assert m.headers.get("Subject") == ""
    assert m.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert m.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    [contact] = get_contacts(m)
    assert contact.address.display_name == 'Quoted string ""'
    assert contact.params == (("newparam", "newvalue"), ("secondparam", None), ("q", "0.33"))
    assert m.headers.get("Route") == (
        "<sip:services.example.com;lr;unknownwith=value;unknown-no-value>"
    )
    # raw header lines are kept, folding included
    assert m.headers.lines("cseq")[0].raw == b"cseq: 0009\r\n  INVITE"
    assert m.headers.lines("Via")[0].name == "Via  "[:3]
    assert len(m.body) == 150
    assert parse_sdp(m.body).media[1].formats == ("31",)


def case_intmeth() -> None:
    m = req("intmeth")
    method = "!interesting-Method0123456789_*+`.%indeed'~"
    assert m.method == method
    assert m.cseq == (139122385, method)
    assert m.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    uri = parse_uri(m.uri)
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert uri.host == "example.com"
    assert vias(m) == [("TCP", "host1.example.com", "z9hG4bK-.!%66*_+`'~")]
    assert get_to(m).display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    frm = get_from(m)
    assert frm.display_name == "token1~` token2'+_ token3*%!.-"
    assert frm.tag == "_token~1'+`*%!-."
    assert frm.param("fromParam''~+*_!.-%") == "работающий"
    assert m.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff\u5927\u505c\u96fb"
    assert m.headers.get("Max-Forwards") == "255"
    assert m.body == b""


def case_esc01() -> None:
    m = req("esc01")
    assert m.method == "INVITE"
    uri = parse_uri(m.uri)
    assert (uri.user, uri.host) == ("sips:user@example.com", "example.net")
    assert parse_uri(get_to(m).uri).user == "user"
    assert get_to(m).bracketed is False
    frm = get_from(m)
    assert parse_uri(frm.uri).user == "I have spaces"
    assert frm.tag == "938"
    assert m.call_id == "esc01.239409asdfakjkn23onasd0-3234"
    assert m.cseq == (234234, "INVITE")
    assert vias(m) == [("UDP", "host5.example.net", "z9hG4bKkdjuw")]
    assert parse_content_type(m.headers.get("Content-Type") or "").mime_type == "application/sdp"
    [contact] = get_contacts(m)
    curi = parse_uri(contact.uri)
    assert curi.user == "caller"
    assert curi.params == (("lr", None), ("name", "value%41"))
    assert len(m.body) == 150


def case_escnull() -> None:
    m = req("escnull")
    assert (m.method, m.uri) == ("REGISTER", "sip:example.com")
    assert parse_uri(get_to(m).uri).user == "null-\x00-null"
    assert get_from(m).tag == "839923423"
    assert [parse_uri(c.uri).user for c in get_contacts(m)] == ["\x00", "\x00\x00"]
    assert m.call_id == "escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd"
    assert m.cseq == (14398234, "REGISTER")
    assert m.headers.get("Content-Length") == "0"
    assert m.headers.lines("Content-Length")[0].name == "L"
    assert m.body == b""


def case_esc02() -> None:
    m = req("esc02")
    assert m.method == "RE%47IST%45R"
    assert m.cseq == (29344, "RE%47IST%45R")
    assert get_to(m).display_name == "%Z%45"
    assert vias(m) == [("TCP", "host.example.com", "z9hG4bK209%fzsnel234")]
    # C%6Fntact is an unknown header, not a Contact
    assert [c.uri for c in get_contacts(m)] == [
        "sip:alias1@host1.example.com",
        "sip:alias3@host3.example.com",
    ]
    assert m.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"
    assert m.call_id == "esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf"
    assert m.body == b""


def case_lwsdisp() -> None:
    m = req("lwsdisp")
    assert (m.method, m.uri) == ("OPTIONS", "sip:user@example.com")
    frm = get_from(m)
    assert (frm.display_name, frm.uri, frm.tag) == ("caller", "sip:caller@example.com", "323")
    assert m.call_id == "lwsdisp.1234abcd@funky.example.com"
    assert m.cseq == (60, "OPTIONS")
    assert vias(m) == [("UDP", "funky.example.com", "z9hG4bKkdjuw")]
    assert m.body == b""


def case_longreq() -> None:
    m = req("longreq")
    assert m.method == "INVITE"
    to = get_to(m)
    assert to.display_name is not None and to.display_name.startswith("I have a user name of ")
    assert to.display_name.endswith(" proportion")
    turi = parse_uri(to.uri)
    assert turi.port == 6000
    assert turi.params[0][0] == "unknownparam1"
    assert turi.params[-1][0].endswith("ParameterNameWithNoValue")
    assert turi.params[-1][1] is None
    v = vias(m)
    assert len(v) == 34
    assert v[0][1] == "sip33.example.com"
    assert v[32][1] == "sip1.example.com"
    last = get_vias(m)[-1]
    assert last.received == "192.0.2.5"
    assert last.branch is not None and last.branch.endswith("longbranchvalue")
    assert m.call_id is not None and m.call_id.startswith("longreq.onereally")
    assert m.cseq == (3882340, "INVITE")
    [unknown] = [h for h in m.headers if h.name.startswith("Unknown-LongLong")]
    assert unknown.value.startswith("unknown-longlonglong")
    assert len(unknown.value) == 306
    assert m.headers.get(unknown.name) == unknown.value
    assert len(m.body) == 150


def case_dblreq() -> None:
    data = load("dblreq")
    m = parse_message(data)
    assert isinstance(m, SipRequest)
    assert (m.method, m.uri) == ("REGISTER", "sip:example.com")
    assert m.call_id == "dblreq.0ha0isndaksdj99sdfafnl3lk233412"
    assert m.cseq == (8, "REGISTER")
    assert vias(m) == [("UDP", "192.0.2.125", "z9hG4bKkdjuw23492")]
    assert get_contacts(m)[0].uri == "sip:j.user@host.example.com"
    assert m.body == b""
    # the trailing INVITE is not part of this message
    assert m.raw.endswith(b"Content-Length: 0\r\n\r\n")
    assert len(m.raw) < len(data)
    assert b"INVITE" not in m.raw


def case_semiuri() -> None:
    m = req("semiuri")
    uri = parse_uri(m.uri)
    assert (uri.user, uri.host, uri.params) == ("user;par=u@example.net", "example.com", ())
    assert m.call_id == "semiuri.0ha0isndaksdj"
    assert m.cseq == (8, "OPTIONS")
    assert m.headers.values("Accept") == [
        "application/sdp",
        "application/pkcs7-mime",
        "multipart/mixed",
        "multipart/signed",
        "message/sip",
        "message/sipfrag",
    ]
    assert m.headers.get("Max-Forwards") == "3"


def case_transports() -> None:
    m = req("transports")
    assert [v[0] for v in vias(m)] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert [v[1] for v in vias(m)] == [f"t{i}.example.com" for i in range(1, 6)]
    assert vias(m)[3][2] == "z9hG4bKasd0f3en"
    assert m.call_id == "transports.kijh4akdnaqjkwendsasfdj"
    assert m.cseq == (60, "OPTIONS")


def case_mpart01() -> None:
    m = req("mpart01")
    assert (m.method, m.uri) == ("MESSAGE", "sip:kumiko@example.org")
    [via] = get_vias(m)
    assert (via.host, via.port, via.rport) == ("127.0.0.1", 5070, "")
    assert m.call_id == "3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA.."
    assert m.cseq == (1, "MESSAGE")
    assert m.headers.get("Date") == "Sat, 15 Oct 2005 04:44:56 GMT"
    products = parse_products(m.headers.get("User-Agent") or "")
    assert [str(p) for p in products] == ["SIPimp.org/0.2.5", "(curses)"]
    assert len(m.body) == 553
    parts = parse_multipart(m.body, m.headers.get("Content-Type") or "")
    assert [p.mime_type for p in parts] == ["text/plain", "application/octet-stream"]
    assert parts[0].body == b"Hello"
    assert len(parts[1].body) == 553 - 205 - 6  # everything between the delimiters


def case_unreason() -> None:
    m = resp("unreason")
    assert m.status == 200
    assert m.reason.startswith("= 2**3 * 5**2 ")
    assert "\u043f\u0440\u043e\u0441\u0442\u043e\u0435" in m.reason
    assert m.call_id == "unreason.1234ksdfak3j2erwedfsASdf"
    assert m.cseq == (35, "INVITE")
    assert get_to(m).tag == "2229"
    assert vias(m) == [("UDP", "192.0.2.198", "z9hG4bK1324923")]
    assert len(m.body) == 154


def case_noreason() -> None:
    m = resp("noreason")
    assert (m.status, m.reason) == (100, "")
    assert m.call_id == "noreason.asndj203insdf99223ndf"
    assert m.cseq == (35, "INVITE")
    assert get_from(m).tag == "39ansfi3"
    assert vias(m) == [("UDP", "192.0.2.105", "z9hG4bK2398ndaoe")]
    assert m.body == b""


# ---------------------------------------------------------------------------------------
# 3.2 - 3.4 valid syntax (some semantically invalid)
# ---------------------------------------------------------------------------------------


def case_badbranch() -> None:
    m = req("badbranch")
    [via] = get_vias(m)
    assert via.branch == "z9hG4bK"
    assert not is_rfc3261_branch(via.branch)
    assert m.cseq == (8, "OPTIONS")
    check_semantics(m)


def case_insuf() -> None:
    m = req("insuf")
    assert m.cseq == (193942, "INVITE")
    assert m.call_id is None
    assert len(m.body) == 152
    with pytest.raises(RemoteProtocolError, match="missing required header To"):
        check_semantics(m)
    with pytest.raises(RemoteProtocolError, match="missing From"):
        get_from(m)


def case_unkscm() -> None:
    m = req("unkscm")
    uri = parse_uri(m.uri)
    assert (uri.scheme, uri.opaque) == ("nobodyknowsthisscheme", "totallyopaquecontent")
    assert not uri.is_sip
    assert m.call_id == "unkscm.nasdfasser0q239nwsdfasdkl34"
    check_semantics(m)


def case_novelsc() -> None:
    m = req("novelsc")
    uri = parse_uri(m.uri)
    assert (uri.scheme, uri.opaque) == ("soap.beep", "//192.0.2.103:3002")
    assert m.cseq == (3923423, "OPTIONS")
    check_semantics(m)


def case_unksm2() -> None:
    m = req("unksm2")
    assert get_to(m).uri == "isbn:2983792873"
    assert get_from(m).uri == "http://www.example.com"
    assert parse_uri(get_from(m).uri).scheme == "http"
    assert [c.uri for c in get_contacts(m)] == ["name:John_Smith"]
    assert m.call_id == "unksm2.daksdj@hyphenated-host.example.com"
    check_semantics(m)


def case_bext01() -> None:
    m = req("bext01")
    assert get_option_tags(m, "Require") == ("nothingSupportsThis", "nothingSupportsThisEither")
    assert get_option_tags(m, "Proxy-Require") == (
        "noProxiesSupportThis",
        "norDoAnyProxiesSupportThis",
    )
    assert vias(m) == [("TLS", "fold-and-staple.example.com", "z9hG4bKkdjuw")]
    check_semantics(m)


def case_invut() -> None:
    m = req("invut")
    ct = parse_content_type(m.headers.get("Content-Type") or "")
    assert ct.mime_type == "application/unknownformat"
    assert len(m.body) == 40
    assert m.body.startswith(b"<audio>")
    check_semantics(m)


def case_regaut01() -> None:
    m = req("regaut01")
    assert m.headers.get("Authorization") == "NoOneKnowsThisScheme opaque-data=here"
    assert m.headers.get("Content-Length") == "0"
    assert m.cseq == (9338, "REGISTER")
    check_semantics(m)


def case_multi01() -> None:
    m = req("multi01")
    assert m.headers.get_all("CSeq") == ["5 INVITE", "59 INVITE"]
    assert len(m.headers.lines("To")) == 2
    assert len(m.headers.lines("From")) == 2
    assert len(m.headers.lines("Max-Forwards")) == 2
    assert len(m.body) == 154
    with pytest.raises(RemoteProtocolError, match="more than once"):
        check_semantics(m)
    for name in ("CSeq", "Call-ID", "To", "From", "Max-Forwards"):
        with pytest.raises(RemoteProtocolError, match="more than once"):
            require_single(m, name)
    with pytest.raises(RemoteProtocolError):
        get_to(m)


def case_mcl01() -> None:
    data = load("mcl01")
    with pytest.raises(RemoteProtocolError, match="several Content-Length"):
        parse_message(data)
    out = StreamParser().feed(data)
    assert len(out) == 1 and isinstance(out[0], RemoteProtocolError)


def case_bcast() -> None:
    m = resp("bcast")
    assert m.status == 200
    assert vias(m) == [
        ("UDP", "192.0.2.198", "z9hG4bK1324923"),
        ("UDP", "255.255.255.255", "z9hG4bK1saber23"),
    ]
    assert m.cseq == (35, "INVITE")
    check_semantics(m)


def case_zeromf() -> None:
    m = req("zeromf")
    assert m.headers.get("Max-Forwards") == "0"
    assert m.cseq == (39234321, "OPTIONS")
    check_semantics(m)


def case_cparam01() -> None:
    m = req("cparam01")
    [c] = get_contacts(m)
    # addr-spec form: ;unknownparam is a Contact parameter, not a URI parameter
    assert c.uri == "sip:+19725552222@gw1.example.net"
    assert c.params == (("unknownparam", None),)
    assert parse_uri(c.uri).params == ()


def case_cparam02() -> None:
    m = req("cparam02")
    [c] = get_contacts(m)
    assert c.uri == "sip:+19725552222@gw1.example.net;unknownparam"
    assert c.params == ()
    assert parse_uri(c.uri).params == (("unknownparam", None),)


def case_regescrt() -> None:
    m = req("regescrt")
    [c] = get_contacts(m)
    assert parse_uri(c.uri).headers == (("Route", "<sip:sip.example.com>"),)
    assert m.headers.lines("Contact")[0].name == "M"
    assert m.cseq == (14398234, "REGISTER")


def case_sdp01() -> None:
    m = req("sdp01")
    assert m.headers.get("Accept") == "text/nobodyKnowsThis"
    assert len(m.body) == 150
    assert parse_sdp(m.body).connection_address == "192.0.2.5"
    check_semantics(m)


def case_inv2543() -> None:
    m = req("inv2543")
    [via] = get_vias(m)
    assert (via.host, via.branch) == ("iftgw.example.com", None)
    assert not is_rfc3261_branch(via.branch)
    assert m.headers.get("Max-Forwards") is None
    assert m.headers.get("Content-Length") is None
    assert m.body.endswith(b"m=audio 49217 RTP/AVP 0\r\n")  # no Content-Length: to the end
    # addr-spec form: ;user=phone belongs to the To header, not to the URI (RFC 3261 20.10)
    assert get_to(m).param("user") == "phone"
    assert parse_uri(get_to(m).uri).param("user") is None
    assert get_from(m).sip_uri.param("user") == "phone"
    assert m.headers.get("Record-Route") == "<sip:UserB@example.com;maddr=ss1.example.com>"
    assert m.cseq == (56, "INVITE")
    check_semantics(m)


# ---------------------------------------------------------------------------------------
# 3.1.2 invalid messages: the error names the fault; component checks pin each fault
# ---------------------------------------------------------------------------------------


def invalid(name: str, reason: str) -> None:
    data = load(name)
    with pytest.raises(RemoteProtocolError, match=reason):
        parse_message(data)


def case_badinv01() -> None:
    invalid("badinv01", "invalid parameters")
    with pytest.raises(RemoteProtocolError):
        check_contact('"Joe" <sip:joe@example.org>;;;;')


def case_clerr() -> None:
    invalid("clerr", "Content-Length 9999 larger")
    # on a stream, the parser waits for the missing bytes instead of inventing a message
    assert StreamParser().feed(load("clerr")) == []


def case_ncl() -> None:
    invalid("ncl", "invalid Content-Length '-999'")
    out = StreamParser().feed(load("ncl"))
    assert len(out) == 1 and isinstance(out[0], RemoteProtocolError)


def case_scalar02() -> None:
    invalid("scalar02", "Max-Forwards")
    with pytest.raises(RemoteProtocolError, match="out of range"):
        parse_cseq("36893488147419103232 REGISTER")
    with pytest.raises(RemoteProtocolError, match="out of range"):
        parse_expires("1" + "0" * 100)
    with pytest.raises(RemoteProtocolError, match="Contact expires"):
        check_contact("<sip:user@host129.example.com>;expires=280297596632815")


def case_scalarlg() -> None:
    invalid("scalarlg", "Retry-After out of range")
    with pytest.raises(RemoteProtocolError, match="out of range"):
        parse_cseq("9292394834772304023312 OPTIONS")
    with pytest.raises(RemoteProtocolError, match="3-digit code"):
        parse_warning('1812 overture "In Progress"')
    with pytest.raises(RemoteProtocolError):
        check_retry_after("949302838503028349304023988")


def case_quotbal() -> None:
    invalid("quotbal", "unterminated")


def case_ltgtruri() -> None:
    invalid("ltgtruri", "invalid Request-URI '<sip:user@example.com>'")


def case_lwsruri() -> None:
    invalid("lwsruri", "invalid request line")


def case_lwsstart() -> None:
    invalid("lwsstart", "invalid request line")


def case_trws() -> None:
    invalid("trws", "invalid request line")


def case_escruri() -> None:
    invalid("escruri", "headers in a SIP Request-URI")


def case_baddate() -> None:
    invalid("baddate", "invalid Date .*EST")


def case_regbadct() -> None:
    invalid("regbadct", "invalid addr-spec")


def case_badaspec() -> None:
    invalid("badaspec", "invalid URI in <>")


def case_baddn() -> None:
    invalid("baddn", "display name must be tokens or quoted: 'Bell, Alexander'")


def case_badvers() -> None:
    invalid("badvers", "7.0")


def case_mismatch01() -> None:
    invalid("mismatch01", "CSeq method 'INVITE' differs from the request method 'OPTIONS'")


def case_mismatch02() -> None:
    invalid("mismatch02", "CSeq method 'INVITE' differs from the request method 'NEWMETHOD'")


def case_bigcode() -> None:
    invalid("bigcode", "invalid status code")


CHECKS: dict[str, Callable[[], None]] = {
    name[len("case_") :]: fn for name, fn in globals().items() if name.startswith("case_")
}


def test_every_file_has_its_own_check() -> None:
    files = sorted(p.stem for p in DATA.glob("*.dat"))
    assert len(files) == 49
    assert sorted(CHECKS) == files


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_rfc4475(name: str) -> None:
    CHECKS[name]()


VALID = [
    "wsinv",
    "intmeth",
    "esc01",
    "escnull",
    "esc02",
    "lwsdisp",
    "longreq",
    "dblreq",
    "semiuri",
    "transports",
    "mpart01",
    "unreason",
    "noreason",
]


@pytest.mark.parametrize("name", VALID)
def test_valid_round_trip_and_stream(name: str) -> None:
    """The raw bytes are kept, and a stream of the message framed by Content-Length gives
    the same message whatever the chunking."""
    data = load(name)
    msg = parse_message(data)
    assert data.startswith(msg.raw)
    assert msg.to_bytes() == msg.raw
    if msg.headers.get("Content-Length") is not None:
        parser = StreamParser()
        got: list[object] = []
        for i in range(0, len(msg.raw), 7):
            got.extend(parser.feed(msg.raw[i : i + 7]))
        assert len(got) == 1
        assert isinstance(got[0], (SipRequest, SipResponse))
        assert got[0].raw == msg.raw
        assert got[0].headers == msg.headers
