"""The captured evidence of one test case, as the results files and the HTML report keep it.

- :class:`MessageRecord`: one captured datagram or segment (timestamps, direction,
  addresses and the roles they played, protocol, the data as text, capped at
  :data:`TEXT_CAP` characters).
- :func:`records_from_capture`: :class:`~conformance.net.capture.CaptureRecord` to
  :class:`MessageRecord`.
- :func:`safe_name`: a test case node id as a file name (``DIR/evidence/<safe>.log``).
- :func:`write_evidence_files`: the raw message log and the pcap of one test case.
- :func:`exchanges`: records grouped per protocol exchange (SIP transaction, MSRP
  transaction) for the Allure steps.
- :func:`matches_evidence`, :func:`evidence_records`: the exact messages a check's evidence
  points at (by capture index when it names one, else by the excerpt's bytes; never by a
  first line alone).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.checks.verdict import EvidenceRef
from conformance.net.capture import Capture, CaptureRecord, format_record, write_text_log
from conformance.net.pcap import write_pcap

__all__ = [
    "EVIDENCE_DIR",
    "MAX_RECORDS",
    "TEXT_CAP",
    "MessageRecord",
    "endpoint_label",
    "evidence_index",
    "evidence_records",
    "exchanges",
    "matches_evidence",
    "records_from_capture",
    "safe_name",
    "write_evidence_files",
]

#: characters of a message kept in the results (the .log and .pcap files keep everything)
TEXT_CAP = 16384
#: records of one test case kept in the results (the first ones; the files keep all)
MAX_RECORDS = 400
EVIDENCE_DIR = "evidence"


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One captured message of a test case (JSON-friendly)."""

    index: int
    timestamp: float
    direction: str
    transport: str
    protocol: str
    src: str
    dst: str
    #: the data decoded as UTF-8 (invalid bytes replaced), at most TEXT_CAP characters
    text: str
    #: the data's size in bytes (the text may be shorter: ``truncated``)
    size: int
    truncated: bool = False
    #: the role the source / destination address played ("tool: CF", "SUT: PF"; "": unknown)
    src_role: str = ""
    dst_role: str = ""

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0].rstrip("\r")

    @property
    def src_label(self) -> str:
        """``role (address)``, or the address alone when its role is unknown."""
        return endpoint_label(self.src, self.src_role)

    @property
    def dst_label(self) -> str:
        return endpoint_label(self.dst, self.dst_role)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "timestamp": self.timestamp,
            "direction": self.direction,
            "transport": self.transport,
            "protocol": self.protocol,
            "src": self.src,
            "dst": self.dst,
            "size": self.size,
            "text": self.text,
        }
        if self.truncated:
            out["truncated"] = True
        if self.src_role:
            out["src_role"] = self.src_role
        if self.dst_role:
            out["dst_role"] = self.dst_role
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MessageRecord:
        return cls(
            index=int(data.get("index", 0)),
            timestamp=float(data.get("timestamp", 0.0)),
            direction=str(data.get("direction", "")),
            transport=str(data.get("transport", "")),
            protocol=str(data.get("protocol", "") or ""),
            src=str(data.get("src", "")),
            dst=str(data.get("dst", "")),
            text=str(data.get("text", "")),
            size=int(data.get("size", 0)),
            truncated=bool(data.get("truncated", False)),
            src_role=str(data.get("src_role", "") or ""),
            dst_role=str(data.get("dst_role", "") or ""),
        )

    @classmethod
    def of(cls, rec: CaptureRecord, cap: int = TEXT_CAP) -> MessageRecord:
        text = rec.data.decode("utf-8", errors="replace")
        return cls(
            index=rec.index,
            timestamp=rec.timestamp,
            direction=rec.direction,
            transport=rec.transport,
            protocol=rec.protocol or "",
            src=f"{rec.src[0]}:{rec.src[1]}",
            dst=f"{rec.dst[0]}:{rec.dst[1]}",
            text=text[:cap],
            size=len(rec.data),
            truncated=len(text) > cap,
            src_role=rec.src_role or "",
            dst_role=rec.dst_role or "",
        )


def endpoint_label(address: str, role: str) -> str:
    """``role (address)``, or the address alone when no role is known."""
    return f"{role} ({address})" if role else address


