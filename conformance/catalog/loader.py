"""Load and validate the requirement catalogue (``catalog/data/*.toml``).

Each file holds one specification document::

    document = "OMA-TS-CPM_Conversation_Function"

    [[requirement]]
    id = "PF-8.3.2-8.a.vii-setup"
    section = "8.3.2"
    step = "8.a.vii"
    seed = "003_0557e26cc06c581a.txt"
    roles = ["pf"]
    strength = "SHALL"
    quote = "SHALL set the a=setup attribute as “passive”;"
    applicability = "pf.media_path"
    testable = true
    # optional: title, untestable_reason (required when testable = false),
    #           interpretation, duplicates, references

Every problem found is reported at once in a :class:`CatalogError` naming the file, the entry
(index and id), the key and the problem.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from conformance.catalog.model import Document, Requirement, Role, Strength, Testability
from conformance.catalog.pics import PICS_OPTIONS, PicsError, check_expression

__all__ = ["DATA_DIR", "SEED_FILES", "Catalog", "CatalogError", "load_catalog"]

DATA_DIR = Path(__file__).parent / "data"

#: the five seed documents the catalogue is built from
SEED_FILES: frozenset[str] = frozenset(
    {
        "000_dbd9d6900bb0b760.txt",
        "001_dbb4df0309740898.txt",
        "002_bc7af3ec309079d0.txt",
        "003_0557e26cc06c581a.txt",
        "004_a86a1acc8acd03b8.txt",
    }
)

_REQUIRED = (
    "id",
    "section",
    "step",
    "seed",
    "roles",
    "strength",
    "quote",
    "applicability",
    "testable",
)
_OPTIONAL = ("title", "untestable_reason", "interpretation", "duplicates", "references")
_STR_KEYS = (
    "id",
    "section",
    "step",
    "seed",
    "strength",
    "quote",
    "applicability",
    "title",
    "untestable_reason",
    "interpretation",
)
_LIST_KEYS = ("roles", "duplicates", "references")


class CatalogError(ValueError):
    """The catalogue data is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid requirement catalogue:\n  " + "\n  ".join(problems))


class Catalog:
    """The loaded requirements, in file order (documents sorted by file name)."""

    __slots__ = ("_by_id", "requirements")

    def __init__(self, requirements: tuple[Requirement, ...]) -> None:
        self.requirements = requirements
        self._by_id: Mapping[str, Requirement] = {r.id: r for r in requirements}

    def get(self, req_id: str) -> Requirement:
        try:
            return self._by_id[req_id]
        except KeyError:
            raise KeyError(_unknown_id_message(req_id, self._by_id)) from None

    def __contains__(self, req_id: object) -> bool:
        return req_id in self._by_id

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self.requirements)

    def __len__(self) -> int:
        return len(self.requirements)

    def for_role(self, role: Role | str) -> tuple[Requirement, ...]:
        """Requirements that bind ``role`` (named anywhere in their roles)."""
        wanted = Role(role)
        return tuple(r for r in self.requirements if wanted in r.roles)

    def by_section(self, prefix: str) -> tuple[Requirement, ...]:
        """Requirements of a section and its subsections ("8.3.2" matches 8.3.2 and 8.3.2.9,
        not 8.3.20)."""
        p = prefix.rstrip(".")
        return tuple(
            r for r in self.requirements if r.section == p or r.section.startswith(p + ".")
        )

    def to_json_list(self) -> list[dict[str, Any]]:
        return [requirement_to_dict(r) for r in self.requirements]


def requirement_to_dict(r: Requirement) -> dict[str, Any]:
    return {
        "id": r.id,
        "role": r.role.value,
        "roles": [x.value for x in r.roles],
        "strength": r.strength.value,
        "mandatory": r.strength.mandatory,
        "document": r.document.value,
        "section": r.section,
        "step": r.step,
        "clause": r.clause,
        "seed": r.seed,
        "title": r.title,
        "quote": r.quote,
        "applicability": r.applicability,
        "testable": r.testability.testable,
        "untestable_reason": r.testability.reason,
        "interpretation": r.interpretation,
        "duplicates": list(r.duplicates),
        "references": list(r.references),
    }


