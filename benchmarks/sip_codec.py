"""SIP codec throughput: our parser/serializer against ``sipmessage`` on the same corpus.

Run: ``python benchmarks/sip_codec.py [--repeat N] [--loops N]``.

Corpus: the 13 valid RFC 4475 messages (3.1.1) plus typical CPM messages from
``benchmarks/corpus/*.sip`` (group INVITE with a multipart SDP + resource-lists body, a
conference NOTIFY, a 200 OK with SDP). A message counts only if both codecs parse it
(``sipmessage`` rejects folded header lines), so both sides process the same bytes.

Measures, in messages per second (best of ``--repeat`` runs of ``--loops`` passes):

- ``parse+serialize``: parse the bytes, then produce the bytes to send. Ours returns the
  kept raw bytes; ``sipmessage`` rebuilds them with ``bytes(msg)``.
- ``parse+rebuild``: ours re-serializes from the parsed start line and header list
  (``serialize()``), the path a test takes when it edits a received message.
- ``parse+access``: parse, then read Call-ID, CSeq, the top Via branch and the From tag.

Ours validates the well-known headers at parse time (RFC 4475). Values that passed are
remembered in a bounded cache, as dialogs repeat From/To/Contact/Route: "warm" runs with
that cache, "cold" clears it before every pass over the corpus, so only repeats within
one pass hit. ``sipmessage`` validates nothing until a header is read.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sipmessage

from conformance.protocol.sip import get_from, get_vias, parse_message, serialize
from conformance.protocol.sip.message import clear_caches

HERE = Path(__file__).resolve().parent
RFC4475 = HERE.parent / "tests" / "data" / "rfc4475"
VALID_RFC4475 = [
    "wsinv",
    "intmeth",
    "esc01",
    "escnull",
    "esc02",
    "lwsdisp",
    "longreq",
    "dblreq",
    "semiuri",
    "transports",
    "mpart01",
    "unreason",
    "noreason",
]


def load_corpus() -> tuple[list[tuple[str, bytes]], list[str]]:
    items: list[tuple[str, bytes]] = []
    if RFC4475.is_dir():
        items += [(n, (RFC4475 / f"{n}.dat").read_bytes()) for n in VALID_RFC4475]
    items += [(p.stem, p.read_bytes()) for p in sorted((HERE / "corpus").glob("*.sip"))]
    common: list[tuple[str, bytes]] = []
    skipped: list[str] = []
    for name, data in items:
        msg = parse_message(data)  # ours must parse every one of them
        try:
            sipmessage.Message.parse(msg.raw)
        except Exception:
            skipped.append(name)
            continue
        common.append((name, msg.raw))
    return common, skipped


def best_rate(repeat: int, loops: int, count: int, func: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(loops):
            func()
        best = min(best, time.perf_counter() - start)
    return loops * count / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--loops", type=int, default=300)
    args = ap.parse_args()

    corpus, skipped = load_corpus()
    msgs = [d for _, d in corpus]
    n = len(msgs)

    def ours_warm() -> None:
        for d in msgs:
            parse_message(d).to_bytes()

    def ours_cold() -> None:
        clear_caches(names=False)
        for d in msgs:
            parse_message(d).to_bytes()

    def ours_rebuild() -> None:
        for d in msgs:
            m = parse_message(d)
            serialize(m.first_line(), m.headers, m.body)

    def ours_access() -> None:
        for d in msgs:
            m = parse_message(d)
            _ = (m.call_id, m.cseq, get_vias(m)[0].branch, get_from(m).tag)

    def theirs() -> None:
        for d in msgs:
            bytes(sipmessage.Message.parse(d))

    def theirs_access() -> None:
        for d in msgs:
            m = sipmessage.Message.parse(d)
            _ = (
                m.call_id,
                m.cseq,
                m.via[0].parameters.get("branch"),
                m.from_address.parameters.get("tag"),
            )

    # sanity: both sides round-trip the same bytes
    for d in msgs:
        assert parse_message(d).to_bytes() == d

    rates = {
        "ours parse+serialize (warm)": best_rate(args.repeat, args.loops, n, ours_warm),
        "ours parse+serialize (cold)": best_rate(args.repeat, args.loops, n, ours_cold),
        "ours parse+rebuild (warm)": best_rate(args.repeat, args.loops, n, ours_rebuild),
        "sipmessage parse+serialize": best_rate(args.repeat, args.loops, n, theirs),
        "ours parse+access (warm)": best_rate(args.repeat, args.loops, n, ours_access),
        "sipmessage parse+access": best_rate(args.repeat, args.loops, n, theirs_access),
    }
    theirs_rate = rates["sipmessage parse+serialize"]
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"sipmessage {sipmessage.__version__}"
    )
    print(f"corpus: {n} messages ({', '.join(name for name, _ in corpus)})")
    if skipped:
        print(f"excluded (sipmessage cannot parse them; ours does): {', '.join(skipped)}")
    width = max(map(len, rates))
    for label, rate in rates.items():
        print(f"{label:<{width}}  {rate:>10,.0f} msg/s")
    print(
        f"ratio ours/sipmessage parse+serialize: "
        f"warm {rates['ours parse+serialize (warm)'] / theirs_rate:.2f}, "
        f"cold {rates['ours parse+serialize (cold)'] / theirs_rate:.2f}, "
        f"rebuild {rates['ours parse+rebuild (warm)'] / theirs_rate:.2f}"
    )
    print(
        f"ratio ours/sipmessage parse+access: "
        f"{rates['ours parse+access (warm)'] / rates['sipmessage parse+access']:.2f}"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
