"""Errors gradcheck raises to its caller. Each says what went wrong and what to do about it.

Problems *with a submission* are not exceptions: they are findings (``load-error`` and the
rest). These are for problems with how gradcheck was called.
"""


class GradcheckError(Exception):
    """Base class: catch this to handle any usage or harness problem."""


class UsageError(GradcheckError):
    """gradcheck was called with arguments it cannot act on; the message says which and why."""


class HarnessError(GradcheckError):
    """gradcheck itself failed (not the submission): e.g. the worker interpreter cannot start.
    Check ``--python`` and that the installation is complete."""
