"""``cpm-conformance reference start``: run the reference network in the foreground.

It prints a SUT profile (TOML) that points the tool at the running network, then serves
until Ctrl-C or SIGTERM. Unknown fault names or a bad ``--core`` exit with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import threading
import tomllib
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from conformance.errors import LocalProtocolError
from conformance.protocol.sip.timers import Address, Transport
from conformance.reference import config_io
from conformance.reference.config import ReferenceConfig, ReferenceUser
from conformance.reference.faults import ActiveFaults
from conformance.reference.network import ReferenceNetwork

READY_LINE = "# reference network running; Ctrl-C or SIGTERM stops it"


def configure_reference_start(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--faults", default="", help="comma-separated fault names")
    parser.add_argument(
        "--core",
        default=None,
        help="HOST:PORT of the tool's SIP core (where the SUT sends requests)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address the services bind")
    parser.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="the whole configuration as JSON (conformance/reference/config_io.py;"
        " what the test fixtures write); excludes --faults, --core, --host",
    )
    parser.add_argument(
        "--stop-with-stdin",
        action="store_true",
        help=argparse.SUPPRESS,  # the tool's own spawn: stop when the owner's pipe closes
    )
    parser.set_defaults(func=cmd_reference_start)


def parse_core(text: str) -> Address:
    """``HOST:PORT`` (``[v6]:PORT``; ``;transport=tcp`` for TCP)."""
    value, _, params = text.partition(";")
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--core expects HOST:PORT, got {text!r}")
    transport = Transport.TCP if params.strip().lower() == "transport=tcp" else Transport.UDP
    return Address(host.strip("[]"), int(port), transport)


def default_users() -> tuple[ReferenceUser, ...]:
    """The users of conformance/profiles/reference.toml."""
    path = resources.files("conformance").joinpath("profiles/reference.toml")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return tuple(
        ReferenceUser(str(u["uri"]), tuple(str(c) for c in u.get("clients", ())))
        for u in data.get("users", [])
    )


def build_config(args: argparse.Namespace) -> ReferenceConfig:
    """The configuration of ``reference start``; raises ValueError/LocalProtocolError."""
    if getattr(args, "config", None):
        if args.faults or args.core or args.host != "127.0.0.1":
            raise ValueError("--config excludes --faults, --core and --host")
        try:
            with open(args.config, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise ValueError(f"--config {args.config}: {exc.strerror or exc}") from None
        try:
            return config_io.decode(text)
        except ValueError as exc:
            raise ValueError(f"--config {args.config}: {exc}") from None
    faults = ActiveFaults.parse(args.faults or "")
    core = parse_core(args.core) if args.core else None
    return ReferenceConfig(host=args.host, core=core, faults=faults, users=default_users())


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def render_profile(values: Mapping[str, Any]) -> str:
    """TOML text of ``values`` (tables, sub-tables, and ``[[users]]`` arrays of tables)."""
    lines: list[str] = []

    def table(name: str, data: Mapping[str, Any]) -> None:
        scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
        lines.append(f"[{name}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in scalars.items())
        lines.append("")
        for k, v in data.items():
            if isinstance(v, dict):
                table(f"{name}.{k}", v)

    for key, value in values.items():
        if isinstance(value, dict):
            table(key, value)
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            for item in value:
                lines.append(f"[[{key}]]")
                lines.extend(f"{k} = {_toml_value(v)}" for k, v in item.items())
                lines.append("")
    return "\n".join(lines)


async def serve(
    config: ReferenceConfig,
    out: TextIO,
    stop: asyncio.Event | None = None,
    *,
    owner: BinaryIO | None = None,
) -> None:
    """Run the network, print its profile to ``out``, serve until ``stop``, a signal, or
    (with ``owner``, the read end of a pipe its owner holds open) the owner's exit: a
    process that spawned it and died, even by SIGKILL, leaves no reference SUT behind."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    if owner is not None:
        _watch_owner(owner, loop, stop)
    network = await ReferenceNetwork.start(config)
    try:
        out.write("# SUT profile of the running reference network\n")
        out.write(render_profile(network.profile_values()))
        out.write(READY_LINE + "\n")
        out.flush()
        await stop.wait()
    finally:
        await network.close()
        if owner is not None:
            with contextlib.suppress(OSError, ValueError):
                loop.remove_reader(owner.fileno())
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


_OWNER_GONE: set[int] = set()


def _owner_gone(pipe: BinaryIO) -> bool:
    return id(pipe) in _OWNER_GONE


def _watch_owner(pipe: BinaryIO, loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Stop the network once the owner's end of the pipe is closed: the loop watches the
    pipe; where it cannot (not a pollable file), a daemon thread blocks on it.

    Both read the file descriptor directly, never the buffered ``sys.stdin``: a daemon
    thread blocked inside a buffered read holds its lock, and the interpreter then spends
    a second at exit waiting for that lock before it aborts (SIGABRT)."""
    fd = pipe.fileno()

    def gone() -> None:
        _OWNER_GONE.add(id(pipe))
        stop.set()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            gone()

    try:
        loop.add_reader(fd, readable)
    except (NotImplementedError, OSError, ValueError):
        threading.Thread(
            target=_wait_for_eof, args=(fd, loop, gone), name="owner-pipe", daemon=True
        ).start()


def _wait_for_eof(fd: int, loop: asyncio.AbstractEventLoop, gone: Callable[[], None]) -> None:
    """Block until the owner's end of the pipe is closed, then stop the network."""
    with contextlib.suppress(OSError):
        while os.read(fd, 4096):
            pass
    with contextlib.suppress(RuntimeError):  # the loop already closed: nothing to stop
        loop.call_soon_threadsafe(gone)


def cmd_reference_start(args: argparse.Namespace) -> int:
    try:
        config = build_config(args)
    except (LocalProtocolError, ValueError) as exc:
        print(f"cpm-conformance reference start: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        owner = sys.stdin.buffer if args.stop_with_stdin else None
        asyncio.run(serve(config, sys.stdout, owner=owner))
    if owner is not None and args.config and _owner_gone(owner):
        # the owner died without stopping us: its temporary directory has no owner left
        workdir = Path(args.config).resolve().parent
        if workdir.name.startswith("cpm-reference-proc-"):
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


__all__ = [
    "READY_LINE",
    "build_config",
    "cmd_reference_start",
    "configure_reference_start",
    "default_users",
    "parse_core",
    "render_profile",
    "serve",
]
