"""Dovecot on loopback: a real IMAP Message Storage Server for one test or session.

Each start writes a ``dovecot.conf`` into a fresh temporary directory and runs
``dovecot -F -c dovecot.conf`` (foreground, in its own session). Decisions:

- ``listen = 127.0.0.1`` and a port picked at run time for
  ``service imap-login { inet_listener imap }``; ``imaps`` is disabled (port 0) and
  ``ssl = no``. Only ``protocols = imap`` runs.
- Plain-text LOGIN over the unencrypted loopback listener is allowed:
  ``disable_plaintext_auth = no`` on Dovecot 2.3 (Debian 12), ``auth_allow_cleartext =
  yes`` on 2.4 and later (the version comes from ``dovecot --version``).
- One generated user and password in a ``passwd-file`` used as passdb and userdb.
- ``mail_location = maildir:<tmp>/mail/%u:LAYOUT=fs``: the hierarchy separator is ``/``,
  so ``.`` and ``@`` (common in Contribution-IDs) are ordinary characters in a folder
  name. The on-disk layout is the one :mod:`conformance.net.maildir` reads and writes.
- Users: started as root, Dovecot's internal processes run as Debian's ``dovecot``
  user, the login processes as ``dovenull`` (``default_login_user``; Dovecot refuses
  root for both), and mail is accessed as ``nobody`` (Dovecot refuses UID 0 for mail);
  the temporary tree is made traversable and the mail directory is owned by that user.
  Started as any other user, everything runs as that user.
- Logs go to ``dovecot.log`` in the temporary directory (:meth:`Dovecot.log_text`).

Readiness is proved by a LOGIN that succeeds (a probe with a guard timeout, never a
fixed sleep). Stopping is by pid: SIGTERM, then SIGKILL after a bounded wait. The
temporary directory is removed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from conformance.errors import LocalProtocolError
from conformance.net.imap import ImapUrl, StoreUnavailable, probe_login
from conformance.net.ports import pick_free_port
from conformance.net.process import ServerProcess, read_log


class DovecotError(LocalProtocolError):
    """Dovecot could not be configured, started or stopped."""


@dataclass(frozen=True, slots=True)
class Accounts:
    """The system users Dovecot's processes run as, and the mail owner."""

    internal_user: str
    login_user: str
    mail_uid: int
    mail_gid: int


def dovecot_binary() -> str:
    path = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None
    )
    if path is None:
        raise DovecotError("dovecot is not on PATH (Debian package 'dovecot-imapd')")
    return path


