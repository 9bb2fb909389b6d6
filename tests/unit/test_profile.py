"""SUT profile loading and validation (catalog/profile.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.catalog.model import Role
from conformance.catalog.profile import (
    ProfileError,
    Target,
    UpperTesterMode,
    load_profile,
    load_sut,
    reference_profile_path,
)
from conformance.protocol.sip.timers import Transport

GOOD = """
[sut]
name = "ACME PF"
roles = ["pf"]
[sut.pf]
host = "192.0.2.10"
port = 5070
transport = "tcp"
[tool]
host = "192.0.2.1"
[uris]
pf = "sip:pf.example.net"
deferred_msg_mgmt = "sip:deferred@pf.example.net"
conference_factory = "sip:cf@example.net"
unauthorised_user = "sip:mallory@example.net"
[[users]]
uri = "sip:bob@example.net"
clients = ["urn:uuid:1", "sip:bob@example.net;gr=urn:uuid:2"]
[timers]
t1 = 0.02
t2 = 0.16
t4 = 0.2
msrp_transaction_timeout = 1.5
[message_store]
url = "imap://conf%40x:s3cret@192.0.2.11:1143/INBOX"
[xdms.preferences."sip:bob@example.net"]
allow-offline-storage = true
[upper_tester]
url = "http://127.0.0.1:8080"
timeout = 3
[pics]
"pf.media_path" = false
"pf.pps_other_policy" = "configuration"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "sut.toml"
    p.write_text(text, encoding="utf-8")
    return p


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    for line in info.value.lines():
        assert line.startswith(str(path) + ": ")  # every problem names the file
    return info.value.lines()


def test_good_profile(tmp_path: Path) -> None:
    p = load_profile(write(tmp_path, GOOD))
    assert p.name == "ACME PF" and p.target is Target.EXTERNAL and p.roles == (Role.PF,)
    addr = p.pixit.sut[Role.PF]
    assert (addr.host, addr.port, addr.transport) == ("192.0.2.10", 5070, Transport.TCP)
    assert p.pixit.tool_port == 0
    assert p.pixit.user("sip:bob@example.net").clients[1].endswith("gr=urn:uuid:2")
    assert p.pixit.timers.sip.b == pytest.approx(64 * 0.02)
    assert p.pixit.timers.msrp_transaction_timeout == 1.5
    ms = p.pixit.message_store
    assert (ms.kind, ms.host, ms.port, ms.user, ms.password, ms.path) == (
        "imap",
        "192.0.2.11",
        1143,
        "conf@x",
        "s3cret",
        "INBOX",
    )
    assert p.pixit.xdms.preferences["sip:bob@example.net"]["allow-offline-storage"] is True
    assert p.pixit.upper_tester.mode is UpperTesterMode.HTTP
    assert p.pics["pf.media_path"] is False
    assert p.pics["pf.pps_other_policy"] == "configuration"
    assert p.pics["role.pf"] is True and p.pics["role.cf"] is False
    assert p.pics["pf.deferred_delivery"] is True  # a default
    with pytest.raises(AttributeError):
        p.name = "x"  # type: ignore[misc]


def test_reference_and_template_profiles_are_valid() -> None:
    ref = load_sut("reference")
    assert ref.target is Target.REFERENCE and ref.path == str(reference_profile_path())
    assert set(ref.roles) == set(Role)
    template = reference_profile_path().with_name("vendor-template.toml")
    assert load_profile(template).pixit.upper_tester.mode is UpperTesterMode.MANUAL


@pytest.mark.parametrize(
    ("url", "kind", "path"),
    [
        ("maildir:/var/mail/x", "maildir", "/var/mail/x"),
        ("/srv/store", "maildir", "/srv/store"),
        ("imaps://h/", "imap", ""),
    ],
)
def test_store_urls(tmp_path: Path, url: str, kind: str, path: str) -> None:
    text = GOOD.replace('url = "imap://conf%40x:s3cret@192.0.2.11:1143/INBOX"', f'url = "{url}"')
    ms = load_profile(write(tmp_path, text)).pixit.message_store
    assert (ms.kind, ms.path) == (kind, path)


def test_missing_and_not_toml(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no such file"):
        load_profile(tmp_path / "nope.toml")
    lines = problems(tmp_path, "[sut\n")
    assert "invalid TOML" in lines[0]


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        (
            '"pf.media_path" = false',
            '"pf.media_pth" = false',
            "pics.pf.media_pth",
            "unknown PICS option",
        ),
        (
            '"pf.media_path" = false',
            '"media_path" = false',
            "pics.media_path",
            "did you mean pf.media_path",
        ),
        (
            '"pf.media_path" = false',
            '"pf.media_path" = "yes"',
            "pics.pf.media_path",
            "expected true or false",
        ),
        (
            '"pf.pps_other_policy" = "configuration"',
            '"pf.pps_other_policy" = "sometimes"',
            "pics.pf.pps_other_policy",
            "expected one of accept-contact, configuration",
        ),
        ('transport = "tcp"', 'transport = "sctp"', "sut.pf.transport", "expected udp or tcp"),
        ("port = 5070", "port = 70000", "sut.pf.port", "out of range"),
        ("t1 = 0.02", 't1 = "fast"', "timers.t1", "expected a number"),
        ("t2 = 0.16", "t2 = 0.01", "timers.t2", "must be >= timers.t1"),
        ('roles = ["pf"]', 'roles = ["pf", "bf"]', "sut.roles[1]", "unknown role 'bf'"),
        (
            'uri = "sip:bob@example.net"',
            'uri = "bob@example.net"',
            "users[0].uri",
            "expected a sip:, sips: or tel: URI",
        ),
        ('url = "http://127.0.0.1:8080"', 'url = "ftp://x"', "upper_tester.url", "manual"),
        (
            'url = "imap://conf%40x:s3cret@192.0.2.11:1143/INBOX"',
            'url = "http://x/"',
            "message_store.url",
            "expected imap://",
        ),
        ("[tool]", "[tool]\nlisten = 1", "tool.listen", "unknown key"),
        ('"pf.media_path" = false', '"role.cf" = true', "pics.role.cf", "contradicts sut.roles"),
    ],
)
def test_problems_name_file_key_and_problem(
    tmp_path: Path, old: str, new: str, key: str, problem: str
) -> None:
    assert old in GOOD
    lines = problems(tmp_path, GOOD.replace(old, new, 1))
    assert any(f": {key}: " in line and problem in line for line in lines), lines


def test_external_sut_needs_address_per_role(tmp_path: Path) -> None:
    text = GOOD.replace('roles = ["pf"]', 'roles = ["pf", "cf"]')
    lines = problems(tmp_path, text)
    assert any(": sut.cf: missing" in line for line in lines)


def test_all_problems_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("port = 5070", "port = -1").replace("t1 = 0.02", "t1 = 0")
    assert len(problems(tmp_path, text)) == 2
