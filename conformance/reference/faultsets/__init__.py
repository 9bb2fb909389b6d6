"""Fault sets of the reference SUT, one module per area (e.g. ``pf_terminating``).

Each module of this package defines ``FAULTS: tuple[Fault, ...]``; the registry in
:mod:`conformance.reference.faults` collects every module found here, so areas are added
without editing a shared list.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Fault:
    """One named fault: the role it affects and the requirements it breaks.

    ``pics`` are the claims a run needs for the broken behaviour to be observable (for
    example ``(("pf.media_path", "false"),)`` for a proxy-mode fault); the selftest runs
    the fault, and a clean control run, with those claims.
    """

    name: str
    role: str
    requirement_ids: tuple[str, ...]
    description: str
    pics: tuple[tuple[str, str], ...] = ()


def discovered_faults() -> tuple[Fault, ...]:
    """The faults of every area module of this package, in module-name order."""
    found: list[Fault] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(getattr(module, "FAULTS", ()))
    return tuple(found)


__all__ = ["Fault", "discovered_faults"]
