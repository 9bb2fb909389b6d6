"""The reference SUT as a subprocess: ``cpm-conformance reference start --config FILE``.

The fixtures start the reference network in-process by default; with
``--reference-process subprocess`` they start it here instead, once per session, with the
same :class:`ReferenceConfig`. That proves the tool only talks to the SUT over the network
(nothing in-process is shared) and is how a lab runs the reference beside a vendor SUT.

The child runs in its own session (process group), with a fresh temporary directory for its
configuration file and its log (stderr). Readiness is the ``READY_LINE`` on its stdout, read
with a guard timeout; the lines before it are the SUT profile it prints, from which the
service addresses are taken. It is stopped by pid: SIGTERM to the group, SIGKILL after a
bounded wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from conformance.errors import LocalProtocolError
from conformance.net.process import read_log
from conformance.protocol.sip.timers import Address, Transport
from conformance.reference import config_io
from conformance.reference.cli import READY_LINE
from conformance.reference.config import ReferenceConfig
from conformance.reference.network import ReferenceEndpoints

#: how long the child may take to print its profile (interpreter start-up and imports)
DEFAULT_START_GUARD = 60.0


class ReferenceStartError(LocalProtocolError):
    """The reference subprocess did not come up; the message carries its log tail."""


def _address(table: Any) -> Address | None:
    if not isinstance(table, dict):
        return None
    return Address(
        str(table["host"]),
        int(table["port"]),
        Transport(str(table.get("transport", "udp")).upper()),
    )


def endpoints_of(profile_text: str) -> ReferenceEndpoints:
    """The service addresses of the profile a ``reference start`` printed."""
    data = tomllib.loads(profile_text)
    sut = data.get("sut", {})
    cf, client = _address(sut.get("cf")), _address(sut.get("client"))
    if cf is None or client is None:
        raise ValueError("the printed profile lacks sut.cf or sut.client")
    url = data.get("upper_tester", {}).get("url")
    return ReferenceEndpoints(
        pf=_address(sut.get("pf")), cf=cf, client=client, upper_tester_url=str(url) if url else None
    )


class ReferenceProcess:
    """One running reference subprocess; :meth:`start` it, :meth:`stop` it."""

    def __init__(
        self, process: asyncio.subprocess.Process, workdir: Path, profile_text: str
    ) -> None:
        self.process = process
        self.workdir = workdir
        #: the SUT profile the child printed (TOML); :func:`endpoints_of` reads it
        self.profile_text = profile_text
        self.endpoints = endpoints_of(profile_text)

    @property
    def log_path(self) -> Path:
        return self.workdir / "reference.log"

    @classmethod
    async def start(
        cls, config: ReferenceConfig, *, guard: float = DEFAULT_START_GUARD
    ) -> ReferenceProcess:
        workdir = Path(tempfile.mkdtemp(prefix="cpm-reference-proc-"))
        conf = workdir / "config.json"
        conf.write_text(config_io.encode(config), encoding="utf-8")
        log = (workdir / "reference.log").open("wb")
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "conformance",
                "reference",
                "start",
                "--config",
                str(conf),
                "--stop-with-stdin",
                # the child stops when this end closes: when this process exits, however
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        finally:
            log.close()
        try:
            text = await asyncio.wait_for(cls._profile(process), guard)
            return cls(process, workdir, text)
        except BaseException as exc:
            await _stop(process, grace=5.0)
            tail = _tail(workdir / "reference.log")
            shutil.rmtree(workdir, ignore_errors=True)
            if isinstance(exc, TimeoutError):
                raise ReferenceStartError(
                    f"the reference subprocess printed no ready line within {guard:g} s{tail}"
                ) from None
            if isinstance(exc, ValueError | EOFError):
                raise ReferenceStartError(f"the reference subprocess failed: {exc}{tail}") from None
            raise

    @staticmethod
    async def _profile(process: asyncio.subprocess.Process) -> str:
        assert process.stdout is not None
        lines: list[str] = []
        while True:
            raw = await process.stdout.readline()
            if not raw:
                raise EOFError(f"it exited ({await process.wait()}) before it was ready")
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line == READY_LINE:
                return "\n".join(lines)
            lines.append(line)

    async def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM to the process group, SIGKILL after ``grace`` s; removes the directory."""
        try:
            return await _stop(self.process, grace)
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


async def _stop(process: asyncio.subprocess.Process, grace: float) -> int | None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await asyncio.wait_for(process.wait(), grace)
    return process.returncode


def _tail(path: Path, lines: int = 15) -> str:
    text = read_log(path).strip().splitlines()[-lines:]
    return ("\n  " + "\n  ".join(text)) if text else ""


__all__ = ["DEFAULT_START_GUARD", "ReferenceProcess", "ReferenceStartError", "endpoints_of"]
