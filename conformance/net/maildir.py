"""A Maildir Message Store on the local file system, laid out as Dovecot's ``LAYOUT=fs``.

This is the embedded default store of the reference SUT, and the tool can read a
vendor's store from a Maildir path the same way. The layout is the one
:mod:`conformance.net.dovecot` configures (``maildir:<root>:LAYOUT=fs``), so Dovecot can
serve a tree written here, and this module can read a tree Dovecot wrote:

- ``<root>/{cur,new,tmp}`` is ``INBOX``; mailbox ``a/b`` is ``<root>/a/b/{cur,new,tmp}``.
  The hierarchy separator is ``/``; each level's directory name is the mailbox name in
  modified UTF-7 (RFC 3501 5.1.3), as Dovecot writes it by default.
- UIDs live in ``dovecot-uidlist`` (version 3: ``3 V<uidvalidity> N<nextuid> G<guid>``,
  then ``<uid> :<filename>`` lines). The writer takes Dovecot's dot-lock
  (``dovecot-uidlist.lock``, created exclusively, then renamed over the list).
  Files the list does not name (a store written by another tool, or Dovecot's list
  lagging behind its index) get provisional UIDs above ``N``, in file-name order.
- Messages are returned with CRLF line ends (Dovecot stores bare LF; IMAP serves CRLF).
- A message's internal date is the file's mtime (as Dovecot's received date).
- Delivery follows the Maildir protocol: write into ``tmp/``, then rename into ``new/``.

Every read is bounded (folders, messages per folder, bytes per message). The tree is
untrusted when it is a vendor's: bad input raises :class:`RemoteProtocolError`, and a
malformed ``dovecot-uidlist`` line is ignored (it is an index, not evidence).
"""

from __future__ import annotations

import datetime as _dt
import errno
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from imapclient import imap_utf7

from conformance.errors import LocalProtocolError, RemoteProtocolError

SEPARATOR = "/"
INBOX = "INBOX"
UIDLIST = "dovecot-uidlist"
LOCK = "dovecot-uidlist.lock"
#: names that are Maildir's own sub-directories and so cannot be mailbox names
RESERVED = frozenset({"cur", "new", "tmp"})

MAX_FOLDERS = 10_000
MAX_DEPTH = 16
DEFAULT_MAX_MESSAGES = 10_000
DEFAULT_MAX_SIZE = 8 * 1024 * 1024
#: guard for taking the uidlist lock; a lock older than STALE_LOCK seconds is broken
LOCK_WITHIN = 10.0
STALE_LOCK = 120.0


@dataclass(frozen=True, slots=True)
class MaildirMessage:
    uid: int
    path: Path
    raw: bytes
    internal_date: _dt.datetime


@dataclass(slots=True)
class _UidList:
    uidvalidity: int
    next_uid: int
    guid: str
    #: base file name -> uid
    uids: dict[str, int]


def _base(filename: str) -> str:
    """The Maildir base name: the file name without its ``:2,<flags>`` info part."""
    return filename.split(":", 1)[0]


def encode_component(component: str) -> str:
    """One hierarchy level of a mailbox name as a directory name (modified UTF-7)."""
    encoded: bytes = imap_utf7.encode(component)
    return encoded.decode("ascii")


