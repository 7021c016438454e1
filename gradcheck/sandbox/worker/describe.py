"""The submission's values, callables and exceptions as plain data for a reply.

Everything the worker reports about the submission's objects goes through here, so that no
object of the submission is ever sent, compared or trusted as it is: a number is reported only
when it really is one, text is cut short, and a hostile ``__str__`` cannot take the worker down.
"""

import numbers
import sys

# The files of the worker's own modules (filled by worker.py): a traceback frame in one of them
# is never the submission's. The guard's and the protocol's files are not among them.
_worker_files = set()


def count_as_worker(filenames):
    """Frames of code compiled from these files are the worker's, not the submission's."""
    _worker_files.update(filenames)


def safe_str(obj, limit=300):
    try:
        text = str(obj)
    except BaseException:  # a hostile __str__ must not take the worker down
        text = "<unprintable>"
    return text[:limit]


def _subject_frame(tb):
    """The innermost traceback frame that belongs to the submission, as (filename, line).
    Looked for from the innermost end, where it nearly always is: reading a traceback entry's
    frame is an audited event that the guard judges, and a RecursionError's traceback has a
    thousand entries (judging them all was 17 ms of a correct subject's check)."""
    entries = []
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    for tb in reversed(entries):
        code = tb.tb_frame.f_code
        if code.co_filename not in _worker_files:
            return [code.co_filename, tb.tb_lineno]
    return None


def describe_exception(exc):
    described = {"type": type(exc).__name__, "message": safe_str(exc),
                 "where": _subject_frame(exc.__traceback__)}
    name = getattr(exc, "name", None) if isinstance(exc, NameError) else None
    if type(name) is str:
        described["name"] = name[:100]  # the undefined name: `math` when it was never imported
    return described


def real(x):
    """A subject's scalar as a float, or None if it is not a real number: int, float, numpy's
    scalars and 0-d numpy arrays count; bool and an object that merely converts itself do not."""
    if type(x) in (int, float):
        return float(x)
    if type(x) is bool:
        return None
    numpy = sys.modules.get("numpy")
    try:
        if isinstance(x, numbers.Real) or (
                numpy is not None and isinstance(x, numpy.ndarray) and x.shape == ()
                and x.dtype.kind in "fiu"):
            return float(x)
    except BaseException:
        return None
    return None


def node_number(node, data_attr):
    """A node's data as ``number`` gives it -- or, when an op returned something that is not a
    node at all (a float from ``-self.data``), what it returned."""
    if not hasattr(node, data_attr):
        return {"error": "not-a-node", "type": safe_str(type(node).__name__, 80)}
    return number(getattr(node, data_attr, None))


def number(x):
    """A subject's number as a float, or an error description (never trusted as-is)."""
    if type(x) is bool:
        return float(x)
    value = real(x)
    if value is not None:
        return value
    return {"error": "not-a-number", "type": safe_str(type(x).__name__, 80)}


def itemsize(x):
    """Bytes per number of a numpy scalar or array (4 for float32), else None."""
    try:
        size = x.dtype.itemsize
    except BaseException:
        return None
    return size if type(size) is int else None


def code_id(fn):
    """Where a callable was defined, so the trusted side can point at the source line."""
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return {"qualname": safe_str(getattr(fn, "__qualname__", type(fn).__name__)),
                "file": None, "line": None}
    return {"qualname": code.co_qualname if hasattr(code, "co_qualname") else code.co_name,
            "file": code.co_filename, "line": code.co_firstlineno}
