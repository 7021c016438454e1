"""Submissions that dodge scoring instead of attacking the harness: each is the small correct
``minimal_value.py`` with one trick added, as source text."""

from subjects.hostile import BASE


def _edit(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


# tanh's derivative is right whenever its input is a leaf on the 0.01 grid (or not a leaf at
# all), and wrong for every other leaf: only inputs off that grid can catch it.
OFF_GRID = _edit(
    "            self.grad += (1 - t * t) * out.grad\n",
    "            on_grid = self._prev or round(self.data, 2) == self.data\n"
    "            self.grad += ((1 - t * t) if on_grid else (1 - t)) * out.grad\n")

# Gradients can only change while backward() or one of the subject's own closures runs, so the
# local-rule probe -- which presets gradients from outside -- cannot be set up; everything the
# subject computes itself is right.
GUARDED_GRAD = BASE + '''

_busy = []  # non-empty while backward() or one of the subject's own closures runs


def _busy_while(fn):
    def run(*args):
        _busy.append(fn)
        try:
            return fn(*args)
        finally:
            _busy.pop()
    return run


def _setattr(self, name, value):
    if name == "grad" and value != 0.0 and not _busy:
        raise AttributeError("grad is set by backward() only")
    if name == "_backward":
        value = _busy_while(value)
    object.__setattr__(self, name, value)


Value.__setattr__ = _setattr
Value.backward = _busy_while(Value.backward)
'''
