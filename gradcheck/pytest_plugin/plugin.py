"""The ``pytest11`` entry point: the ``--gradcheck`` options, the ``gradcheck`` marker and the
instructor's fixtures -- and nothing heavy. pytest loads this module in every run of every
project where gradcheck is installed, so the checking machinery (``collection.py``: the runner,
the oracles, Hypothesis) is imported and its hooks registered only when ``--gradcheck`` is given.
"""

from __future__ import annotations

import pytest

from gradcheck.pytest_plugin.fixtures import _gradcheck_marker, gradcheck_subject  # noqa: F401

MARKER = ("gradcheck(ops=[...], points=N): an instructor's test of the --gradcheck subject; "
          "skipped when the subject lacks one of the ops, points recorded for grading")
RUN = pytest.StashKey["collection.GradcheckRun"]()  # this session's subjects and results


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradcheck", "gradcheck: check a micrograd-style Value class")
    group.addoption("--gradcheck", action="append", default=[], metavar="PATH",
                    help="check this .py file, notebook, folder or module:Class (a quoted glob "
                         "such as 'student/*.ipynb' is expanded); repeat for several")
    group.addoption("--gradcheck-class", metavar="NAME",
                    help="the class to check when it is not found unambiguously")
    group.addoption("--gradcheck-rubric", metavar="R",
                    help="score items with a rubric (part1, full or a TOML file): its ops only, "
                         "an item passes when it earns its points")
    group.addoption("--gradcheck-examples", type=int, default=100, metavar="N",
                    help="generated cases per property search (default 100)")
    group.addoption("--gradcheck-backward", metavar="NAME",
                    help="the method that runs backpropagation")
    group.addoption("--gradcheck-python", metavar="PATH",
                    help="interpreter that runs the submission (default: this one)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    if config.getoption("gradcheck"):
        from gradcheck.pytest_plugin import collection

        config.pluginmanager.register(collection, "gradcheck-collection")
        collection.configure(config)
