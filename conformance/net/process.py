"""A server process in its own session, rooted in a temporary directory.

The runner behind :mod:`.dovecot` and :mod:`.kamailio`: the process starts in a new
session (so its children share one process group), with stdin from ``/dev/null`` and
stdout and stderr in one file of the working directory. It is stopped by pid: SIGTERM,
then SIGKILL to the process group after a bounded wait. Waiting for the process to
exit is a probe with a short interval (cancel it to stop waiting), never a decision.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path


def read_log(path: Path) -> str:
    """The text of a log file so far ('' if the server has not created it yet)."""
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


class ServerProcess:
    """One server process; :meth:`start` it, :meth:`stop` it, :meth:`remove` its directory.

    ``term_group``: SIGTERM goes to the whole process group (``True``) or to the leader
    only, which then stops its own children (``False``). ``sweep``: after the leader has
    exited, SIGKILL whatever is left in its process group (children orphaned by a crash).
    """

    def __init__(
        self, workdir: Path, output: Path, *, term_group: bool = True, sweep: bool = False
    ) -> None:
        self.workdir = workdir
        self.output = output
        self.term_group = term_group
        self.sweep = sweep
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        """Run ``argv`` in a new session, stdout and stderr into :attr:`output`."""
        log = self.output.open("wb")
        try:
            self.process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        return self.process

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output_text(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        return read_log(self.output)

    async def exited(self, interval: float = 0.05) -> int:
        """The exit code, once the process has exited (polled every ``interval`` s)."""
        proc = self.process
        if proc is None:
            raise RuntimeError("the server process was never started")
        while (code := proc.poll()) is None:
            await asyncio.sleep(interval)  # retry interval of the probe only
        return code

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL to the process group if it outlives ``grace`` seconds.

        Returns the exit code (``None`` if the process was never started).
        """
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                if self.term_group:
                    os.killpg(proc.pid, signal.SIGTERM)
                else:
                    proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=grace)
        if self.sweep:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        return proc.returncode

    async def stop_async(self, grace: float = 5.0) -> int | None:
        """:meth:`stop` in a worker thread."""
        return await asyncio.to_thread(self.stop, grace)

    def remove(self) -> None:
        """Remove the working directory and everything in it."""
        shutil.rmtree(self.workdir, ignore_errors=True)


__all__ = ["ServerProcess", "read_log"]
