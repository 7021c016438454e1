"""Turning a path into source units the worker can execute -- without executing anything.

A ``.py`` file is one unit; a notebook is one unit per code cell (IPython-only syntax such as
``%matplotlib inline`` or ``!pip install`` neutralised line by line, so line numbers still
match); a marimo notebook (a ``.py`` of ``@app.cell`` functions, read by gradcheck/marimo.py) is
one unit per cell, keeping the file's line numbers; a folder is the file in it that defines the
class (a notebook that defines it several times: see ``Submission.kept``). ``SourceMap`` maps the worker's (filename, line) pairs back to what the user sees: file,
cell and line.
"""

from __future__ import annotations

import ast
import json
import os
import posixpath
import stat
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from gradcheck.discovery import Definition, class_definitions, definition_to_check, pick_file
from gradcheck.findings import Location
from gradcheck.marimo import marimo_app_name, marimo_units
from gradcheck.notebook_syntax import strip_ipython
from gradcheck.source import parse_or_none


class SourceError(Exception):
    """The path cannot be read as a submission; becomes a ``load-error`` finding."""


@dataclass
class Unit:
    label: str  # "cell 3 (In [7])" or the file name
    filename: str  # what the code is compiled as; the key of the SourceMap
    code: str
    cell: int | None = None
    # the text the user sees for this unit's lines, when it is not the code that runs: a marimo
    # cell runs dedented, but its lines are shown as they are in the .py file
    shown: str | None = None

    @property
    def text(self) -> str:
        return self.shown if self.shown is not None else self.code


@dataclass
class Submission:
    path: Path
    kind: str  # "file", "notebook", "module"
    units: list[Unit] = field(default_factory=list)
    sys_path: list[str] = field(default_factory=list)  # folders inside the copy, relative
    module: str | None = None  # "package.module:Class" for installed code
    # gradcheck's own copy of the submission's files (relative path -> bytes), read once here:
    # the worker gets these, and source lines are only ever looked up in them
    files: dict[str, bytes] = field(default_factory=dict)
    root: Path | None = None  # the folder (or file) the copy was taken from
    module_sources: dict[str, str] = field(default_factory=dict)  # installed module: file -> text
    copy_roots: tuple[str, ...] = ()  # where the worker sees the copy, besides VIRTUAL_ROOT
    read_as: str = ""  # how it was read when that is not what its name says (a note says so)
    package: str = ""  # the dotted package the file is a module of, for its relative imports

    def wire_units(self) -> list[dict]:
        wire = [{"label": u.label, "filename": u.filename, "code": u.code} for u in self.units]
        for unit in wire:
            if self.package:
                unit["package"] = self.package
            lines = [d.line for d in self.kept.values() if d.filename == unit["filename"]]
            if lines:
                unit["keep_classes"] = lines
            # `__eq__` without `__hash__` is reported once (checks/basics.py), and the class is
            # checked as if hashed by identity, so that it is not one TypeError per op
            lines = [d.line for defs in self.definitions.values() for d in defs
                     if d.unhashable and d.ops and d.filename == unit["filename"]]
            if lines:
                unit["hash_by_identity"] = lines
        return wire

    def own_modules(self, names: set[str]) -> set[str]:
        """Those of ``names`` that the submission's copy provides as a top-level module or
        package where its imports are found (a learner's own package named ``micrograd``): the
        worker's guard decides the same from the same files (``guard_policy.own_modules``)."""
        own = set()
        for root in self.sys_path:
            base = f"{root}/" if root else ""
            for rel in self.files:
                if rel.startswith(base) and rel.endswith(".py"):
                    first = rel[len(base):].split("/", 1)[0]
                    name = first[:-3] if first.endswith(".py") else first
                    if name in names:
                        own.add(name)
        return own

    @cached_property
    def definitions(self) -> dict[str, list[Definition]]:
        """Every top-level class statement of the units, by name, in the order they run."""
        return class_definitions((u.filename, u.cell, u.code) for u in self.units)

    @cached_property
    def kept(self) -> dict[str, Definition]:
        """Classes defined more than once whose latest definition is not the one to check (an
        exercise's cut-down variant after the full engine): name -> the definition the worker
        binds the name to again once every unit has run."""
        kept = {}
        for name, defs in self.definitions.items():
            chosen = definition_to_check(defs)
            if chosen is not None and chosen is not defs[-1]:
                kept[name] = chosen
        return kept

    def locate(self, filename: str | None, line: int | None) -> Location | None:
        """The user-facing location of a line the worker reported. Only gradcheck's own copy
        is consulted: a file name the worker names is never opened."""
        for unit in self.units:
            if unit.filename == filename:
                return Location(file=str(self.path), line=line, cell=unit.cell,
                                text=_line(unit.text, line))
        found = self._copied(filename)
        if found is not None and line:
            shown, text = found
            return Location(file=shown, line=line, text=_line(text, line))
        return None

    @property
    def _copy_base(self) -> Path:
        """The folder the copy's relative paths start from, as the user knows it."""
        return self.root if self.root is not None and self.root.is_dir() else self.path.parent

    def _copied(self, filename: str | None) -> tuple[str, str] | None:
        """(name shown to the user, text) of a file in the copy, named as the worker sees it."""
        if not filename:
            return None
        if filename in self.module_sources:
            return filename, self.module_sources[filename]
        for root in (VIRTUAL_ROOT, *self.copy_roots):
            if filename.startswith(root + "/"):
                rel = filename[len(root) + 1:]
                data = self.files.get(rel)
                if data is not None:
                    return str(self._copy_base / rel), data.decode("utf-8", "replace")
        return None

    def with_context(self, location: Location, around: int = 3) -> Location:
        """The location with the source lines around it (line numbers as the user sees them)."""
        source = None
        for unit in self.units:
            if unit.cell == location.cell and (unit.cell is not None or str(self.path) == location.file):
                source = unit.text
                break
        else:
            source = self._shown_source(location.file)
        if not source or not location.line:
            return location
        lines = source.splitlines()
        lo, hi = max(1, location.line - around), min(len(lines), location.line + around)
        context = tuple((n, lines[n - 1]) for n in range(lo, hi + 1))
        return replace(location, context=context)

    def _shown_source(self, shown: str) -> str | None:
        if shown in self.module_sources:
            return self.module_sources[shown]
        for rel, data in self.files.items():
            if str(self._copy_base / rel) == shown:
                return data.decode("utf-8", "replace")
        return None

    def source_of(self, filename: str) -> str | None:
        for unit in self.units:
            if unit.filename == filename:
                return unit.code
        found = self._copied(filename)
        return found[1] if found else None