def _unknown_id_message(req_id: str, known: Mapping[str, Requirement]) -> str:
    import difflib

    near = difflib.get_close_matches(req_id, list(known), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    return f"unknown requirement id {req_id!r}{hint} (see `cpm-conformance requirements`)"


def load_catalog(data_dir: Path | None = None) -> Catalog:
    """Load and validate every ``*.toml`` in ``data_dir`` (default: the packaged data; cached)."""
    if data_dir is None:
        return _load_default()
    return _load(Path(data_dir))


@lru_cache(maxsize=1)
def _load_default() -> Catalog:
    return _load(DATA_DIR)


def _load(data_dir: Path) -> Catalog:
    problems: list[str] = []
    files = sorted(data_dir.glob("*.toml"))
    if not files:
        raise CatalogError([f"{data_dir}: no *.toml catalogue files"])
    out: list[Requirement] = []
    seen: dict[str, str] = {}
    documents: dict[Document, str] = {}
    for path in files:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            problems.append(f"{path.name}: cannot read: {exc}")
            continue
        out.extend(_load_file(path.name, data, problems, seen, documents))
    if problems:
        raise CatalogError(problems)
    return Catalog(tuple(out))


def _load_file(
    fname: str,
    data: dict[str, Any],
    problems: list[str],
    seen: dict[str, str],
    documents: dict[Document, str],
) -> list[Requirement]:
    def err(where: str, msg: str) -> None:
        problems.append(f"{fname}: {where}: {msg}")

    unknown_top = set(data) - {"document", "requirement"}
    for key in sorted(unknown_top):
        err(f"key {key!r}", "unknown top-level key (expected document and [[requirement]])")
    doc_raw = data.get("document")
    document: Document | None = None
    if doc_raw is None:
        err("key 'document'", "missing top-level key")
    else:
        try:
            document = Document(doc_raw)
        except ValueError:
            err(
                "key 'document'",
                f"unknown document {doc_raw!r} (one of {', '.join(d.value for d in Document)})",
            )
    if document is not None:
        if document in documents:
            err(
                "key 'document'",
                f"{document.value} is already the document of "
                f"{documents[document]} (one file per document)",
            )
        else:
            documents[document] = fname
    entries = data.get("requirement", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        err("key 'requirement'", "must be an array of tables ([[requirement]])")
        return []
    if not entries:
        err("key 'requirement'", "no [[requirement]] entries")
    out: list[Requirement] = []
    for index, entry in enumerate(entries):
        req = _load_entry(fname, index, entry, document, problems, seen)
        if req is not None:
            out.append(req)
    return out


def _load_entry(
    fname: str,
    index: int,
    e: dict[str, Any],
    document: Document | None,
    problems: list[str],
    seen: dict[str, str],
) -> Requirement | None:
    rid = e.get("id")
    label = f"requirement[{index}]" + (f" ({rid})" if isinstance(rid, str) and rid else "")
    before = len(problems)

    def err(key: str, msg: str) -> None:
        problems.append(f"{fname}: {label}: key {key!r}: {msg}")

    for key in _REQUIRED:
        if key not in e:
            err(key, "missing required key")
    for key in sorted(set(e) - set(_REQUIRED) - set(_OPTIONAL)):
        err(key, f"unknown key (allowed: {', '.join(_REQUIRED + _OPTIONAL)})")
    for key in _STR_KEYS:
        if key in e and not isinstance(e[key], str):
            err(key, f"expected a string, got {type(e[key]).__name__}")
    for key in _LIST_KEYS:
        if key in e and (
            not isinstance(e[key], list) or not all(isinstance(x, str) for x in e[key])
        ):
            err(key, "expected an array of strings")
    if "testable" in e and not isinstance(e["testable"], bool):
        err("testable", f"expected true or false, got {e['testable']!r}")
    if len(problems) > before:
        return None

    if not rid or any(c.isspace() for c in rid):
        err("id", f"must be non-empty without spaces, got {rid!r}")
    elif rid in seen:
        err("id", f"duplicate id (first defined in {seen[rid]})")
    else:
        seen[rid] = f"{fname} {label}"
    for key in ("section", "quote"):
        if not e[key].strip():
            err(key, "must not be empty")
    if e["seed"] not in SEED_FILES:
        err("seed", f"unknown seed file {e['seed']!r} (one of {', '.join(sorted(SEED_FILES))})")
    roles: list[Role] = []
    if not e["roles"]:
        err("roles", "must name at least one role")
    for name in e["roles"]:
        try:
            roles.append(Role(name))
        except ValueError:
            err("roles", f"unknown role {name!r} (one of {', '.join(r.value for r in Role)})")
    if len(set(roles)) != len(roles):
        err("roles", "names a role twice")
    strength: Strength | None = None
    try:
        strength = Strength(e["strength"])
    except ValueError:
        err(
            "strength",
            f"unknown strength {e['strength']!r} (one of {', '.join(s.value for s in Strength)})",
        )
    try:
        check_expression(e["applicability"], PICS_OPTIONS)
    except PicsError as exc:
        err("applicability", str(exc))
    testable: bool = e["testable"]
    reason = e.get("untestable_reason", "")
    if not testable and not reason.strip():
        err("untestable_reason", "an untestable requirement needs a reason")
    if testable and reason:
        err("untestable_reason", "given for a testable requirement (set testable = false)")
    if len(problems) > before or strength is None or document is None:
        return None
    assert isinstance(rid, str)
    return Requirement(
        id=rid,
        document=document,
        section=e["section"],
        step=e["step"],
        seed=e["seed"],
        roles=tuple(roles),
        strength=strength,
        quote=e["quote"],
        applicability=e["applicability"],
        testability=Testability(testable, reason),
        title=e.get("title", ""),
        interpretation=e.get("interpretation", ""),
        duplicates=tuple(e.get("duplicates", ())),
        references=tuple(e.get("references", ())),
    )