def decode_component(dirname: str) -> str:
    try:
        decoded: str = imap_utf7.decode(dirname.encode("ascii"))
    except (UnicodeError, ValueError) as exc:
        raise RemoteProtocolError(
            f"Maildir directory {dirname!r} is not modified UTF-7: {exc}"
        ) from None
    return decoded


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class MaildirStore:
    """A Maildir tree (``LAYOUT=fs``) rooted at ``root``."""

    def __init__(
        self,
        root: Path | str,
        *,
        create: bool = False,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> None:
        self.root = Path(root)
        self.max_messages = max_messages
        self.max_size = max_size
        if create:
            for sub in ("cur", "new", "tmp"):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
        elif not self.root.is_dir():
            raise LocalProtocolError(f"no Maildir at {self.root}")
        self._counter = 0

    # -- names ------------------------------------------------------------------------

    def path_of(self, name: str) -> Path:
        """The directory of mailbox ``name``; raises LocalProtocolError for unsafe names."""
        if name.upper() == INBOX:
            return self.root
        parts = name.split(SEPARATOR)
        if any(p in ("", ".", "..") or "\x00" in p for p in parts):
            raise LocalProtocolError(f"mailbox name {name!r} has an empty, '.' or '..' level")
        encoded = [encode_component(p) for p in parts]
        if any(e in RESERVED or e.startswith((".", "~")) for e in encoded):
            raise LocalProtocolError(
                f"mailbox name {name!r} has a level reserved by Maildir or hidden ('.', '~')"
            )
        return self.root.joinpath(*encoded)

    # -- folders ----------------------------------------------------------------------

    def folders(self) -> list[str]:
        """Every mailbox (a directory holding ``cur`` or ``new``), ``INBOX`` first."""
        found: list[str] = []
        if (self.root / "cur").is_dir() or (self.root / "new").is_dir():
            found.append(INBOX)
        stack: list[tuple[Path, tuple[str, ...]]] = [(self.root, ())]
        while stack:
            directory, prefix = stack.pop()
            if len(prefix) >= MAX_DEPTH:
                continue
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as exc:
                raise RemoteProtocolError(f"cannot list {directory}: {exc}") from None
            for entry in entries:
                if entry.name in RESERVED or entry.name.startswith("."):
                    continue
                if not entry.is_dir(follow_symlinks=False):
                    continue
                names = (*prefix, decode_component(entry.name))
                path = Path(entry.path)
                if (path / "cur").is_dir() or (path / "new").is_dir():
                    found.append(SEPARATOR.join(names))
                    if len(found) > MAX_FOLDERS:
                        raise RemoteProtocolError(f"more than {MAX_FOLDERS} Maildir folders")
                stack.append((path, names))
        return found

    def folder_exists(self, name: str) -> bool:
        path = self.path_of(name)
        return (path / "cur").is_dir() or (path / "new").is_dir()

    def create_folder(self, name: str) -> None:
        """Create mailbox ``name`` (and its ``cur``/``new``/``tmp``); an existing one is kept."""
        path = self.path_of(name)
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)

    # -- uid list ---------------------------------------------------------------------

    def _read_uidlist(self, folder: Path) -> _UidList | None:
        try:
            data = (folder / UIDLIST).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RemoteProtocolError(f"cannot read {folder / UIDLIST}: {exc}") from None
        if len(data) > 64 * 1024 * 1024:
            raise RemoteProtocolError(f"{folder / UIDLIST} is too large", raw=data[:1024])
        lines = data.decode("utf-8", "replace").splitlines()
        if not lines:
            return None
        head = lines[0].split()
        uidvalidity, next_uid, guid = 0, 1, ""
        if head and head[0] == "3":
            for field in head[1:]:
                key, value = field[:1], field[1:]
                if key in ("V", "N") and value.isdigit():
                    if key == "V":
                        uidvalidity = int(value)
                    else:
                        next_uid = int(value)
                elif key == "G":
                    guid = value
        elif len(head) >= 3 and head[0] == "1" and head[1].isdigit() and head[2].isdigit():
            uidvalidity, next_uid = int(head[1]), int(head[2])
        else:
            return None
        uids: dict[str, int] = {}
        for line in lines[1:]:
            uid_text, _, rest = line.partition(" ")
            if not uid_text.isdigit():
                continue
            # version 3: "<uid> [<ext> ...] :<filename>"; version 1: "<uid> <filename>"
            spaced = " " + rest
            filename = spaced.split(" :", 1)[1] if " :" in spaced else rest.strip()
            if filename:
                uids[_base(filename)] = int(uid_text)
        if uids:
            next_uid = max(next_uid, max(uids.values()) + 1)
        return _UidList(uidvalidity, next_uid, guid, uids)

    def _lock(self, folder: Path) -> int:
        lock = folder / LOCK
        deadline = time.monotonic() + LOCK_WITHIN
        while True:
            try:
                return os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                try:
                    if time.time() - lock.stat().st_mtime > STALE_LOCK:
                        lock.unlink()
                        continue
                except FileNotFoundError:
                    continue
                if time.monotonic() > deadline:
                    raise LocalProtocolError(
                        f"{lock} held for more than {LOCK_WITHIN:g} s"
                    ) from None
                time.sleep(0.01)  # retry interval of a held lock; the guard decides

    def _unique_name(self, size: int) -> str:
        self._counter += 1
        now = time.time()
        host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
        return (
            f"{int(now)}.M{int((now % 1) * 1_000_000)}P{os.getpid()}Q{self._counter}"
            f"R{uuid.uuid4().hex[:8]}.{host},S={size}"
        )

    # -- messages ---------------------------------------------------------------------

    def append(self, name: str, data: bytes, *, internal_date: _dt.datetime | None = None) -> int:
        """Deliver ``data`` into mailbox ``name``; return the UID it was given."""
        folder = self.path_of(name)
        if not self.folder_exists(name):
            raise LocalProtocolError(f"no mailbox {name!r} in {self.root}")
        fd = self._lock(folder)
        lock_path = folder / LOCK
        try:
            uidlist = self._read_uidlist(folder) or _UidList(
                int(time.time()), 1, uuid.uuid4().hex, {}
            )
            # files another writer left without a UID keep theirs provisional; ours is fixed
            uid = uidlist.next_uid
            filename = self._unique_name(len(data))
            tmp = folder / "tmp" / filename
            tmp.write_bytes(data)
            if internal_date is not None:
                stamp = internal_date.timestamp()
                os.utime(tmp, (stamp, stamp))
            os.rename(tmp, folder / "new" / filename)
            uidlist.uids[filename] = uid
            uidlist.next_uid = uid + 1
            lines = [f"3 V{uidlist.uidvalidity} N{uidlist.next_uid} G{uidlist.guid}"]
            lines += [
                f"{u} :{f}" for f, u in sorted(uidlist.uids.items(), key=lambda item: item[1])
            ]
            os.write(fd, ("\n".join(lines) + "\n").encode())
            os.close(fd)
            fd = -1
            os.rename(lock_path, folder / UIDLIST)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            try:
                lock_path.unlink()
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise
            raise
        return uid

    def messages(self, name: str) -> list[MaildirMessage]:
        """Every message of mailbox ``name`` (``new`` and ``cur``), ordered by UID.

        Line ends are given as CRLF, as an IMAP server serves the same file (Dovecot
        writes bare LF to disk): a Maildir and IMAP read of one store give equal bytes.
        """
        folder = self.path_of(name)
        if not self.folder_exists(name):
            raise RemoteProtocolError(f"no mailbox {name!r} in {self.root}")
        uidlist = self._read_uidlist(folder)
        known = uidlist.uids if uidlist else {}
        next_uid = uidlist.next_uid if uidlist else 1
        files: list[tuple[str, Path]] = []
        for sub in ("new", "cur"):
            try:
                entries = list(os.scandir(folder / sub))
            except FileNotFoundError:
                continue
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                    continue
                files.append((entry.name, Path(entry.path)))
                if len(files) > self.max_messages:
                    raise RemoteProtocolError(
                        f"mailbox {name!r} holds more than {self.max_messages} messages"
                    )
        out: list[MaildirMessage] = []
        provisional = max([next_uid, *(u + 1 for u in known.values())])
        for filename, path in sorted(files):
            uid = known.get(_base(filename))
            if uid is None:
                uid = provisional
                provisional += 1
            try:
                stat = path.stat()
                if stat.st_size > self.max_size:
                    raise RemoteProtocolError(
                        f"{path} is {stat.st_size} bytes, over {self.max_size}"
                    )
                raw = path.read_bytes()
            except FileNotFoundError:
                continue  # moved new/ -> cur/ or expunged while listing
            except OSError as exc:
                raise RemoteProtocolError(f"cannot read {path}: {exc}") from None
            if len(raw) > self.max_size:
                raise RemoteProtocolError(f"{path} grew over {self.max_size} bytes")
            raw = _crlf(raw)
            when = _dt.datetime.fromtimestamp(stat.st_mtime, _dt.UTC)
            out.append(MaildirMessage(uid=uid, path=path, raw=raw, internal_date=when))
        out.sort(key=lambda m: m.uid)
        return out

    def count(self, name: str) -> int:
        folder = self.path_of(name)
        total = 0
        for sub in ("new", "cur"):
            try:
                total += sum(1 for e in os.scandir(folder / sub) if not e.name.startswith("."))
            except FileNotFoundError:
                continue
        return total


__all__ = [
    "INBOX",
    "SEPARATOR",
    "MaildirMessage",
    "MaildirStore",
    "decode_component",
    "encode_component",
]
