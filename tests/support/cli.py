"""``cpm-conformance`` as a child process, for the tests that run it whole."""

from __future__ import annotations

import subprocess
import sys


def run_cli(
    *args: str, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m conformance ARGS``, its output captured as text (never raises on exit)."""
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env=env,
    )
