"""The SUT profile: one TOML file holding the PICS and the PIXIT (DESIGN.md vocabulary).

``load_profile(path)`` reads and validates the file and returns a frozen :class:`SutProfile`.
Every problem is reported as ``<file>: <dotted.key>: <problem>`` in one
:class:`ProfileError` (all problems at once, never a traceback). The layout, with every key,
is documented in ``conformance/profiles/vendor-template.toml``::

    [sut]            name, target ("reference" | "external"), roles, faults
    [sut.pf|cf|client]   host, port, transport ("udp" | "tcp")   -- the SUT per role
    [tool]           host, port (0 = choose at run time)          -- where the tool listens
    [uris]           pf, deferred_msg_mgmt, conference_factory, unauthorised_user, isf,
                     [uris.extra]
    [[users]]        uri, clients (instance ids or GRUUs), username, password
    [pool]           users_per_worker (each parallel worker or shard takes a slice of
                     that many [[users]]; default: all of them, one worker)
    [timers]         t1, t2, t4, msrp_transaction_timeout, observe (seconds, floats)
    [message_store]  url ("imap://user:pass@host:port/", "imaps://...", "maildir:/path", a path)
    [xdms]           host, port, root; [xdms.preferences."<user uri>"] name = value
    [upper_tester]   url ("http://host:port" or "manual"), timeout
    [pics]           option = value (validated against catalog.pics.PICS_OPTIONS)
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote, urlsplit

from conformance.catalog.model import Role
from conformance.protocol.sip.timers import Address, Timers, Transport

__all__ = [
    "MessageStore",
    "Pixit",
    "ProfileError",
    "ProfileTimers",
    "SutProfile",
    "Target",
    "UpperTesterConfig",
    "UpperTesterMode",
    "Uris",
    "User",
    "Xdms",
    "load_profile",
    "load_sut",
    "parse_profile",
    "reference_profile_path",
]

PicsValue = bool | str
PrefValue = bool | int | float | str


class ProfileError(Exception):
    """The SUT profile is missing or invalid. ``problems`` holds ``(key, problem)`` pairs."""

    def __init__(self, path: str | Path, problems: list[tuple[str, str]]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem: ``file: key: problem`` (or ``file: problem``)."""
        return [
            f"{self.path}: {key}: {problem}" if key else f"{self.path}: {problem}"
            for key, problem in self.problems
        ]


class Target(StrEnum):
    """What the run is aimed at."""

    REFERENCE = "reference"  #: the embedded reference SUT (started by its fixture)
    EXTERNAL = "external"  #: a vendor's SUT, reached at the profile's addresses


class UpperTesterMode(StrEnum):
    HTTP = "http"  #: the HTTP/JSON interface of docs/upper-tester.md
    MANUAL = "manual"  #: an operator prompt (needs a TTY)
    NONE = "none"  #: no upper tester: checks that need one are inconc


@dataclass(frozen=True, slots=True)
class User:
    """A user the SUT serves, with its clients' instance ids (``urn:uuid:...``) or GRUUs."""

    uri: str
    clients: tuple[str, ...] = ()
    username: str = ""
    password: str = ""


@dataclass(frozen=True, slots=True)
class Uris:
    pf: str = ""  #: the PF's URI
    deferred_msg_mgmt: str = ""  #: CPMDeferredMsgMgmtURI
    conference_factory: str = ""  #: the CF conference-factory URI
    unauthorised_user: str = ""  #: a user the SUT must refuse
    #: the ISF the PF sends non-SIP/TEL destinations to (8.2.1 4.n, 5.c); the tool plays it
    isf: str = ""
    extra: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


#: the default observation window in units of T1: a request the SUT sends over UDP is
#: retransmitted at T1 and 3*T1, so even with its first two copies lost it arrives within
#: 4*T1 (docs/timers.md)
OBSERVE_T1 = 4
#: the default observation window's floor (seconds): scheduling delays of the SUT and of the
#: tool on a loaded machine, which do not scale with a small (scaled) T1
OBSERVE_FLOOR = 0.25


