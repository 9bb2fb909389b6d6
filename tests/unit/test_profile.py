"""SUT profile loading and validation (catalog/profile.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from conformance.catalog.model import Role
from conformance.catalog.profile import (
    OBSERVE_FLOOR,
    ProfileError,
    ProfileTimers,
    Target,
    UpperTesterMode,
    default_observe,
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


# --------------------------------------------------------------------------- observation window


def test_observe_default_is_four_t1_above_a_floor(tmp_path: Path) -> None:
    """No ``timers.observe``: ``max(4*T1, 0.25 s)`` (docs/timers.md)."""
    scaled = load_profile(write(tmp_path, GOOD)).pixit.timers
    assert scaled.observe is None
    assert scaled.observe_window == pytest.approx(OBSERVE_FLOOR)  # 4*0.02 = 0.08 < floor
    text = GOOD.replace("t1 = 0.02", "t1 = 0.5").replace("t2 = 0.16", "t2 = 4.0")
    rfc = load_profile(write(tmp_path, text)).pixit.timers
    assert rfc.observe_window == pytest.approx(4 * 0.5)
    assert default_observe(0.1) == pytest.approx(0.4)
    assert default_observe(0.05) == pytest.approx(OBSERVE_FLOOR)
    assert ProfileTimers().observe_window == pytest.approx(2.0)  # the RFC 3261 T1


def test_observe_from_the_profile(tmp_path: Path) -> None:
    text = GOOD.replace("t4 = 0.2", "t4 = 0.2\nobserve = 0.8")
    timers = load_profile(write(tmp_path, text)).pixit.timers
    assert timers.observe == timers.observe_window == pytest.approx(0.8)
    whole = GOOD.replace("t4 = 0.2", "t4 = 0.2\nobserve = 1")  # an integer is seconds too
    assert load_profile(write(tmp_path, whole)).pixit.timers.observe_window == 1.0


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('"soon"', "expected a number of seconds, got a string"),
        ("true", "expected a number of seconds, got a boolean"),
        ("0", "must be > 0, got 0"),
        ("-1.5", "must be > 0, got -1.5"),
        # 64*T1 = 1.28 s at T1 = 0.02: a window past Timer B/F observes nothing more
        ("1.5", "must be <= 64*timers.t1 (1.28 s, Timer B/F), got 1.5"),
    ],
)
def test_observe_problems(tmp_path: Path, value: str, problem: str) -> None:
    lines = problems(tmp_path, GOOD.replace("t4 = 0.2", f"t4 = 0.2\nobserve = {value}"))
    assert len(lines) == 1  # one line, naming the key
    assert ": timers.observe: " in lines[0] and problem in lines[0], lines


def test_observe_bound_not_judged_against_a_bad_t1(tmp_path: Path) -> None:
    """A bad T1 is the one problem: the window is not also judged against its default."""
    text = GOOD.replace("t1 = 0.02", 't1 = "fast"').replace("t4 = 0.2", "t4 = 0.2\nobserve = 40")
    lines = problems(tmp_path, text)
    assert [line.split(": ")[1] for line in lines] == ["timers.t1"]


def test_guards_derive_from_the_timers() -> None:
    """``guards.sip`` = 64*T1 + margin, ``guards.msrp`` = the MSRP transaction timeout +
    margin, ``guards.observe`` = the observation window (no margin: its floor is one)."""
    from conformance.fixtures.network import MARGIN, Guards

    ref = load_sut("reference").pixit
    guards = Guards.of(ref)
    assert guards.sip == pytest.approx(64 * ref.timers.t1 + MARGIN)
    assert guards.msrp == pytest.approx(ref.timers.msrp_transaction_timeout + MARGIN)
    assert guards.observe == pytest.approx(ref.timers.observe_window)
    assert guards.observe < guards.sip  # the point: absence is not a transaction timeout
    vendor = replace(ref, timers=ProfileTimers(t1=0.5, t2=4.0, t4=5.0))
    assert Guards.of(vendor).observe == pytest.approx(2.0)
    slow = replace(ref, timers=ProfileTimers(t1=0.5, observe=6.0))
    assert Guards.of(slow).observe == pytest.approx(6.0)
    assert Guards.of(slow).sip == pytest.approx(33.0)
