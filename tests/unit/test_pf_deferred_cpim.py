"""The reference PF's CPIM To of stored messages (seed 000 5.2.3.5, PF-5.2.3.5-CPIM-TO)."""

from __future__ import annotations

from conformance.documents.cpim import build_cpim, new_cpim, parse_cpim
from conformance.reference.pf.deferred_cpim import actual_recipients, sender_of, with_recipients

ALICE, BOB, CAROL = "sip:alice@x.test", "sip:bob@x.test", "sip:carol@x.test"


def _chat(content_type: str = "text/plain") -> bytes:
    return build_cpim(
        new_cpim(
            from_=f"<{ALICE}>",
            to="<sip:conf-1@cf.x.test>",
            body=b"hi",
            content_type=content_type,
            imdn_message_id="m1",
        )
    )


def test_recipients_are_the_participants_without_the_sender() -> None:
    assert actual_recipients([ALICE, BOB, CAROL], BOB, ALICE) == [BOB, CAROL]
    assert actual_recipients([ALICE, CAROL], BOB, ALICE) == [CAROL, BOB]
    assert actual_recipients([], BOB, None) == [BOB]


def test_one_to_per_recipient_other_headers_kept() -> None:
    body = _chat()
    assert sender_of(body, "message/cpim") == ALICE
    out = parse_cpim(with_recipients(body, "message/cpim", [BOB, CAROL]))
    assert out.to_uris == (BOB, CAROL)
    assert out.from_uri == ALICE
    assert out.imdn_message_id == "m1"
    assert out.body == b"hi"
    assert [h.local_name for h in out.headers][:3] == ["From", "To", "To"]


def test_imdn_other_types_and_garbage_unchanged() -> None:
    imdn = _chat("message/imdn+xml")
    assert with_recipients(imdn, "message/cpim", [BOB]) == imdn
    assert with_recipients(b"plain", "text/plain", [BOB]) == b"plain"
    assert with_recipients(b"\x00not cpim", "message/cpim", [BOB]) == b"\x00not cpim"
    assert sender_of(b"\x00", "message/cpim") is None
