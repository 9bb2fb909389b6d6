"""The robustness campaign against the reference SUT in chunks, and its figures.

    python benchmarks/robustness.py --total 100000 --chunk 25000 --seed 2026 --jobs 2 --out DIR

Each chunk is one ``cpm-conformance robustness --sut reference --keep-going --start N``
run (a fresh reference SUT per chunk, stopped by pid at its end), ``--jobs`` of them at
once; the chunks' JSON files
are summed into ``DIR/summary.json`` and printed: inputs, time, inputs/s, probes, replays,
findings (with the first input of each) and the SUT's unhandled-exception signatures.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def run_chunks(
    total: int,
    chunk: int,
    seed: int,
    batch: int,
    out: Path,
    *,
    jobs: int = 1,
    max_pinpoints: int = 5,
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    chunks: list[dict[str, Any]] = []
    began = time.monotonic()
    pending = list(range(0, total, chunk))
    running: list[tuple[int, Path, subprocess.Popen[bytes]]] = []
    try:
        _run(pending, running, chunks, out, seed, batch, chunk, total, jobs, max_pinpoints)
    finally:
        for _, _, proc in running:  # interrupted: each chunk stops its own SUT on SIGTERM
            proc.terminate()
            proc.wait()
    return _summary(chunks, out, seed, total, chunk, jobs, time.monotonic() - began)


def _run(
    pending: list[int],
    running: list[tuple[int, Path, subprocess.Popen[bytes]]],
    chunks: list[dict[str, Any]],
    out: Path,
    seed: int,
    batch: int,
    chunk: int,
    total: int,
    jobs: int,
    max_pinpoints: int,
) -> None:
    while pending or running:
        while pending and len(running) < jobs:
            start = pending.pop(0)
            count = min(chunk, total - start)
            path = out / f"chunk-{start:07d}.json"
            cmd = [
                sys.executable,
                "-m",
                "conformance.robustness",
                "--sut",
                "reference",
                "--seed",
                str(seed),
                "--start",
                str(start),
                "--count",
                str(count),
                "--batch",
                str(batch),
                "--keep-going",
                "--max-pinpoints",
                str(max_pinpoints),
                "--output",
                str(path),
            ]
            print("$", " ".join(cmd[1:]), flush=True)
            log = (out / f"chunk-{start:07d}.txt").open("wb")
            running.append((start, path, subprocess.Popen(cmd, stdout=log, stderr=log)))
            log.close()
        start, path, proc = running[0]
        code = proc.wait()
        running.pop(0)
        if not path.exists():
            print(f"chunk at {start} wrote no result (exit {code})", file=sys.stderr)
            continue
        chunks.append(json.loads(path.read_text(encoding="utf-8")))


def _summary(
    chunks: list[dict[str, Any]],
    out: Path,
    seed: int,
    total: int,
    chunk: int,
    jobs: int,
    wall: float,
) -> dict[str, Any]:
    signatures: dict[str, int] = {}
    for c in chunks:
        for sig, n in c.get("log_signatures", {}).items():
            signatures[sig] = signatures.get(sig, 0) + n
    sent = sum(c["inputs_sent"] for c in chunks)
    busy = sum(c["elapsed_s"] for c in chunks)
    summary = {
        "seed": seed,
        "total_requested": total,
        "chunks": len(chunks),
        "jobs": jobs,
        "inputs_sent": sent,
        "probes": sum(c["probes"] for c in chunks),
        "replayed": sum(c.get("replayed", 0) for c in chunks),
        "campaign_s": round(busy, 1),
        "wall_s": round(wall, 1),
        "inputs_per_s_per_job": round(sent / busy, 1) if busy else 0.0,
        "inputs_per_s_wall": round(sent / wall, 1) if wall else 0.0,
        "complete": all(c["complete"] for c in chunks) and len(chunks) * chunk >= total,
        "findings": [
            {
                "chunk_start": c["start"],
                "kind": f["kind"],
                "detail": f["detail"][:300],
                "batch": f["batch"],
                "signatures": f.get("signatures", []),
                "first_input": (f["first_input"]["id"] if "first_input" in f else None),
            }
            for c in chunks
            for f in c["findings"]
        ],
        "log_signatures": signatures,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupted)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--total", type=int, default=100_000)
    p.add_argument("--chunk", type=int, default=25_000)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--jobs", type=int, default=1, help="chunks run at once")
    p.add_argument("--max-pinpoints", type=int, default=5)
    p.add_argument("--out", type=Path, default=Path("reports/robustness"))
    args = p.parse_args()
    summary = run_chunks(
        args.total,
        args.chunk,
        args.seed,
        args.batch,
        args.out,
        jobs=args.jobs,
        max_pinpoints=args.max_pinpoints,
    )
    print(json.dumps(summary, indent=2))
    return 0


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
