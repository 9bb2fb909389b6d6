"""RFC 4575 conference-info: parse, build, CPM extension forms and partial-state merge."""

from __future__ import annotations

import pytest

from conformance.documents.conference_info import (
    Applied,
    ConferenceDescription,
    ConferenceInfo,
    ConferenceState,
    DocState,
    Endpoint,
    EndpointStatus,
    FileInfo,
    Icon,
    IconUri,
    Media,
    Stale,
    SubjectExt,
    User,
    VersionGap,
    build_conference_info,
    parse_conference_info,
    validate_conference_info,
)
from conformance.errors import DocumentError

FOCUS = "sip:conf-7d2f@cf.example.net;gr=urn:uuid:1234"

#: a full initial NOTIFY body as a CPM Controlling Function sends it
FULL_V1 = f"""<?xml version="1.0" encoding="UTF-8"?>
<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"
    entity="{FOCUS}" state="full" version="1">
  <conference-description>
    <subject>Friday lunch</subject>
    <keywords>Closed</keywords>
    <maximum-user-count>20</maximum-user-count>
    <subject-ext>
      <participant>sip:alice@example.net</participant>
      <timestamp>2026-11-21T10:24:11Z</timestamp>
    </subject-ext>
    <icon>
      <source><icon-uri>https://files.example.net/icon/42</icon-uri></source>
      <participant>sip:bob@example.net</participant>
      <timestamp>2026-11-21T10:25:00Z</timestamp>
    </icon>
  </conference-description>
  <conference-state><user-count>3</user-count><active>true</active></conference-state>
  <users>
    <user entity="sip:alice@example.net" state="full">
      <display-text>Alice</display-text>
      <roles><entry>Administrator</entry></roles>
      <endpoint entity="sip:alice@example.net;gr=urn:uuid:a1" state="full">
        <status>connected</status>
        <joining-method>dialed-in</joining-method>
        <joining-info><when>2026-11-21T10:20:00Z</when></joining-info>
        <media id="1"><type>message</type><status>sendrecv</status></media>
      </endpoint>
    </user>
    <user entity="sip:bob@example.net" state="full" yourown="true" joined="true">
      <display-text>Bob</display-text>
      <endpoint entity="sip:bob@example.net" state="full"><status>connected</status></endpoint>
    </user>
    <user entity="tel:+15550100" state="full">
      <display-text>Carol</display-text>
      <endpoint entity="tel:+15550100"><status>connected</status></endpoint>
    </user>
  </users>
</conference-info>
""".encode()


