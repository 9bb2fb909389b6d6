"""The fault registry: names, validation, and requirement ids that exist in the catalogue."""

from __future__ import annotations

import pytest

from conformance.catalog.loader import load_catalog
from conformance.errors import LocalProtocolError
from conformance.reference.faults import FAULTS, ActiveFaults


def test_every_fault_names_catalogue_requirements_of_its_role() -> None:
    catalog = load_catalog()
    for fault in FAULTS.values():
        assert fault.requirement_ids, fault.name
        assert fault.name.startswith(f"{fault.role}."), fault.name
        for req_id in fault.requirement_ids:
            assert req_id in catalog, f"{fault.name}: {req_id} not in the catalogue"
            roles = [getattr(r, "value", r) for r in catalog.get(req_id).roles]
            assert fault.role in roles, f"{fault.name}: {req_id} binds {roles}"


def test_active_faults_parse_and_on() -> None:
    active = ActiveFaults.parse(" cf.no-noresource, ,cf.unknown-focus-200")
    assert active.on("cf.no-noresource")
    assert not active.on("cf.no-initial-notify")
    assert active.sorted == ("cf.no-noresource", "cf.unknown-focus-200")


def test_unknown_fault_names_are_refused_with_the_known_ones() -> None:
    with pytest.raises(LocalProtocolError) as info:
        ActiveFaults(frozenset({"cf.nope"}))
    assert "cf.nope" in str(info.value) and "cf.no-noresource" in str(info.value)
    with pytest.raises(LocalProtocolError):
        ActiveFaults().on("pf.typo")


def test_fault_sets_are_named_by_role_and_the_section_of_the_first_requirement() -> None:
    """faultsets/<role>_<section>.py: a fault lives in the set of its role and of the
    section of the first requirement it breaks (pf_8_2_1, client_b_2_3_5_x, pf_admin)."""
    import importlib
    import pkgutil

    from conformance.reference import faultsets

    catalog = load_catalog()
    misplaced: list[str] = []
    for info in pkgutil.iter_modules(faultsets.__path__):
        module = importlib.import_module(f"{faultsets.__name__}.{info.name}")
        assert module.FAULTS, info.name
        for fault in module.FAULTS:
            section = catalog.get(fault.requirement_ids[0]).section
            expected = f"{fault.role}_" + section.lower().replace("+", "_plus").replace(".", "_")
            if info.name != expected:
                misplaced.append(f"{fault.name} is in {info.name}, belongs in {expected}")
    assert misplaced == []
