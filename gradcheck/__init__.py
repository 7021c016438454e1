"""gradcheck: verify the gradients of a micrograd-style autograd engine.

    >>> import gradcheck
    >>> result = gradcheck.check("my_micrograd.ipynb")
    >>> result.verdict, [f.code for f in result.findings]
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib
import inspect
from pathlib import Path
from typing import TYPE_CHECKING

from gradcheck.errors import GradcheckError, HarnessError, UsageError

__all__ = ["check", "Result", "Finding", "Location", "CheckSettings", "Options",
           "GradcheckError", "UsageError", "HarnessError"]

if TYPE_CHECKING:
    from gradcheck.result import Result

# Imported on first use: pytest loads gradcheck's plugin (and so this package) in every run of
# every project where gradcheck is installed, and the runner pulls in Hypothesis and the oracles.
_LAZY = {"Result": "gradcheck.result", "Finding": "gradcheck.findings", "Location": "gradcheck.findings",
         "CheckSettings": "gradcheck.checks", "Options": "gradcheck.runner"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gradcheck' has no attribute {name!r}")


def check(subject, *, class_name: str | None = None, examples: int = 100, seed: int | None = None,
          backward: str | None = None, python: str | None = None, fixes: bool = False) -> Result:
    """Check a Value class, or the submission at a path (.py, .ipynb, folder, ``module:Class``).

    A class is never run in this process: gradcheck runs the file or module that defines it in
    a separate worker process, so edits made since it was imported are what gets checked.

    ``fixes=True``: each finding gradcheck can repair in one place gets a fix (``Result.fixes``,
    and the patch of them all in ``Result.patch``), shown as verified only when a patched copy,
    checked the same way, no longer has the finding and has no new error. It costs one more
    check per failing file; a class defined in this session, or installed, gets no fixes.
    """
    from gradcheck.checks import CheckSettings
    from gradcheck.loader import session_submission
    from gradcheck.runner import Options, check_path, check_submission

    if fixes:
        from gradcheck.fixes import check_with_fixes as run_path
    else:
        run_path = check_path

    options = Options(class_name=class_name, backward=backward, python=python,
                      helpers_beside=True,  # one submission named by its user: its helpers come
                      settings=CheckSettings(examples=examples, seed=seed))
    if isinstance(subject, type):
        options.class_name = class_name or subject.__name__
        module = inspect.getmodule(subject)
        source = getattr(module, "__file__", None)
        installed = source and any(part in source for part in ("site-packages", "dist-packages"))
        if installed and module.__name__ != "__main__":
            return check_path(f"{module.__name__}:{subject.__name__}", options)
        if source:  # the learner's own file: checked as a file, so findings point into it
            return run_path(source, options)
        cells = _ipython_cells()
        if cells is None:
            raise UsageError(f"{subject.__name__} was defined interactively and has no source file; "
                             "save it in a .py file or pass the notebook's path instead")
        return check_submission(session_submission(cells), options, subject=f"{subject.__name__} (this session)")
    if isinstance(subject, str | Path):
        return run_path(str(subject), options)
    raise UsageError(f"check() takes a class or a path, not {type(subject).__name__}")


def _ipython_cells() -> list[str] | None:
    """The cells this Jupyter/IPython session has run, except the one running now."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None:
        return None
    history = list(shell.user_ns.get("In") or [])
    return [cell for cell in history[1:-1] if isinstance(cell, str)]