def default_observe(t1: float) -> float:
    """The default observation window: ``max(4*T1, 0.25 s)`` (docs/timers.md)."""
    return max(OBSERVE_T1 * t1, OBSERVE_FLOOR)


@dataclass(frozen=True, slots=True)
class ProfileTimers:
    """Timer values in seconds. Scaled (small) values are allowed."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    #: when an MSRP connection counts as lost (seed 004 editor's note): an MSRP transaction
    #: unanswered this long
    msrp_transaction_timeout: float = 30.0
    #: the PIXIT observation window (``[timers] observe``): how long a check that the SUT
    #: does NOT react to a stimulus watches; ``None``: :func:`default_observe` of T1
    observe: float | None = None

    @property
    def sip(self) -> Timers:
        """RFC 3261 table 4 timers derived from T1, T2, T4."""
        return Timers(self.t1, self.t2, self.t4)

    @property
    def observe_window(self) -> float:
        """The observation window in seconds: the profile's, else the default of T1."""
        return default_observe(self.t1) if self.observe is None else self.observe


@dataclass(frozen=True, slots=True)
class MessageStore:
    """Where the SUT stores (IMAP) or the embedded Maildir backend."""

    url: str
    kind: str  #: "imap" | "maildir" | "none"
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = ""
    tls: bool = False
    path: str = ""  #: Maildir path or IMAP folder prefix


@dataclass(frozen=True, slots=True)
class Xdms:
    """The XDMS emulator the SUT reads user preferences from (served by the tool)."""

    host: str = "127.0.0.1"
    port: int = 0  #: 0 = choose at run time
    root: str = "/xcap-root"
    #: user URI -> preference name -> value (e.g. ``allow-offline-storage = true``)
    preferences: Mapping[str, Mapping[str, PrefValue]] = field(
        default_factory=lambda: MappingProxyType({})
    )


@dataclass(frozen=True, slots=True)
class UpperTesterConfig:
    mode: UpperTesterMode = UpperTesterMode.NONE
    url: str = ""
    timeout: float = 10.0  #: bound of one action (seconds); manual prompts wait longer


@dataclass(frozen=True, slots=True)
class Pixit:
    """How to reach and drive the SUT."""

    sut: Mapping[Role, Address]  #: the SUT's address per role under test
    tool_host: str = "127.0.0.1"
    tool_port: int = 0  #: 0 = choose at run time
    users: tuple[User, ...] = ()
    uris: Uris = field(default_factory=Uris)
    timers: ProfileTimers = field(default_factory=ProfileTimers)
    message_store: MessageStore = field(default_factory=lambda: MessageStore("", "none"))
    xdms: Xdms = field(default_factory=Xdms)
    upper_tester: UpperTesterConfig = field(default_factory=UpperTesterConfig)
    #: ``[pool] users_per_worker``: how many of ``users`` one parallel worker (or shard)
    #: takes (0: all of them; conformance/catalog/pool.py)
    users_per_worker: int = 0
    #: every user of the profile, when ``users`` is one worker's slice of them (else empty)
    pool: tuple[User, ...] = ()

    def user(self, uri: str) -> User:
        """The profile's user ``uri`` (searched in the whole pool, not only the slice)."""
        for u in self.pool or self.users:
            if u.uri == uri:
                return u
        raise KeyError(uri)

    @property
    def all_users(self) -> tuple[User, ...]:
        """Every user of the profile (the pool), whatever slice ``users`` is."""
        return self.pool or self.users


@dataclass(frozen=True, slots=True)
class SutProfile:
    path: str
    name: str
    target: Target
    roles: tuple[Role, ...]  #: roles under test
    #: every PICS option: the profile's value, else the option's default
    pics: Mapping[str, PicsValue]
    pixit: Pixit
    faults: tuple[str, ...] = ()  #: reference SUT faults to switch on

    def pics_for_evaluation(self) -> dict[str, PicsValue]:
        """The PICS as a plain dict (the input of ``catalog.pics.evaluate``)."""
        return dict(self.pics)


