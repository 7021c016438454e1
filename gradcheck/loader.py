"""Turning a path into source units the worker can execute -- without executing anything.

A ``.py`` file is one unit; a notebook is one unit per code cell (IPython-only syntax such as
``%matplotlib inline`` or ``!pip install`` neutralised line by line, so line numbers still
match); a folder is the file in it that defines the class. ``SourceMap`` maps the worker's
(filename, line) pairs back to what the user sees: file, cell and line.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from gradcheck.findings import Location
from gradcheck.source import parse_or_none

_IPY_LINE = re.compile(r"^(\s*)(%|!|\?)")
_IPY_ASSIGN = re.compile(r"^(\s*[\w.]+\s*=\s*)(%|!)")


class SourceError(Exception):
    """The path cannot be read as a submission; becomes a ``load-error`` finding."""


@dataclass
class Unit:
    label: str  # "cell 3 (In [7])" or the file name
    filename: str  # what the code is compiled as; the key of the SourceMap
    code: str
    cell: int | None = None


@dataclass
class Submission:
    path: Path
    kind: str  # "file", "notebook", "module"
    units: list[Unit] = field(default_factory=list)
    sys_path: list[str] = field(default_factory=list)
    module: str | None = None  # "package.module:Class" for installed code

    def wire_units(self) -> list[dict]:
        return [{"label": u.label, "filename": u.filename, "code": u.code} for u in self.units]

    def locate(self, filename: str | None, line: int | None) -> Location | None:
        """The user-facing location of a line the worker reported."""
        for unit in self.units:
            if unit.filename == filename:
                text = None
                lines = unit.code.splitlines()
                if line and 0 < line <= len(lines):
                    text = lines[line - 1].strip()
                return Location(file=str(self.path), line=line, cell=unit.cell, text=text)
        if filename and not filename.startswith("<") and line:
            text = _line_of(Path(filename), line)
            return Location(file=filename, line=line, text=text)
        return None

    def with_context(self, location: Location, around: int = 3) -> Location:
        """The location with the source lines around it (line numbers as the user sees them)."""
        for unit in self.units:
            if unit.cell == location.cell and (unit.cell is not None or str(self.path) == location.file):
                source = unit.code
                break
        else:
            source = self.source_of(location.file)
        if not source or not location.line:
            return location
        lines = source.splitlines()
        lo, hi = max(1, location.line - around), min(len(lines), location.line + around)
        context = tuple((n, lines[n - 1]) for n in range(lo, hi + 1))
        return replace(location, context=context)

    def source_of(self, filename: str) -> str | None:
        for unit in self.units:
            if unit.filename == filename:
                return unit.code
        try:
            return Path(filename).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None


def _line_of(path: Path, line: int) -> str | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return lines[line - 1].strip() if 0 < line <= len(lines) else None


def read_submission(path: Path, class_name: str | None = None) -> Submission:
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    if path.is_dir():
        return read_submission(_pick_file(path, class_name), class_name)
    if path.suffix == ".ipynb":
        sub = Submission(path=path, kind="notebook", units=_notebook_units(path))
    elif path.suffix == ".py":
        sub = Submission(path=path, kind="file",
                         units=[Unit(label=path.name, filename=str(path.resolve()), code=_read_text(path))])
    else:
        raise SourceError(f"{path}: not a Python file (.py) or notebook (.ipynb)")
    sub.sys_path = [str(path.resolve().parent)]  # local helpers: `from graph import draw_dot`
    return sub


def session_submission(cells: list[str]) -> Submission:
    """A live IPython/Jupyter session as a notebook: the cells it has executed, in order.
    Cells that call gradcheck are left out, so that the worker does not check itself."""
    units = [Unit(label=f"In [{i}]", filename=f"<session>::cell{i}", code=strip_ipython(src), cell=i)
             for i, src in enumerate(cells, start=1) if src.strip() and "gradcheck" not in src]
    return Submission(path=Path("<session>"), kind="notebook", units=units)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror})") from exc


def _notebook_units(path: Path) -> list[Unit]:
    import nbformat

    text = _read_text(path)
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
        units.append(Unit(label=label, filename=f"{path.resolve()}::cell{index}",
                          code=strip_ipython(source), cell=index))
    return units


def strip_ipython(source: str) -> str:
    """Neutralise IPython-only syntax, keeping line numbers: a cell magic (``%%time``) makes
    the whole cell inert; line magics, shell escapes and help lines become ``pass``."""
    if source.lstrip().startswith("%%"):
        return "\n".join("# " + line for line in source.splitlines())
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


# --------------------------------------------------------------------- choosing in a folder

def discover(folder: Path, class_name: str | None = None) -> list[Path]:
    """The files in a folder that define the class. One file: the folder is one submission
    (its other files are helpers). Several: a collection, e.g. ``reference_impls/``."""
    return [entry[-1] for entry in sorted(_scored_files(folder, class_name))]


def _scored_files(folder: Path, class_name: str | None) -> list[tuple]:
    """(key, path) for each file under ``folder`` that defines the class. The walk keeps its
    own stack (a folder nested thousands deep would exhaust ``rglob``'s recursion) and skips
    hidden entries, ``__pycache__`` and symlinked folders; no single file can stop it."""
    candidates, stack = [], [folder]
    while stack:
        current = stack.pop()
        try:
            children = list(current.iterdir())
        except OSError:  # unreadable, or vanished meanwhile
            continue
        for child in children:
            if child.name.startswith(".") or child.name == "__pycache__":  # .ipynb_checkpoints too
                continue
            try:
                if not child.is_symlink() and child.is_dir():
                    stack.append(child)
                elif child.suffix in (".py", ".ipynb"):
                    candidates.append(child)
            except OSError:
                continue
    scored = []
    for path in sorted(candidates):
        try:
            score = _class_score(path, class_name)
        except (OSError, ValueError, RecursionError, MemoryError):  # what a hostile file can cause
            continue
        if score > 0:
            scored.append((str(path), path))
    return scored


def _pick_file(folder: Path, class_name: str | None) -> Path:
    """The file in a folder that defines the class: the one whose class has the most
    arithmetic dunders; .py preferred over .ipynb when tied."""
    scored = [(-_class_score(path, class_name), path.suffix != ".py", len(path.parts), key, path)
              for key, path in _scored_files(folder, class_name)]
    if not scored:
        want = f"a class named {class_name!r}" if class_name else "a Value-like class"
        raise SourceError(f"{folder}: no .py or .ipynb file in it defines {want}")
    return min(scored)[-1]


# Discovery reads at most this much of a file: more than any notebook with its outputs needs,
# and a bound on what one hostile file can cost the trusted process.
_DISCOVERY_READ_BYTES = 16 * 2**20


def _class_score(path: Path, class_name: str | None) -> int:
    """How much the file looks like it defines the class (0: not at all): the arithmetic
    dunders of its best class. A file that is too big or too deeply nested to parse safely
    scores 1 if its text mentions the class, so that loading it reports its error rather than
    skipping it silently; one that cannot be read as text or a notebook scores 0."""
    mentions = re.compile(rf"class\s+{re.escape(class_name or 'Value')}\b").search
    try:
        if not path.is_file():  # a FIFO would block discovery, a device never end it
            return 0
        with path.open("rb") as f:
            raw = f.read(_DISCOVERY_READ_BYTES + 1)
    except OSError:
        return 0
    if len(raw) > _DISCOVERY_READ_BYTES:
        return 1 if mentions(raw.decode("utf-8", errors="replace")) else 0
    try:
        text = raw.decode("utf-8")
        if path.suffix == ".ipynb":
            cells = json.loads(text).get("cells", [])
            sources = ["".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", "")
                       for c in cells if c.get("cell_type") == "code"]
        else:
            sources = [text]
    except (ValueError, TypeError, AttributeError, RecursionError, MemoryError):
        return 0
    best = 0
    for source in (s for s in sources if isinstance(s, str)):
        tree = parse_or_none(strip_ipython(source))
        if tree is None:
            if mentions(source):
                best = max(best, 1)
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                if class_name and node.name != class_name:
                    continue
                methods = {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
                score = len(methods & {"__add__", "__mul__", "__pow__", "__sub__", "__truediv__",
                                       "__neg__", "tanh", "exp", "backward"})
                if node.name.lower() == "value":
                    score += 1
                best = max(best, score)
    return best