def dovecot_version(binary: str | None = None) -> tuple[int, int, int]:
    """(major, minor, patch) from ``dovecot --version``, e.g. ``2.3.19.1 (9b53102964)``."""
    proc = subprocess.run(
        [binary or dovecot_binary(), "--version"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    found = re.match(r"\s*(\d+)\.(\d+)\.(\d+)", proc.stdout)
    if proc.returncode != 0 or found is None:
        raise DovecotError(f"cannot read the Dovecot version: {proc.stdout}{proc.stderr}")
    return int(found.group(1)), int(found.group(2)), int(found.group(3))


def _user(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def pick_accounts() -> Accounts:
    """The users for the configuration (see the module docstring)."""
    uid = os.geteuid()
    if uid != 0:
        me = pwd.getpwuid(uid)
        return Accounts(me.pw_name, me.pw_name, me.pw_uid, me.pw_gid)
    internal = _user("dovecot")
    login = _user("dovenull")
    mail = _user("nobody")
    if internal is None or login is None or mail is None:
        raise DovecotError(
            "running as root needs the system users 'dovecot' and 'dovenull' (created by "
            "the Debian package dovecot-core) and 'nobody'"
        )
    return Accounts(internal.pw_name, login.pw_name, mail.pw_uid, mail.pw_gid)


def render_config(
    workdir: Path,
    *,
    port: int,
    host: str,
    accounts: Accounts,
    version: tuple[int, int, int],
) -> str:
    """The text of dovecot.conf for a server rooted at ``workdir``."""
    cleartext = (
        "auth_allow_cleartext = yes" if version >= (2, 4, 0) else "disable_plaintext_auth = no"
    )
    # 2.4 renamed the passdb/userdb driver syntax; 2.3 is what Debian 12 ships.
    if version >= (2, 4, 0):
        dbs = f"""passdb passwd-file {{
  passwd_file_path = {workdir}/users
}}
userdb passwd-file {{
  passwd_file_path = {workdir}/users
}}
mail_driver = maildir
mail_path = {workdir}/mail/%{{user}}
mailbox_list_layout = fs
dovecot_config_version = {version[0]}.{version[1]}.{version[2]}
dovecot_storage_version = {version[0]}.{version[1]}.{version[2]}
"""
    else:
        dbs = f"""passdb {{
  driver = passwd-file
  args = scheme=PLAIN {workdir}/users
}}
userdb {{
  driver = passwd-file
  args = {workdir}/users
}}
mail_location = maildir:{workdir}/mail/%u:LAYOUT=fs
"""
    return f"""# generated by conformance.net.dovecot
base_dir = {workdir}/run
state_dir = {workdir}/state
instance_name = cpm-conformance-{port}
log_path = {workdir}/dovecot.log
protocols = imap
listen = {host}
ssl = no
{cleartext}
auth_mechanisms = plain login
default_internal_user = {accounts.internal_user}
default_login_user = {accounts.login_user}
first_valid_uid = {accounts.mail_uid}
last_valid_uid = {accounts.mail_uid}
first_valid_gid = {accounts.mail_gid}
last_valid_gid = {accounts.mail_gid}
mail_fsync = never
{dbs}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


class Dovecot:
    """A running Dovecot. ``async with Dovecot.start() as d`` or ``with Dovecot.run() as d``."""

    def __init__(self, workdir: Path, host: str, port: int, user: str, password: str) -> None:
        self.workdir = workdir
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.conf_path = workdir / "dovecot.conf"
        self.log_path = workdir / "dovecot.log"
        self.server = ServerProcess(workdir, workdir / "stdout.log")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def imap_url(self) -> ImapUrl:
        return ImapUrl(self.host, self.port, self.user, self.password)

    @property
    def url(self) -> str:
        """``imap://user:pass@127.0.0.1:port/``: what a SUT profile's store URL holds."""
        return str(self.imap_url)

    @property
    def maildir(self) -> Path:
        """The user's Maildir root (``LAYOUT=fs``) as Dovecot writes it."""
        return self.workdir / "mail" / self.user

    def log_text(self) -> str:
        return read_log(self.log_path)

    # -- sync -------------------------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def run(
        cls, *, host: str = "127.0.0.1", within: float = 15.0, attempts: int = 3
    ) -> Iterator[Dovecot]:
        """Start Dovecot, wait until LOGIN works (guard ``within``), stop it on exit."""
        d = cls.launch(host=host, within=within, attempts=attempts)
        try:
            yield d
        finally:
            d.stop()

    @classmethod
    def launch(cls, *, host: str = "127.0.0.1", within: float = 15.0, attempts: int = 3) -> Dovecot:
        """Start and return a ready Dovecot; the caller must :meth:`stop` it."""
        binary = dovecot_binary()
        version = dovecot_version(binary)
        accounts = pick_accounts()
        last: Exception | None = None
        for _ in range(attempts):
            workdir = Path(tempfile.mkdtemp(prefix="dovecot-"))
            d = cls(workdir, host, pick_free_port(host), "cpm", secrets.token_hex(12))
            try:
                d._launch(binary, version, accounts, within)
            except (DovecotError, StoreUnavailable) as exc:
                last = DovecotError(f"{exc}\n--- dovecot.log ---\n{d.log_text()}")
                d.stop()
                continue
            return d
        raise DovecotError(f"dovecot did not start: {last}")

    def _launch(
        self, binary: str, version: tuple[int, int, int], accounts: Accounts, within: float
    ) -> None:
        w = self.workdir
        for sub in ("run", "state", "mail", f"mail/{self.user}"):
            (w / sub).mkdir(exist_ok=True)
        # unprivileged processes (login, mail as 'nobody') must traverse the tree
        w.chmod(0o755)
        (w / "mail").chmod(0o755)
        if os.geteuid() == 0:
            os.chown(self.maildir, accounts.mail_uid, accounts.mail_gid)
        users = w / "users"
        users.write_text(
            f"{self.user}:{{PLAIN}}{self.password}:{accounts.mail_uid}:{accounts.mail_gid}"
            f"::{self.maildir}::\n"
        )
        users.chmod(0o644)
        self.conf_path.write_text(
            render_config(w, port=self.port, host=self.host, accounts=accounts, version=version)
        )
        self.process = self.server.start([binary, "-F", "-c", str(self.conf_path)])
        try:
            probe_login(self.imap_url, within, alive=self.server.alive)
        except StoreUnavailable as exc:
            out = self.server.output_text()
            raise DovecotError(f"{exc}\n--- dovecot output ---\n{out}") from None

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; then remove the directory."""
        self.process = None
        self.server.stop(grace)
        self.server.remove()

    # -- async ------------------------------------------------------------------------

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls, *, host: str = "127.0.0.1", within: float = 15.0, attempts: int = 3
    ) -> AsyncIterator[Dovecot]:
        """Async form of :meth:`run` (start and stop run in a worker thread)."""
        d = await asyncio.to_thread(cls.launch, host=host, within=within, attempts=attempts)
        try:
            yield d
        finally:
            await asyncio.to_thread(d.stop)


__all__ = ["Accounts", "Dovecot", "DovecotError", "dovecot_binary", "dovecot_version"]