# --------------------------------------------------------------------------- loading


def reference_profile_path() -> Path:
    """``conformance/profiles/reference.toml`` (source tree or installed)."""
    return Path(str(resources.files("conformance").joinpath("profiles/reference.toml")))


def load_sut(spec: str | Path) -> SutProfile:
    """``"reference"`` for the embedded profile, else a path to a profile."""
    if str(spec) == "reference":
        return load_profile(reference_profile_path())
    return load_profile(spec)


def load_profile(path: str | Path) -> SutProfile:
    """Read and validate a SUT profile; raises :class:`ProfileError`."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ProfileError(p, [("", "no such file")]) from None
    except OSError as exc:
        raise ProfileError(p, [("", f"cannot read: {exc.strerror or exc}")]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProfileError(p, [("", "not UTF-8 text")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(p, [("", f"invalid TOML: {exc}")]) from None
    return parse_profile(data, p)


def parse_profile(data: Mapping[str, Any], path: str | Path = "<profile>") -> SutProfile:
    """Validate parsed TOML; raises :class:`ProfileError` listing every problem."""
    v = _Validator()
    profile = v.profile(data, str(path))
    if v.problems or profile is None:
        raise ProfileError(path, v.problems)
    return profile


_ROLE_VALUES = [r.value for r in Role]
_TOP_KEYS = {
    "sut",
    "tool",
    "uris",
    "users",
    "pool",
    "timers",
    "message_store",
    "xdms",
    "upper_tester",
    "pics",
}


class _Validator:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    # -- primitives
    def err(self, key: str, problem: str) -> None:
        self.problems.append((key, problem))

    def table(self, data: Mapping[str, Any], key: str, dotted: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.err(dotted, f"expected a table, got {_tname(value)}")
            return {}
        return value

    def unknown(self, data: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        for k in data:
            if k not in allowed:
                self.err(f"{prefix}{k}", f"unknown key (known: {', '.join(sorted(allowed))})")

    def string(self, data: Mapping[str, Any], key: str, dotted: str, default: str = "") -> str:
        value = data.get(key, default)
        if not isinstance(value, str):
            self.err(dotted, f"expected a string, got {_tname(value)}")
            return default
        return value

    def number(
        self,
        data: Mapping[str, Any],
        key: str,
        dotted: str,
        default: float,
        *,
        positive: bool = True,
    ) -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.err(dotted, f"expected a number of seconds, got {_tname(value)}")
            return default
        if positive and value <= 0:
            self.err(dotted, f"must be > 0, got {value}")
            return default
        return float(value)

    def port(
        self,
        data: Mapping[str, Any],
        key: str,
        dotted: str,
        default: int,
        *,
        allow_zero: bool,
    ) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.err(dotted, f"expected an integer port, got {_tname(value)}")
            return default
        low = 0 if allow_zero else 1
        if not low <= value <= 65535:
            self.err(dotted, f"port out of range {low}..65535: {value}")
            return default
        return value

    def uri(self, data: Mapping[str, Any], key: str, dotted: str) -> str:
        value = self.string(data, key, dotted)
        if value and not value.startswith(("sip:", "sips:", "tel:")):
            self.err(dotted, f"expected a sip:, sips: or tel: URI, got {value!r}")
        return value

    # -- sections
    def profile(self, data: Mapping[str, Any], path: str) -> SutProfile | None:
        self.unknown(data, _TOP_KEYS, "")
        sut = self.table(data, "sut", "sut")
        self.unknown(sut, {"name", "target", "roles", "faults", *_ROLE_VALUES}, "sut.")
        name = self.string(sut, "name", "sut.name", Path(path).stem)
        target_text = self.string(sut, "target", "sut.target", Target.EXTERNAL.value)
        try:
            target = Target(target_text)
        except ValueError:
            self.err("sut.target", f"expected one of reference, external, got {target_text!r}")
            target = Target.EXTERNAL
        roles = self.roles(sut)
        faults = self.string_list(sut, "faults", "sut.faults")
        addresses: dict[Role, Address] = {}
        for role in Role:
            if role.value in sut:
                addr = self.address(sut, role.value, f"sut.{role.value}")
                if addr is not None:
                    addresses[role] = addr
        if target is Target.EXTERNAL:
            for role in roles:
                if role not in addresses:
                    self.err(
                        f"sut.{role.value}",
                        "missing: the address of the SUT in this role (host, port, transport)",
                    )
        tool = self.table(data, "tool", "tool")
        self.unknown(tool, {"host", "port"}, "tool.")
        users = self.users(data)
        pixit = Pixit(
            sut=MappingProxyType(addresses),
            tool_host=self.string(tool, "host", "tool.host", "127.0.0.1"),
            tool_port=self.port(tool, "port", "tool.port", 0, allow_zero=True),
            users=users,
            users_per_worker=self.pool(self.table(data, "pool", "pool"), len(users)),
            uris=self.uris(self.table(data, "uris", "uris")),
            timers=self.timers(self.table(data, "timers", "timers")),
            message_store=self.message_store(self.table(data, "message_store", "message_store")),
            xdms=self.xdms(self.table(data, "xdms", "xdms")),
            upper_tester=self.upper_tester(self.table(data, "upper_tester", "upper_tester")),
        )
        pics = self.pics(self.table(data, "pics", "pics"))
        # The roles under test are PICS too (role.pf, role.cf, role.client).
        for role in Role:
            option = f"role.{role.value}"
            claimed = role in roles
            given = self.table(data, "pics", "pics").get(option)
            if given is not None and given != claimed:
                listed = ", ".join(r.value for r in roles)
                self.err(f"pics.{option}", f"contradicts sut.roles ({listed})")
            pics[option] = claimed
        if self.problems:
            return None
        return SutProfile(
            path=path,
            name=name,
            target=target,
            roles=roles,
            pics=MappingProxyType(pics),
            pixit=pixit,
            faults=faults,
        )

    def string_list(self, data: Mapping[str, Any], key: str, dotted: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            self.err(dotted, "expected a list of strings")
            return ()
        return tuple(value)

    def roles(self, sut: Mapping[str, Any]) -> tuple[Role, ...]:
        if "roles" not in sut:
            self.err("sut.roles", f"missing: the roles under test ({', '.join(_ROLE_VALUES)})")
            return ()
        out: list[Role] = []
        for i, text in enumerate(self.string_list(sut, "roles", "sut.roles")):
            try:
                out.append(Role(text.lower()))
            except ValueError:
                self.err(
                    f"sut.roles[{i}]",
                    f"unknown role {text!r} (expected one of {', '.join(_ROLE_VALUES)})",
                )
        if not out and "roles" in sut and not self.problems:
            self.err("sut.roles", "at least one role under test is needed")
        return tuple(out)

    def address(self, data: Mapping[str, Any], key: str, dotted: str) -> Address | None:
        t = self.table(data, key, dotted)
        self.unknown(t, {"host", "port", "transport"}, f"{dotted}.")
        host = self.string(t, "host", f"{dotted}.host")
        if not host:
            self.err(f"{dotted}.host", "missing")
        port = self.port(t, "port", f"{dotted}.port", 5060, allow_zero=False)
        transport_text = self.string(t, "transport", f"{dotted}.transport", "udp")
        try:
            transport = Transport(transport_text.upper())
        except ValueError:
            self.err(f"{dotted}.transport", f"expected udp or tcp, got {transport_text!r}")
            return None
        return Address(host, port, transport) if host else None

    def users(self, data: Mapping[str, Any]) -> tuple[User, ...]:
        value = data.get("users", [])
        if not isinstance(value, list):
            self.err("users", "expected an array of tables ([[users]])")
            return ()
        out: list[User] = []
        for i, entry in enumerate(value):
            key = f"users[{i}]"
            if not isinstance(entry, dict):
                self.err(key, f"expected a table, got {_tname(entry)}")
                continue
            self.unknown(entry, {"uri", "clients", "username", "password"}, f"{key}.")
            uri = self.uri(entry, "uri", f"{key}.uri")
            if not uri:
                self.err(f"{key}.uri", "missing")
            out.append(
                User(
                    uri=uri,
                    clients=self.string_list(entry, "clients", f"{key}.clients"),
                    username=self.string(entry, "username", f"{key}.username"),
                    password=self.string(entry, "password", f"{key}.password"),
                )
            )
        seen: set[str] = set()
        for i, u in enumerate(out):
            if u.uri in seen:
                self.err(f"users[{i}].uri", f"duplicate user {u.uri}")
            seen.add(u.uri)
        return tuple(out)

    def pool(self, t: Mapping[str, Any], users: int) -> int:
        """``[pool] users_per_worker`` (0 when absent: one slice of every user)."""
        self.unknown(t, {"users_per_worker"}, "pool.")
        if "users_per_worker" not in t:
            return 0
        value = t["users_per_worker"]
        if isinstance(value, bool) or not isinstance(value, int):
            self.err("pool.users_per_worker", f"expected an integer, got {_tname(value)}")
            return 0
        if value < 1:
            self.err("pool.users_per_worker", f"must be at least 1, got {value}")
            return 0
        if value > users:
            self.err(
                "pool.users_per_worker",
                f"{value} is more than the profile's {users} [[users]]",
            )
            return 0
        return value

    def uris(self, t: Mapping[str, Any]) -> Uris:
        names = ("pf", "deferred_msg_mgmt", "conference_factory", "unauthorised_user", "isf")
        self.unknown(t, {*names, "extra"}, "uris.")
        extra = self.table(t, "extra", "uris.extra")
        extras = {k: self.uri(extra, k, f"uris.extra.{k}") for k in extra}
        values = {n: self.uri(t, n, f"uris.{n}") for n in names}
        return Uris(**values, extra=MappingProxyType(extras))

    def timers(self, t: Mapping[str, Any]) -> ProfileTimers:
        self.unknown(t, {"t1", "t2", "t4", "msrp_transaction_timeout", "observe"}, "timers.")
        d = ProfileTimers()
        before = len(self.problems)
        t1 = self.number(t, "t1", "timers.t1", d.t1)
        t2 = self.number(t, "t2", "timers.t2", d.t2)
        t4 = self.number(t, "t4", "timers.t4", d.t4)
        msrp = self.number(
            t,
            "msrp_transaction_timeout",
            "timers.msrp_transaction_timeout",
            d.msrp_transaction_timeout,
        )
        if t2 < t1 and len(self.problems) == before:
            self.err("timers.t2", f"must be >= timers.t1 ({t1}), got {t2}")
        observe: float | None = None
        if "observe" in t:
            observe = self.number(t, "observe", "timers.observe", default_observe(t1))
            # longer than a SIP transaction (Timer B/F) observes nothing more: whatever the
            # SUT does later answers no stimulus of the check
            if observe > 64 * t1 and len(self.problems) == before:
                self.err(
                    "timers.observe",
                    f"must be <= 64*timers.t1 ({64 * t1:g} s, Timer B/F), got {observe:g}",
                )
        return ProfileTimers(t1, t2, t4, msrp, observe)

    def message_store(self, t: Mapping[str, Any]) -> MessageStore:
        self.unknown(t, {"url"}, "message_store.")
        url = self.string(t, "url", "message_store.url")
        if not url:
            return MessageStore("", "none")
        if url.startswith(("imap://", "imaps://")):
            parts = urlsplit(url)
            tls = parts.scheme == "imaps"
            try:
                port = parts.port or (993 if tls else 143)
            except ValueError:
                self.err("message_store.url", f"bad port in {url!r}")
                port = 0
            if not parts.hostname:
                self.err("message_store.url", f"no host in {url!r}")
            return MessageStore(
                url=url,
                kind="imap",
                host=parts.hostname or "",
                port=port,
                user=unquote(parts.username or ""),
                password=unquote(parts.password or ""),
                tls=tls,
                path=parts.path.lstrip("/"),
            )
        if url.startswith("maildir:"):
            path = url[len("maildir:") :]
            if not path:
                self.err("message_store.url", "maildir: needs a path")
            return MessageStore(url=url, kind="maildir", path=path)
        if "://" in url:
            self.err(
                "message_store.url",
                f"expected imap://, imaps://, maildir:<path> or a path, got {url!r}",
            )
            return MessageStore(url, "none")
        return MessageStore(url=url, kind="maildir", path=url)

    def xdms(self, t: Mapping[str, Any]) -> Xdms:
        self.unknown(t, {"host", "port", "root", "preferences"}, "xdms.")
        prefs_t = self.table(t, "preferences", "xdms.preferences")
        prefs: dict[str, Mapping[str, PrefValue]] = {}
        for user, values in prefs_t.items():
            key = f"xdms.preferences.{user}"
            if not isinstance(values, dict):
                self.err(key, f"expected a table of preference = value, got {_tname(values)}")
                continue
            good: dict[str, PrefValue] = {}
            for name, value in values.items():
                if not isinstance(value, bool | int | float | str):
                    self.err(f"{key}.{name}", f"expected a scalar, got {_tname(value)}")
                else:
                    good[name] = value
            prefs[user] = MappingProxyType(good)
        root = self.string(t, "root", "xdms.root", "/xcap-root")
        if not root.startswith("/"):
            self.err("xdms.root", f"must start with '/', got {root!r}")
        return Xdms(
            host=self.string(t, "host", "xdms.host", "127.0.0.1"),
            port=self.port(t, "port", "xdms.port", 0, allow_zero=True),
            root=root,
            preferences=MappingProxyType(prefs),
        )

    def upper_tester(self, t: Mapping[str, Any]) -> UpperTesterConfig:
        self.unknown(t, {"url", "timeout"}, "upper_tester.")
        url = self.string(t, "url", "upper_tester.url")
        timeout = self.number(t, "timeout", "upper_tester.timeout", 10.0)
        if not url or url == "none":
            return UpperTesterConfig(UpperTesterMode.NONE, "", timeout)
        if url == "manual":
            return UpperTesterConfig(UpperTesterMode.MANUAL, "", timeout)
        parts = urlsplit(url)
        try:
            _ = parts.port
            port_ok = True
        except ValueError:
            port_ok = False
        if parts.scheme != "http" or not parts.hostname or not port_ok:
            self.err(
                "upper_tester.url", f'expected http://host:port[/path] or "manual", got {url!r}'
            )
        return UpperTesterConfig(UpperTesterMode.HTTP, url, timeout)

    def pics(self, t: Mapping[str, Any]) -> dict[str, PicsValue]:
        options = _pics_options()
        out: dict[str, PicsValue] = {}
        for name, opt in options.items():
            out[name] = opt.default
        for name, value in t.items():
            key = f"pics.{name}"
            opt = options.get(name)
            if opt is None:
                near = [n for n in options if n.split(".")[-1] == name.split(".")[-1]]
                hint = f" (did you mean {near[0]}?)" if near else ""
                self.err(key, f"unknown PICS option{hint}")
                continue
            if opt.kind == "bool":
                if not isinstance(value, bool):
                    self.err(key, f"expected true or false, got {_tname(value)} {value!r}")
                    continue
            elif opt.kind == "choice" and (not isinstance(value, str) or value not in opt.choices):
                self.err(key, f"expected one of {', '.join(opt.choices)}, got {value!r}")
                continue
            out[name] = value
        return out


def _pics_options() -> Mapping[str, Any]:
    from conformance.catalog.pics import PICS_OPTIONS

    return PICS_OPTIONS


def _tname(value: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)
