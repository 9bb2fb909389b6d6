"""The pytest plugin of the conformance suite, one module per concern.

The entry point is :mod:`conformance.plugin` (``pytest11``), which registers these modules:

- :mod:`~conformance.pytest.options`: the command-line options;
- :mod:`~conformance.pytest.config`: the run's state and the getters of its configuration
  (SUT profile, catalogue, faults, store, layout);
- :mod:`~conformance.pytest.selection`: the ``requirement`` marker, selection and
  applicability at collection;
- :mod:`~conformance.pytest.verdicts`: the ``recorder`` fixture and the verdict of each test
  case (inconc and n/a outcomes become pytest skips);
- :mod:`~conformance.pytest.evidence`: the capture's records, evidence files and Allure;
- :mod:`~conformance.pytest.controller`: the results controller (results.jsonl/json, the
  terminal summary).

The modules import pytest absolutely (``from __future__ import annotations``, no implicit
relative imports in Python 3), so this package never shadows the real ``pytest``.
"""
