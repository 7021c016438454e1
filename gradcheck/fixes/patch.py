"""Edits to a learner's source, combined into one patch: the patched text per cell, a unified
diff a person reads, and a patched copy of a notebook in which only the edited cells change.

An edit replaces whole lines (``first``..``last`` of one cell, or of the file when ``cell`` is
None) by what its ``change`` makes of them. Changes are idempotent and read the text they are
given, so two edits of the same statement (an overwrite that also lacks ``* out.grad``) compose;
an edit inside another's lines is left to the outer one, which already rewrote those lines.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Edit:
    cell: int | None  # notebook cell (1-based, as findings count them); None for a .py file
    first: int  # 1-based, inclusive
    last: int
    change: Callable[[str], str]  # the lines' text (with their newlines) -> its replacement

    def contains(self, other: Edit) -> bool:
        return self.cell == other.cell and self.first <= other.first and other.last <= self.last

    def overlaps(self, other: Edit) -> bool:
        return self.cell == other.cell and self.first <= other.last and other.first <= self.last


def replacing(text: str) -> Callable[[str], str]:
    """A change that writes fixed text, whatever the lines held."""
    return lambda _old: text


def apply(sources: dict[int | None, str], edits: list[Edit]) -> dict[int | None, str]:
    """The texts with the edits applied (edits on overlapping lines must share their range).
    Each cell's edits are applied bottom-up so that earlier line numbers stay valid."""
    out = dict(sources)
    for cell in {e.cell for e in edits}:
        lines = out[cell].splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
            trailing_newline = False
        else:
            trailing_newline = True
        ranges: dict[tuple[int, int], list[Edit]] = {}
        for e in edits:
            if e.cell == cell:
                ranges.setdefault((e.first, e.last), []).append(e)
        for (first, last), group in sorted(ranges.items(), reverse=True):
            text = "".join(lines[first - 1:last])
            for e in group:
                text = e.change(text)
            lines[first - 1:last] = [text] if text else []
        joined = "".join(lines)
        out[cell] = joined if trailing_newline or not joined.endswith("\n") else joined[:-1]
    return out


def combinable(edit_lists: list[list[Edit]]) -> list[tuple[int, int | None]]:
    """For each list of edits (one per proposal, in order of preference): -1 when its edits can
    join the patch, the index of an earlier list whose edits already rewrite its lines, or None
    when it clashes with an earlier one in another way (it is left out of the patch)."""
    taken: list[tuple[int, Edit]] = []
    verdicts: list[tuple[int, int | None]] = []
    for index, edits in enumerate(edit_lists):
        verdict: int | None = -1
        for e in edits:
            for owner, t in taken:
                if (t.first, t.last) == (e.first, e.last) and t.cell == e.cell:
                    continue  # the same statement: the changes compose
                if t.contains(e):
                    verdict = owner if verdict in (-1, owner) else None
                elif t.overlaps(e):
                    verdict = None
        verdicts.append((index, verdict))
        if verdict == -1:
            taken.extend((index, e) for e in edits)
    return verdicts


def diff_path(path: Path) -> str:
    """The file's name in a diff's headers, so that ``git apply`` / ``patch -p1`` take it: the
    path as given when it is relative and stays below the folder it was given from (apply there),
    else the file's name alone (apply in the file's own folder, ``apply_folder``)."""
    if path.is_absolute() or ".." in path.parts:
        return path.name
    return path.as_posix()


def apply_folder(path: Path) -> Path | None:
    """Where a patch with ``diff_path`` headers applies, when that is not where it was made."""
    return path.parent if path.is_absolute() or ".." in path.parts else None


def unified_diff(before: dict[int | None, str], after: dict[int | None, str], shown_as: str) -> str:
    """One unified diff over every cell that changed, headed by the file (and cell)."""
    parts = []
    for cell in sorted((c for c in after if after[c] != before.get(c)), key=lambda c: c or 0):
        name = shown_as if cell is None else f"{shown_as} (cell {cell})"
        parts.extend(difflib.unified_diff(
            before[cell].splitlines(keepends=True), _ended(after[cell]).splitlines(keepends=True),
            fromfile=f"a/{name}", tofile=f"b/{name}"))
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts)


def _ended(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"


def patched_notebook(raw: str, cell_sources: dict[int | None, str]) -> str:
    """The notebook's JSON with the given cells' sources replaced; every other byte of every
    other cell (outputs, metadata, ids) stays as it was."""
    nb = json.loads(raw)
    for cell, source in cell_sources.items():
        if cell is None:
            continue
        entry = nb["cells"][cell - 1]
        entry["source"] = source.splitlines(keepends=True) if isinstance(entry["source"], list) else source
    indent = 1 if raw.lstrip().startswith("{\n ") and not raw.lstrip().startswith("{\n  ") else 2
    return json.dumps(nb, indent=indent, ensure_ascii=False) + "\n"