# Where the submission's files appear to its code: the unit file names are always under this
# root, whichever isolation runs the worker (bubblewrap mounts the copy exactly there).
VIRTUAL_ROOT = "/submission"
MAX_FILE_BYTES = 4 << 20  # one file of a submission
MAX_COPY_BYTES = 32 << 20  # all of a folder submission
MAX_COPY_FILES = 2000


def _line(code: str, line: int | None) -> str | None:
    lines = code.splitlines()
    return lines[line - 1].strip() if line and 0 < line <= len(lines) else None


def read_submission(path: Path, class_name: str | None = None,
                    helpers_beside: bool = False) -> Submission:
    """A file, notebook or folder as a submission with gradcheck's own copy of its files. A
    folder is copied whole; a file alone -- or, with ``helpers_beside`` (a file a user names
    to ``check``, never one of a batch, whose neighbours are classmates), with the ``.py``
    files next to it, for ``from helpers import draw_dot``."""
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    if path.is_dir():
        picked = pick_file(path, class_name)
        if picked is None:
            want = f"a class named {class_name!r}" if class_name else "a Value-like class"
            raise SourceError(f"{path}: no .py or .ipynb file in it defines {want}")
        rel = picked.relative_to(path).as_posix()
        sub = _read_file(picked, rel)
        sub.root, sub.files = path, copy_folder(path)
        sub.files[rel] = read_regular(picked)
        sub.sys_path = _import_roots(rel, sub.files)
        here, top = posixpath.dirname(rel), sub.sys_path[-1]
        if here != top:  # the file is a module of a package: `from .helpers import order` works
            sub.package = posixpath.relpath(here, top or ".").replace("/", ".")
        return sub
    sub = _read_file(path, path.name)
    sub.root = path
    if helpers_beside:
        sub.files = {**copy_folder(path.parent, recurse=False, suffix=".py"), **sub.files}
    return sub


def _read_file(path: Path, rel: str) -> Submission:
    if path.suffix not in (".py", ".ipynb"):
        raise SourceError(f"{path}: not a Python file (.py) or notebook (.ipynb)")
    data = read_regular(path)
    text = _decode(path, data)
    if path.suffix == ".ipynb" and (python := _python_not_notebook(text)) is not None:
        # JupyterLab's `.virtual_documents/*.ipynb`: the cells' code concatenated, no JSON
        sub = Submission(path=path, kind="file", read_as="Python (the file is not notebook JSON)",
                         units=[Unit(label=path.name, filename=f"{VIRTUAL_ROOT}/{rel}", code=python)])
    elif path.suffix == ".ipynb":
        sub = Submission(path=path, kind="notebook", units=_notebook_units(path, text, rel))
    elif (marimo := _marimo_units(text, rel)) is not None:
        sub = Submission(path=path, kind="notebook", units=marimo)
    else:
        sub = Submission(path=path, kind="file",
                         units=[Unit(label=path.name, filename=f"{VIRTUAL_ROOT}/{rel}", code=text)])
    sub.files = {rel: data}
    sub.sys_path = [posixpath.dirname(rel)]  # local helpers: `from graph import draw_dot`
    return sub


