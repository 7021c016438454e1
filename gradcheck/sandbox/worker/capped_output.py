"""What the submission prints, kept up to a size and otherwise only counted.

A submission may print without end (training loops, debugging output). Its ``sys.stdout`` and
``sys.stderr`` are replaced by writers that pass the first bytes on to the captured pipe and
drop the rest, and once the kept part is full ``print`` stops formatting what nobody will read.
"""

import os
import sys


def cap(keep):
    """Replace stdout and stderr (and their ``sys.__std*__`` originals) with capped writers."""
    sys.stdout = sys.__stdout__ = CappedOutput(1, keep)
    sys.stderr = sys.__stderr__ = CappedOutput(2, keep)


class CappedOutput:
    """sys.stdout/sys.stderr for the submission: the first bytes go to the captured pipe, the
    rest is only counted, so printing a million lines costs almost nothing."""

    def __init__(self, fd, keep):
        self.fd, self.left = fd, keep
        self.encoding, self.errors = "utf-8", "replace"

    def write(self, text):
        if self.left > 0:
            data = str(text).encode("utf-8", "replace")[: self.left]
            self.left -= len(data)
            try:
                os.write(self.fd, data)
            except OSError:
                self.left = 0
            if self.left <= 0:
                _quieten_print()
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    def reconfigure(self, *args, **kwargs):  # sys.stdout.reconfigure(encoding="utf-8")
        pass

    @property
    def buffer(self):
        return self

    def fileno(self):
        return self.fd


def _quieten_print():
    """Once the kept output is full, ``print`` to stdout/stderr returns at once: formatting
    what nobody will read is most of what a print costs."""
    import builtins

    original = builtins.print

    def quiet_print(*args, **kwargs):
        target = kwargs.get("file")
        if target is not None and target is not sys.stdout and target is not sys.stderr:
            return original(*args, **kwargs)
        return None

    builtins.print = quiet_print