def partial(version: int, users: str, extra: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"
    entity="{FOCUS}" state="partial" version="{version}">{extra}<users>{users}</users>
</conference-info>""".encode()


def test_parse_full_notify() -> None:
    ci = parse_conference_info(FULL_V1)
    assert ci.entity == FOCUS
    assert ci.state is DocState.FULL
    assert ci.version == 1
    assert ci.raw == FULL_V1
    d = ci.description
    assert d is not None
    assert d.subject == "Friday lunch"
    assert d.keywords == ("Closed",)
    assert d.maximum_user_count == 20
    assert d.subject_ext == SubjectExt("sip:alice@example.net", "2026-11-21T10:24:11Z")
    assert d.icon == Icon(
        source=IconUri("https://files.example.net/icon/42"),
        participant="sip:bob@example.net",
        timestamp="2026-11-21T10:25:00Z",
    )
    assert ci.conference_state is not None and ci.conference_state.user_count == 3
    assert [u.entity for u in ci.users] == [
        "sip:alice@example.net",
        "sip:bob@example.net",
        "tel:+15550100",
    ]
    alice = ci.users[0]
    assert alice.roles == ("Administrator",)
    assert alice.yourown is None
    ep = alice.endpoints[0]
    assert ep.status == EndpointStatus.CONNECTED
    assert ep.joining_info is not None and ep.joining_info.when == "2026-11-21T10:20:00Z"
    assert ep.media == (Media(id="1", type="message", status="sendrecv"),)
    bob = ci.user("sip:bob@example.net")
    assert bob is not None and bob.yourown is True and bob.joined is True


def test_round_trip_is_stable() -> None:
    ci = parse_conference_info(FULL_V1)
    built = build_conference_info(ci)
    assert parse_conference_info(built) == ci
    assert build_conference_info(parse_conference_info(built)) == built


def test_built_document_is_schema_valid_with_extensions_tolerated() -> None:
    ci = parse_conference_info(FULL_V1)
    assert validate_conference_info(build_conference_info(ci)) == ()
    assert validate_conference_info(FULL_V1) == ()


def test_validation_reports_rfc_violations() -> None:
    bad = FULL_V1.replace(b"<status>connected</status>", b"<status>chatting</status>", 1)
    errors = validate_conference_info(bad)
    assert errors and "chatting" in " ".join(errors)
    # the parser keeps the value as sent so a check can report it
    ci = parse_conference_info(bad)
    assert ci.users[0].endpoints[0].status == "chatting"


@pytest.mark.parametrize(
    "user_xml",
    [
        '<user entity="sip:b@x" yourown="true" joined="false"/>',
        '<user xmlns:ci="urn:ietf:params:xml:ns:conference-info" entity="sip:b@x" '
        'ci:yourown="true" ci:joined="false"/>',
        '<user entity="sip:b@x"><yourown>true</yourown><joined>false</joined></user>',
        '<user entity="sip:b@x"><yourown xmlns="">1</yourown><joined xmlns="">0</joined></user>',
    ],
)
def test_yourown_and_joined_forms(user_xml: str) -> None:
    doc = (
        f'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="{FOCUS}">'
        f"<users>{user_xml}</users></conference-info>"
    ).encode()
    u = parse_conference_info(doc).users[0]
    assert (u.yourown, u.joined) == (True, False)


@pytest.mark.parametrize(
    "desc",
    [
        # seed 003 form: <icon><source>...</source>
        "<icon><source><icon-uri>http://i/1</icon-uri></source>"
        "<participant>sip:p@x</participant><timestamp>T</timestamp></icon>",
        # direct icon-uri
        "<icon><icon-uri>http://i/1</icon-uri><participant>sip:p@x</participant>"
        "<timestamp>T</timestamp></icon>",
        # unqualified extension elements
        '<icon xmlns=""><icon-uri>http://i/1</icon-uri><participant>sip:p@x</participant>'
        "<timestamp>T</timestamp></icon>",
        # source given as text
        "<icon><source>http://i/1</source><participant>sip:p@x</participant>"
        "<timestamp>T</timestamp></icon>",
    ],
)
def test_icon_forms(desc: str) -> None:
    doc = (
        f'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="{FOCUS}">'
        f"<conference-description>{desc}</conference-description></conference-info>"
    ).encode()
    d = parse_conference_info(doc).description
    assert d is not None
    assert d.icon == Icon(IconUri("http://i/1"), "sip:p@x", "T")


def test_icon_with_empty_source_and_file_info() -> None:
    doc = (
        f'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="{FOCUS}">'
        "<conference-description><icon><source/><participant>sip:p@x</participant></icon>"
        "</conference-description></conference-info>"
    ).encode()
    d = parse_conference_info(doc).description
    assert d is not None and d.icon is not None
    assert d.icon.source is None and d.icon.empty_source
    assert parse_conference_info(build_conference_info(parse_conference_info(doc))) == (
        parse_conference_info(doc)
    )

    fi = (
        '<file-info xmlns="urn:gsma:params:xml:ns:rcs:rcs:fthttp" type="file">'
        '<data url="https://ft.example.net/f/9" until="2026-12-01T00:00:00Z"/></file-info>'
    )
    doc2 = (
        f'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="{FOCUS}">'
        f"<conference-description><icon><source>{fi}</source></icon>"
        "</conference-description></conference-info>"
    ).encode()
    ci = parse_conference_info(doc2)
    assert ci.description is not None and ci.description.icon is not None
    src = ci.description.icon.source
    assert isinstance(src, FileInfo)
    assert b"https://ft.example.net/f/9" in src.xml
    assert parse_conference_info(build_conference_info(ci)) == ci


def test_subject_ext_at_root_is_accepted() -> None:
    doc = (
        f'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="{FOCUS}">'
        "<subject-ext><participant>sip:a@x</participant><timestamp>T</timestamp></subject-ext>"
        "</conference-info>"
    ).encode()
    d = parse_conference_info(doc).description
    assert d is not None and d.subject_ext == SubjectExt("sip:a@x", "T")


def test_role_element_form() -> None:
    doc = (
        f'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="{FOCUS}">'
        '<users><user entity="sip:a@x"><role>Administrator</role></user></users>'
        "</conference-info>"
    ).encode()
    assert parse_conference_info(doc).users[0].roles == ("Administrator",)


@pytest.mark.parametrize(
    "doc",
    [
        b'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"/>',
        b'<conference-info entity="sip:x"/>',
        b'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:x" '
        b'state="half"/>',
        b'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:x" '
        b'version="-3"/>',
        b'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:x" '
        b'version="one"/>',
        b'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:x">'
        b"<users><user/></users></conference-info>",
        b'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:x">'
        b'<users><user entity="sip:a"/><user entity="sip:a"/></users></conference-info>',
        b'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:x">'
        b'<users><user entity="sip:a" yourown="maybe"/></users></conference-info>',
        b'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:x">'
        b"<conference-description><maximum-user-count>lots</maximum-user-count>"
        b"</conference-description></conference-info>",
        b"<conference-info",
    ],
)
def test_invalid_documents_raise_document_error(doc: bytes) -> None:
    with pytest.raises(DocumentError) as exc:
        parse_conference_info(doc)
    assert exc.value.raw is not None


# ---------------------------------------------------------------- subscription state


def test_partial_update_merges_by_entity() -> None:
    state = ConferenceState()
    assert isinstance(state.apply(parse_conference_info(FULL_V1)), Applied)
    # Carol leaves: status disconnected/departed on her endpoint, partial user
    res = state.apply(
        parse_conference_info(
            partial(
                2,
                '<user entity="tel:+15550100" state="partial">'
                '<endpoint entity="tel:+15550100" state="partial">'
                "<status>disconnected</status>"
                "<disconnection-method>departed</disconnection-method></endpoint></user>",
            )
        )
    )
    assert isinstance(res, Applied)
    view = state.view
    assert view is not None and view.version == 2 and view.state is DocState.FULL
    carol = view.user("tel:+15550100")
    assert carol is not None
    assert carol.display_text == "Carol"  # kept from the full state
    assert carol.endpoints[0].status == "disconnected"
    assert carol.endpoints[0].disconnection_method == "departed"
    alice = view.user("sip:alice@example.net")
    assert alice is not None and alice.roles == ("Administrator",)


def test_partial_add_replace_delete_and_description() -> None:
    state = ConferenceState()
    state.apply(parse_conference_info(FULL_V1))
    res = state.apply(
        parse_conference_info(
            partial(
                2,
                '<user entity="sip:dave@example.net" state="full">'
                "<display-text>Dave</display-text></user>"
                '<user entity="sip:alice@example.net" state="deleted"/>'
                '<user entity="sip:bob@example.net" state="full"><display-text>Robert'
                "</display-text></user>",
                extra="<conference-description><subject>Saturday lunch</subject>"
                "</conference-description>",
            )
        )
    )
    assert isinstance(res, Applied)
    view = res.view
    assert [u.entity for u in view.users] == [
        "sip:bob@example.net",
        "tel:+15550100",
        "sip:dave@example.net",
    ]
    bob = view.user("sip:bob@example.net")
    assert bob == User(entity="sip:bob@example.net", display_text="Robert")
    assert view.description is not None
    assert view.description.subject == "Saturday lunch"
    assert view.description.maximum_user_count == 20  # untouched by the partial


def test_full_replaces_everything() -> None:
    state = ConferenceState()
    state.apply(parse_conference_info(FULL_V1))
    full2 = ConferenceInfo(entity=FOCUS, version=2, users=(User("sip:z@x"),))
    res = state.apply(parse_conference_info(build_conference_info(full2)))
    assert isinstance(res, Applied)
    assert [u.entity for u in res.view.users] == ["sip:z@x"]
    assert res.view.description is None


def test_stale_and_gap_do_not_change_the_view() -> None:
    state = ConferenceState()
    state.apply(parse_conference_info(FULL_V1))
    before = state.view
    assert state.apply(parse_conference_info(FULL_V1)) == Stale(current=1, received=1)
    gap = state.apply(parse_conference_info(partial(3, '<user entity="sip:q@x"/>')))
    assert gap == VersionGap(expected=2, received=3)
    assert state.view == before and state.version == 1


def test_partial_before_full_is_a_gap() -> None:
    state = ConferenceState()
    assert state.apply(parse_conference_info(partial(1, ""))) == VersionGap(None, 1)
    assert state.view is None


def test_full_after_gap_applies_and_counts_skipped() -> None:
    state = ConferenceState()
    state.apply(parse_conference_info(FULL_V1))
    res = state.apply(ConferenceInfo(entity=FOCUS, version=5))
    assert isinstance(res, Applied) and res.skipped == 3


def test_deleted_conference() -> None:
    state = ConferenceState()
    state.apply(parse_conference_info(FULL_V1))
    res = state.apply(ConferenceInfo(entity=FOCUS, state=DocState.DELETED, version=2))
    assert isinstance(res, Applied)
    assert state.deleted and state.view is not None and state.view.users == ()


def test_notification_for_other_conference_is_refused() -> None:
    state = ConferenceState()
    state.apply(parse_conference_info(FULL_V1))
    with pytest.raises(DocumentError):
        state.apply(ConferenceInfo(entity="sip:other@x", version=2))


def test_endpoint_and_media_merge() -> None:
    state = ConferenceState()
    base = ConferenceInfo(
        entity=FOCUS,
        version=1,
        users=(
            User(
                "sip:a@x",
                endpoints=(
                    Endpoint("sip:a@x;1", status="connected", media=(Media("1", type="message"),)),
                    Endpoint("sip:a@x;2", status="connected"),
                ),
            ),
        ),
    )
    state.apply(base)
    upd = ConferenceInfo(
        entity=FOCUS,
        state=DocState.PARTIAL,
        version=2,
        users=(
            User(
                "sip:a@x",
                state=DocState.PARTIAL,
                endpoints=(
                    Endpoint(
                        "sip:a@x;1",
                        state=DocState.PARTIAL,
                        status="on-hold",
                        media=(Media("2", type="audio"),),
                    ),
                    Endpoint("sip:a@x;2", state=DocState.DELETED),
                ),
            ),
        ),
    )
    res = state.apply(parse_conference_info(build_conference_info(upd)))
    assert isinstance(res, Applied)
    (user,) = res.view.users
    (ep,) = user.endpoints
    assert ep.status == "on-hold"
    assert [m.id for m in ep.media] == ["1", "2"]


def test_builder_defaults() -> None:
    doc = build_conference_info(
        ConferenceInfo(
            entity=FOCUS,
            version=7,
            description=ConferenceDescription(subject="s", keywords=("a", "b")),
            users=(User("sip:a@x", yourown=True),),
        )
    )
    assert b'version="7"' in doc and b'yourown="true"' in doc
    assert b"<keywords>a b</keywords>" in doc
    assert validate_conference_info(doc) == ()
