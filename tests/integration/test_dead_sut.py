"""Fail-fast on a dead SUT (conformance/pytest/liveness.py).

A scripted SUT on loopback answers the preflight's OPTIONS and then never sends anything
again, as a SUT that died after the run started. After the first test case that saw nothing
from it, the next one probes, the probe fails, and every remaining test case of the role is
inconc at once, naming the address that did not answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

RESPONDER = textwrap.dedent("""
    import socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    data, addr = s.recvfrom(65535)
    head = data.split(b"\\r\\n\\r\\n", 1)[0].split(b"\\r\\n")
    keep = [h for h in head[1:] if h.split(b":", 1)[0] in (b"Via", b"From", b"To",
                                                          b"Call-ID", b"CSeq")]
    s.sendto(b"\\r\\n".join([b"SIP/2.0 200 OK", *keep, b"Content-Length: 0", b"", b""]), addr)
    while True:
        s.recvfrom(65535)
""")

TEMPLATE = Path(__file__).resolve().parents[2] / "conformance/profiles/vendor-template.toml"


def _profile(tmp_path: Path, port: int) -> Path:
    text = TEMPLATE.read_text(encoding="utf-8")
    text = (
        text.replace('"192.0.2.10"', '"127.0.0.1"')
        .replace('"192.0.2.1"', '"127.0.0.1"')
        .replace("port = 5060", f"port = {port}", 1)
        .replace("port = 8090", "port = 0")
        .replace('url = "imap://conformance:secret@192.0.2.11:143/"', f'url = "maildir:{tmp_path}"')
        .replace('url = "manual"', "")
        .replace("t1 = 0.5", "t1 = 0.02")
        .replace("t2 = 4.0", "t2 = 0.08")
        .replace("t4 = 5.0", "t4 = 0.1")
        .replace("msrp_transaction_timeout = 30.0", "msrp_transaction_timeout = 1.0")
    )
    path = tmp_path / "dead.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_sut_that_dies_is_found_once_and_the_rest_is_inconc(tmp_path: Path) -> None:
    responder = subprocess.Popen([sys.executable, "-c", RESPONDER], stdout=subprocess.PIPE)
    try:
        assert responder.stdout is not None
        port = int(responder.stdout.readline())
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "conformance",
                "run",
                "--sut",
                str(_profile(tmp_path, port)),
                "--role",
                "pf",
                "--report-dir",
                str(tmp_path / "r"),
            ],
            capture_output=True,
            timeout=300,
            check=False,
        )
    finally:
        responder.kill()
        responder.wait()
    assert proc.returncode == 2, proc.stderr.decode()[-2000:]
    cases = json.loads((tmp_path / "r" / "results.json").read_text())["test_cases"]
    dead = f"SUT unreachable: no answer from 127.0.0.1:{port}/UDP"
    unreachable = [c for c in cases if c["reason"].startswith(dead)]
    waited = [c for c in cases if c["verdict"] != "n/a" and c not in unreachable]
    assert len(waited) <= 2, [c["nodeid"] for c in waited]  # found after the first silence
    assert len(unreachable) > 50
    assert all(c["verdict"] == "inconc" for c in unreachable)
