"""How the tool starts a pytest child over its test cases: where the installed test cases are
and the environment the child gets. Shared by ``run`` (conformance/cli.py) and the self-test's
worker sessions (conformance/selftest_pool.py), which do not import each other."""

from __future__ import annotations

import importlib.util
from pathlib import Path


class TestcasesNotFound(RuntimeError):
    """The ``conformance.testcases`` package is not installed."""


def locate_testcases() -> Path:
    """The folder of the installed ``conformance.testcases`` package (the source tree's
    ``testcases/`` in an editable checkout)."""
    spec = importlib.util.find_spec("conformance.testcases")
    if spec is None or not spec.submodule_search_locations:
        raise TestcasesNotFound(
            "cannot find the test cases (package conformance.testcases): reinstall with"
            " `pip install -e .` in a checkout, or install the cpm-conformance wheel"
        )
    return Path(next(iter(spec.submodule_search_locations)))


#: the configuration file of a pytest child over the test cases (:func:`suite_args`)
SUITE_INI = Path(__file__).resolve().parent / "pytest" / "suite.ini"


def suite_args(testcases: Path) -> list[str]:
    """The options that make a pytest child over ``testcases`` (the suite's folder, or a
    folder or file in it) read the tool's own configuration (:data:`SUITE_INI`) and
    nothing around the test cases.

    Without them pytest takes the first pytest.ini, tox.ini or pyproject.toml above the
    test cases: in a checkout, the project's own, whose options are the project tests'
    (``-p no:cacheprovider`` made ``run --lf`` run everything; an option of a plugin the
    child does not load was a warning in every run). The root directory is the folder
    that holds the suite, so a test case's node id (``testcases/...``) is the same in a
    checkout and in an installed wheel, and so are the ids in results.json that
    ``--durations-from`` and ``--lf`` go by. Only the conftest.py files of the suite
    load."""
    root = suite_root(testcases)
    return ["-c", str(SUITE_INI), "--rootdir", str(root.parent), "--confcutdir", str(root)]


def suite_root(testcases: Path) -> Path:
    """The folder of the suite ``testcases`` is or lies in: the installed test cases when
    it is inside them, else ``testcases`` itself (its folder, for a file)."""
    path = testcases.resolve()
    try:
        installed = locate_testcases().resolve()
    except TestcasesNotFound:
        installed = None
    if installed is not None and path.is_relative_to(installed):
        return installed
    return path if path.is_dir() else path.parent


def bytecode_cache_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a pytest child, with its bytecode cached outside the source tree.

    With ``PYTHONDONTWRITEBYTECODE`` set (and no ``PYTHONPYCACHEPREFIX``) every child would
    compile the tool, its test cases and pytest's assertion rewrites anew: measured here,
    2.8 s of the 5 s of a one-test-case run. The child writes its bytecode under
    ``$XDG_CACHE_HOME/cpm-conformance/pycache`` instead (``PYTHONPYCACHEPREFIX``, which
    pytest's rewriter honours too), so nothing is written beside the sources either way.
    """
    if env.get("PYTHONDONTWRITEBYTECODE") and not env.get("PYTHONPYCACHEPREFIX"):
        base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        env["PYTHONPYCACHEPREFIX"] = str(Path(base) / "cpm-conformance" / "pycache")
        del env["PYTHONDONTWRITEBYTECODE"]
    return env


def use_bytecode_cache() -> None:
    """The :func:`bytecode_cache_env` policy for this process, before it imports the tool.

    The command line imports about 350 modules. With ``PYTHONDONTWRITEBYTECODE`` set it
    would compile each anew at every start (0.3 s of ``run``'s start-up here, and more at
    its end, when the report's modules load); it reads and writes their bytecode in the
    same cache its pytest children use instead."""
    import os
    import sys

    if sys.dont_write_bytecode and not sys.pycache_prefix:
        mine = {k: os.environ[k] for k in ("XDG_CACHE_HOME",) if k in os.environ}
        env = bytecode_cache_env({**mine, "PYTHONDONTWRITEBYTECODE": "1"})
        sys.pycache_prefix = env["PYTHONPYCACHEPREFIX"]
        sys.dont_write_bytecode = False


#: the pytest plugins a pytest child of the tool loads: the tool's own and pytest-asyncio
#: (the test cases are coroutines), pytest-xdist for workers, allure-pytest for
#: ``--alluredir``. Nothing else installed beside the tool is loaded (:func:`hermetic_env`).
SUITE_PLUGINS = ("conformance.plugin", "pytest_asyncio.plugin")


def hermetic_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a pytest child that loads only the plugins :func:`plugin_args` names.

    A plugin that happens to be installed in the user's environment cannot change what a
    run judges, and pytest's search of every installed distribution's entry points, with
    the imports of the plugins it finds, no longer costs each process (every xdist worker
    among them) about 0.4 s of CPU (measured here: 1.76 s against 1.31 s for a collection
    of the suite). A plugin a user wants anyway is named after ``--``: ``-p NAME``."""
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def plugin_args(*, xdist: bool = False, allure: bool = False) -> list[str]:
    """``-p`` options for the plugins of :data:`SUITE_PLUGINS` and the optional ones."""
    names = [*SUITE_PLUGINS]
    if xdist:
        names.append("xdist.plugin")
    if allure:
        names.append("allure_pytest.plugin")
    return [arg for name in names for arg in ("-p", name)]
