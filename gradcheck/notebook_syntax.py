"""IPython-only syntax in notebook cells (``%time``, ``!pip``, ``%%bash``) made inert, keeping
line numbers, so that cells compile as Python; nothing that is already Python is rewritten."""

from __future__ import annotations

import re

from gradcheck.source import parse_or_none

_IPY_LINE = re.compile(r"^(\s*)(%|!|\?)")
_IPY_ASSIGN = re.compile(r"^(\s*[\w.]+\s*=\s*)(%|!)")
_RUNS_ITS_CELL = {"%%time", "%%capture"}  # cell magics that run the cell's Python once


def strip_ipython(source: str) -> str:
    """Neutralise IPython-only syntax, keeping line numbers. A cell that is already Python is
    left alone (a continuation line may start with ``%``). ``%%time`` and ``%%capture`` run
    their cell, so only that first line goes; any other cell magic (``%%bash``,
    ``%%writefile``) makes the whole cell inert; line magics, shell escapes and help lines
    become ``pass``."""
    first = source.lstrip().split("\n", 1)[0]
    if first.startswith("%%"):
        if first.split()[0] not in _RUNS_ITS_CELL:
            return "\n".join("# " + line for line in source.splitlines())
        lines = source.splitlines()
        at = next(i for i, line in enumerate(lines) if line.strip())
        lines[at] = "pass  # " + lines[at].strip()
        return "\n".join(lines)
    if parse_or_none(source) is not None:
        return source
    out = []
    for line in source.splitlines():
        m = _IPY_LINE.match(line)
        if m:
            out.append(f"{m.group(1)}pass  # {line.strip()}")
            continue
        m = _IPY_ASSIGN.match(line)
        if m:
            out.append(f"{m.group(1)}None  # {line.strip()}")
            continue
        out.append(line)
    return "\n".join(out)