def _import_roots(rel: str, files: dict[str, bytes]) -> list[str]:
    """Where the submission's imports are found: the file's folder and, when that folder is a
    package (``micrograd/engine.py`` beside ``micrograd/__init__.py``), the folder its top
    package is in, so that ``from micrograd.order import ordering`` finds the learner's own."""
    here = top = posixpath.dirname(rel)
    while top and posixpath.join(top, "__init__.py") in files:
        top = posixpath.dirname(top)
    return [here] if top == here else [here, top]


def read_regular(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's bytes, at most ``limit``: never blocks on a FIFO or a device, never
    follows a symlink out of where it was named."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SourceError(f"{path}: not a regular file")
        if info.st_size > limit:
            raise SourceError(f"{path}: larger than {limit >> 20} MB")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(limit + 1)[:limit]
    finally:
        os.close(fd)


def copy_folder(folder: Path, recurse: bool = True, suffix: str = "") -> dict[str, bytes]:
    """The regular files of a folder submission, for its private copy: symlinks (which could
    lead to a classmate), hidden folders and caches are left out; size and count are capped.
    ``recurse=False`` and ``suffix``: only the folder's own files of that kind."""
    files: dict[str, bytes] = {}
    total = 0
    for top, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__") if recurse else []
        for name in sorted(names):
            full = Path(top) / name
            if name.startswith(".") or not name.endswith(suffix) or full.is_symlink() or not full.is_file():
                continue
            try:
                data = read_regular(full)
            except SourceError:
                continue
            total += len(data)
            if total > MAX_COPY_BYTES or len(files) >= MAX_COPY_FILES:
                return files
            files[full.relative_to(folder).as_posix()] = data
    return files


def module_submission(target: str) -> Submission:
    """An installed ``module:Class``: the worker imports it; gradcheck keeps the module file's
    text for source lines, found without importing (nothing of it runs here)."""
    from importlib.machinery import PathFinder

    module, _, _ = target.partition(":")
    sub = Submission(path=Path(target), kind="module", module=target)
    search = None
    parts = module.split(".")
    for depth in range(len(parts)):
        name = ".".join(parts[: depth + 1])
        spec = PathFinder.find_spec(name, search)
        if spec is None:
            return sub
        search = spec.submodule_search_locations
    if spec.origin and spec.origin.endswith(".py"):
        try:
            sub.module_sources[spec.origin] = read_regular(Path(spec.origin)).decode("utf-8", "replace")
        except SourceError:
            pass
    return sub


def session_submission(cells: list[str]) -> Submission:
    """A live IPython/Jupyter session as a notebook: the cells it has executed, in order.
    Cells that call gradcheck are left out, so that the worker does not check itself."""
    units = [Unit(label=f"In [{i}]", filename=f"<session>::cell{i}", code=strip_ipython(src), cell=i)
             for i, src in enumerate(cells, start=1) if src.strip() and "gradcheck" not in src]
    return Submission(path=Path("<session>"), kind="notebook", units=units)


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc


def _python_not_notebook(text: str) -> str | None:
    """The code of an ``.ipynb`` that is no JSON document but Python (IPython lines made inert,
    as in a cell), else None: a real notebook, or a broken one (reported as such)."""
    if text.lstrip().startswith("{"):
        return None
    code = strip_ipython(text)
    tree = parse_or_none(code)
    return code if tree is not None and any(isinstance(s, ast.ClassDef) for s in tree.body) else None


def _notebook_units(path: Path, text: str, rel: str) -> list[Unit]:
    import nbformat

    try:
        nb = nbformat.reads(text, as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        raise SourceError(f"{path}: not a valid notebook (the file is not notebook JSON: {exc})") from exc
    except Exception as exc:  # nbformat raises several types for malformed documents
        raise SourceError(f"{path}: not a valid notebook ({exc})") from exc
    units = []
    for index, cell in enumerate(nb.cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        count = cell.get("execution_count")
        label = f"cell {index}" + (f" (In [{count}])" if count else "")
        units.append(Unit(label=label, filename=f"{VIRTUAL_ROOT}/{rel}::cell{index}",
                          code=strip_ipython(source), cell=index))
    return units


def _marimo_units(text: str, rel: str) -> list[Unit] | None:
    """The units of a marimo notebook, or None when the file is not one. Its cells run in one
    namespace as a notebook's do (``__main__``); their lines are the file's, so locations carry
    no cell number and the whole file is what their lines show."""
    if "marimo" not in text:  # most files: not parsed here a second time
        return None
    tree = parse_or_none(text)
    app = marimo_app_name(tree) if tree is not None else None
    if app is None:
        return None
    return [Unit(label=unit.label, filename=f"{VIRTUAL_ROOT}/{rel}::{unit.key}", code=unit.code,
                 shown=text) for unit in marimo_units(text, tree, app)]