def records_from_capture(
    records: Iterable[CaptureRecord], *, cap: int = TEXT_CAP, limit: int = MAX_RECORDS
) -> list[MessageRecord]:
    out: list[MessageRecord] = []
    for rec in records:
        if len(out) >= limit:
            break
        out.append(MessageRecord.of(rec, cap))
    return out


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(nodeid: str) -> str:
    """A file name for a node id: readable, bounded, and unique (a short hash suffix)."""
    stem = _UNSAFE.sub("_", nodeid).strip("_.")[:120] or "test"
    digest = hashlib.sha1(nodeid.encode("utf-8")).hexdigest()[:8]  # noqa: S324 - a name
    return f"{stem}-{digest}"


def write_evidence_files(
    capture: Capture, records: Sequence[CaptureRecord], report_dir: Path, nodeid: str
) -> dict[str, str]:
    """Write ``evidence/<safe>.log`` and ``.pcap``; returns their paths relative to
    ``report_dir`` (``{"log": ..., "pcap": ...}``)."""
    folder = report_dir / EVIDENCE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stem = safe_name(nodeid)
    write_text_log(records, folder / f"{stem}.log")
    write_pcap(capture, folder / f"{stem}.pcap", list(records))
    return {"log": f"{EVIDENCE_DIR}/{stem}.log", "pcap": f"{EVIDENCE_DIR}/{stem}.pcap"}


def raw_log(records: Iterable[CaptureRecord]) -> str:
    return "".join(format_record(r) for r in records)


_CALL_ID = re.compile(r"^(?:call-id|i)\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_CSEQ = re.compile(r"^cseq\s*:\s*(\d+)", re.IGNORECASE | re.MULTILINE)
_MSRP = re.compile(r"^MSRP (\S+) ")


def _exchange_key(text: str, protocol: str) -> str:
    first = text.split("\n", 1)[0]
    if protocol == "msrp" or first.startswith("MSRP "):
        m = _MSRP.match(first)
        return f"msrp:{m.group(1)}" if m else f"msrp:{first}"
    cid = _CALL_ID.search(text)
    cseq = _CSEQ.search(text)
    if cid and cseq:
        return f"sip:{cid.group(1).strip()}:{cseq.group(1)}"
    return f"other:{first}"


def exchanges(records: Sequence[MessageRecord]) -> list[tuple[str, list[MessageRecord]]]:
    """Records grouped per exchange (SIP: by Call-ID and CSeq number, so an ACK joins its
    INVITE; MSRP: by transaction id), in order of first appearance; the title is the first line of
    the first record."""
    groups: dict[str, list[MessageRecord]] = {}
    for rec in records:
        groups.setdefault(_exchange_key(rec.text, rec.protocol), []).append(rec)
    return [(recs[0].first_line, recs) for recs in groups.values()]


#: a pointer naming a capture index: "index=12", "#12", "message 12"
_INDEX_POINTER = re.compile(r"(?:index\s*=\s*|#|message\s+)(\d+)", re.IGNORECASE)


def evidence_index(ref: EvidenceRef) -> int | None:
    """The capture index ``ref`` names (an ``index`` attribute when the evidence carries
    one, else a pointer of the form ``index=N``, ``#N`` or ``message N``), or None."""
    value = getattr(ref, "index", None)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _INDEX_POINTER.fullmatch(ref.pointer.strip())
    return int(m.group(1)) if m else None


def _excerpt_text(ref: EvidenceRef) -> str:
    return ref.excerpt.decode("utf-8", errors="replace")


def matches_evidence(record: MessageRecord, ref: EvidenceRef) -> bool:
    """True when ``record`` is the message ``ref`` points at: the capture index it names,
    else the exact bytes of its excerpt (the record holds the excerpt, or a message
    that the excerpt spans whole). Never by the first line alone: three different
    ``SIP/2.0 200 OK`` are three messages."""
    index = evidence_index(ref)
    if index is not None:
        return record.index == index
    excerpt = _excerpt_text(ref).strip()
    if not excerpt:
        return False
    text = record.text.strip()
    if not text:
        return False
    if record.truncated and excerpt.startswith(text):
        return True
    return excerpt in record.text or (len(text) >= 16 and text in excerpt)


def evidence_records(records: Sequence[MessageRecord], refs: Iterable[EvidenceRef]) -> set[int]:
    """The indices of the records the evidence ``refs`` point at: per reference, the record
    its index names, else the records whose bytes equal the excerpt, else those holding
    it (:func:`matches_evidence`)."""
    out: set[int] = set()
    for ref in refs:
        index = evidence_index(ref)
        if index is not None:
            out.update(r.index for r in records if r.index == index)
            continue
        excerpt = _excerpt_text(ref).strip()
        if not excerpt:
            continue
        exact = {r.index for r in records if r.text.strip() == excerpt}
        out.update(exact or {r.index for r in records if matches_evidence(r, ref)})
    return out
