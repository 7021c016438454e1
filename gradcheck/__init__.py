"""gradcheck: verify the gradients of a micrograd-style autograd engine.

    >>> import gradcheck
    >>> result = gradcheck.check("my_micrograd.ipynb")
    >>> result.verdict, [f.code for f in result.findings]
"""

from __future__ import annotations

import inspect
from pathlib import Path

from gradcheck.checks import CheckSettings
from gradcheck.errors import GradcheckError, HarnessError, UsageError
from gradcheck.findings import Finding, Location
from gradcheck.result import Result
from gradcheck.runner import Options, check_path

__all__ = ["check", "Result", "Finding", "Location", "CheckSettings", "Options",
           "GradcheckError", "UsageError", "HarnessError"]


def check(subject, *, class_name: str | None = None, examples: int = 100, seed: int | None = None,
          backward: str | None = None, python: str | None = None) -> Result:
    """Check a Value class, or the submission at a path (.py, .ipynb, folder, ``module:Class``).

    A class is never run in this process: gradcheck runs the file or module that defines it in
    a separate worker process, so edits made since it was imported are what gets checked.
    """
    options = Options(class_name=class_name, backward=backward, python=python,
                      settings=CheckSettings(examples=examples, seed=seed))
    if isinstance(subject, type):
        module = inspect.getmodule(subject)
        source = getattr(module, "__file__", None)
        if module is not None and module.__name__ not in ("__main__", "builtins") and source:
            target = f"{module.__name__}:{subject.__name__}"
        elif source:
            target = source
        else:
            raise UsageError(f"{subject.__name__} was defined interactively and has no source file; "
                             "save it in a .py file or pass the notebook's path instead")
        options.class_name = class_name or subject.__name__
        return check_path(target, options)
    if isinstance(subject, str | Path):
        return check_path(str(subject), options)
    raise UsageError(f"check() takes a class or a path, not {type(subject).__name__}")
