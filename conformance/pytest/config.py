"""The run's configuration, read on first use: the SUT profile (with ``--pics`` overrides), the
requirement catalogue, the reference SUT's faults, store, process and the layout."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pytest

from conformance.catalog.profile import ProfileError, SutProfile, load_sut
from conformance.net.capture import Capture
from conformance.net.layout import LAYOUTS
from conformance.pytest.options import ENV_CATALOG, ENV_SUT, REFERENCE_PROCESSES, STORES
from conformance.report.results import ResultsWriter

if TYPE_CHECKING:
    from conformance.catalog.loader import Catalog


@dataclass
class State:
    """The run's state (one per process, in ``config.stash[STATE]``)."""

    catalog: Catalog | None = None
    profile: SutProfile | None = None
    #: the --pics overrides have been applied to ``profile``
    pics_applied: bool = False
    writer: ResultsWriter | None = None
    #: nodeid -> accumulated report data (controller side)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    #: the run capture (found among a test case's fixture values; one per process)
    capture: Capture | None = None


STATE = pytest.StashKey[State]()


def init_state(config: pytest.Config) -> State:
    """The run's state; an explicit ``--sut`` profile is validated at once (a clear
    message, no traceback)."""
    state = State()
    config.stash[STATE] = state
    if config.getoption("cpm_sut", None):
        try:
            state.profile = load_sut(config.getoption("cpm_sut"))
        except ProfileError as exc:
            raise pytest.UsageError(f"invalid SUT profile:\n{exc}") from None
    return state


def get_profile(config: pytest.Config) -> SutProfile:
    """The run's SUT profile (loaded on first use; ``--sut``, ``$CPM_SUT`` or reference),
    with the ``--pics`` overrides applied."""
    state = config.stash[STATE]
    if state.profile is None:
        spec = config.getoption("cpm_sut", None) or os.environ.get(ENV_SUT) or "reference"
        try:
            state.profile = load_sut(spec)
        except ProfileError as exc:
            raise pytest.UsageError(f"invalid SUT profile:\n{exc}") from None
    overrides = config.getoption("cpm_pics", None) or []
    if overrides and not state.pics_applied:
        state.profile = with_pics_overrides(state.profile, overrides)
        state.pics_applied = True
    return state.profile


def with_pics_overrides(profile: SutProfile, overrides: Iterable[str]) -> SutProfile:
    """``profile`` with ``NAME=VALUE`` PICS claims replaced (validated against the registry)."""
    from conformance.catalog.pics import PICS_OPTIONS

    pics = dict(profile.pics)
    for item in overrides:
        name, sep, text = item.partition("=")
        name, text = name.strip(), text.strip()
        option = PICS_OPTIONS.get(name)
        if not sep or option is None:
            raise pytest.UsageError(f"--pics {item!r}: expected NAME=VALUE with a known PICS name")
        if option.kind == "bool":
            if text.lower() not in ("true", "false"):
                raise pytest.UsageError(f"--pics {item!r}: {name} takes true or false")
            pics[name] = text.lower() == "true"
        elif text in option.choices:
            pics[name] = text
        else:
            raise pytest.UsageError(
                f"--pics {item!r}: {name} takes one of {', '.join(option.choices)}"
            )
    return dataclasses.replace(profile, pics=MappingProxyType(pics))


def get_faults(config: pytest.Config) -> tuple[str, ...]:
    """The faults given with ``--faults`` (empty: use the profile's ``sut.faults``)."""
    text = config.getoption("cpm_faults", None) or ""
    return tuple(name.strip() for name in text.split(",") if name.strip())


def get_store(config: pytest.Config) -> str:
    """The ``--store`` of the reference SUT: ``maildir`` or ``dovecot``."""
    return str(config.getoption("cpm_store", None) or STORES[0])


def get_reference_process(config: pytest.Config) -> str:
    """The ``--reference-process``: ``inprocess`` or ``subprocess``."""
    return str(config.getoption("cpm_reference_process", None) or REFERENCE_PROCESSES[0])


def get_layout(config: pytest.Config) -> str:
    """The ``--layout``: ``direct`` or ``kamailio``."""
    return str(config.getoption("cpm_layout", None) or LAYOUTS[0])


def get_catalog(config: pytest.Config) -> Catalog:
    """The requirement catalogue (loaded on first use; ``--catalog-dir`` for tests)."""
    state = config.stash[STATE]
    if state.catalog is None:
        from conformance.catalog.loader import CatalogError, load_catalog

        data_dir = config.getoption("cpm_catalog_dir", None) or os.environ.get(ENV_CATALOG)
        try:
            state.catalog = load_catalog(Path(data_dir) if data_dir else None)
        except CatalogError as exc:
            raise pytest.UsageError(str(exc)) from None
    return state.catalog
