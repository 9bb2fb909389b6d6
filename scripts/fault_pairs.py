"""Serial against parallel verdicts under the reference SUT's faults (issue 14).

Run: ``python scripts/fault_pairs.py OUT [--every K] [--offset I] [--resume] [FAULT ...]``.

For each chosen fault (every Kth of ``cpm-conformance faults``, starting at index I, and
the ones named) it runs ``run --sut reference --strict --faults F`` serially (``-n 0``)
into ``OUT/serial/F/clean`` and with the default workers into ``OUT/parallel/F/clean``,
then prints what ``scripts/verdict_diff.py`` finds between the two (the verdict and the
sequence of (check id, verdict) of every test case). About 30-40 s per fault on the
2-core machine; the whole catalogue takes hours.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _faults() -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "conformance", "faults", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(out)
    return [f for f in data if isinstance(f, dict)]


def _pics(fault: dict[str, object]) -> list[str]:
    claims = fault.get("pics")
    out: list[str] = []
    if isinstance(claims, dict):
        for key, value in claims.items():
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            out += ["--pics", f"{key}={shown}"]
    return out


def _complete(results: Path) -> bool:
    """``results`` is a finished run's (an interrupted run's is marked incomplete)."""
    try:
        run = json.loads(results.read_text(encoding="utf-8")).get("run", {})
    except (OSError, ValueError):
        return False
    return isinstance(run, dict) and not run.get("incomplete")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("faults", nargs="*", help="faults to compare besides the chosen ones")
    parser.add_argument("--every", type=int, default=0, help="every Kth fault (0: none)")
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the runs a previous (interrupted) call left complete in OUT",
    )
    args = parser.parse_args(argv)
    chosen = [
        f
        for i, f in enumerate(_faults())
        if (args.every and i % args.every == args.offset) or f.get("fault") in args.faults
    ]
    differing = 0
    for fault in chosen:
        name = str(fault["fault"])
        for mode, workers in (("serial", ["-n", "0"]), ("parallel", [])):
            report = args.out / mode / name / "clean"
            if args.resume and _complete(report / "results.json"):
                continue
            subprocess.run(
                [
                    *(sys.executable, "-m", "conformance", "run", "--sut", "reference"),
                    *("--strict", "--faults", name, *_pics(fault), *workers),
                    *("--report-dir", str(report), "-q"),
                ],
                capture_output=True,
                check=False,
            )
        found = subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "verdict_diff.py"),
                str(args.out / "serial" / name),
                str(args.out / "parallel" / name),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        lines = found.stdout.strip().splitlines() or [found.stderr.strip()[-300:]]
        differing += not lines[-1].endswith(" 0 differences")
        print(name, " | ".join(lines), flush=True)
    print(f"{len(chosen)} faults compared, {differing} with differences")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
