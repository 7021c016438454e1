"""The case store: generated graphs and the oracles' agreed answers, kept on disk.

What a subject is compared against does not depend on the subject. The graphs a property search
tries first depend only on the ops searched, the search settings and the code that generates
them; the oracles' answer for a graph depends only on the graph and the oracles. Both are
computed once and kept, so a check that finds nothing wrong imports neither torch nor sympy and
generates nothing: it reads a file, runs the subject and compares.

A *bundle* holds everything one check asked for: the sequences of its searches and the answers
for every graph it compared. It is keyed by everything that determines that content -- the
subject's op set, the search settings, and a fingerprint of gradcheck's generating and oracle
code and of the versions of Hypothesis, torch, sympy and mpmath -- so a stale bundle is never
read: it simply has another name. Bundles live in a user cache directory (platformdirs;
``GRADCHECK_CACHE_DIR`` or ``--cache-dir`` elsewhere); gradcheck also ships bundles for common op
sets (``shipped/``, see ``case_store.build``), read when the cache has none.

Writes are atomic (a temporary file renamed over the old one) and merged under a lock, so
concurrent checks (``grade -j``) lose nothing; the directory is kept under a size limit by
removing the least recently used bundles. A process that checks many subjects (a grading
process) reads a bundle once and keeps it, until another process rewrites the file.
"""

from __future__ import annotations

import fcntl
import functools
import gzip
import hashlib
import json
import os
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from gradcheck.case_store.codec import (
    answer_from_json,
    answer_to_json,
    graph_from_json,
    graph_to_json,
)
from gradcheck.graph import Graph
from gradcheck.oracles.consensus import Expected

FORMAT = 2  # 2: each entry a JSON text of its own, decoded on use
SHIPPED = Path(__file__).parent / "shipped"
SUFFIX = ".json.gz"
DEFAULT_LIMIT_MB = 64

_PACKAGE = Path(__file__).parent.parent
# gradcheck's own files whose content decides the cases and answers: any edit to them gives
# every bundle a new name
_DETERMINING = ("ops.py", "graph.py", "checks/generate.py", "checks/property_search.py",
                "oracles/__init__.py", "oracles/consensus.py", "oracles/torch_oracle.py",
                "oracles/sympy_oracle.py", "oracles/finite_difference.py", "case_store/codec.py")
_DISTRIBUTIONS = ("hypothesis", "torch", "sympy", "mpmath")

Answer = tuple[Expected | None, str]  # the agreed answer, or None and why the oracles disagreed
SearchKey = tuple[tuple[str, ...], str | None]  # (ops searched, focus op)


@functools.cache
def installed_version(dist: str) -> str | None:
    """The installed version of a distribution, None when absent (asked once per process:
    the resume key of every graded submission asks too)."""
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


@functools.cache
def fingerprint() -> str:
    digest = hashlib.sha256(f"gradcheck case store {FORMAT}\n".encode())
    for name in _DETERMINING:
        digest.update(name.encode() + b"\0" + (_PACKAGE / name).read_bytes())
    for dist in _DISTRIBUTIONS:
        digest.update(f"{dist} {installed_version(dist) or 'absent'}\n".encode())
    return digest.hexdigest()


def bundle_name(ops: Iterable[str], examples: int, max_ops: int, seed: int | None) -> str:
    """The file name of a bundle: a hash, so a secret seed is never written in clear."""
    key = json.dumps({"ops": sorted(ops), "examples": examples, "max_ops": max_ops, "seed": seed},
                     sort_keys=True)
    return hashlib.sha256(f"{fingerprint()}\n{key}".encode()).hexdigest()[:32] + SUFFIX


# What decoding a damaged entry raises (nested a thousand deep: RecursionError): a miss
_DAMAGED = (KeyError, TypeError, ValueError, RecursionError)


def _text(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _key(graph: Graph) -> str:
    """What an answer is found by: the graph's JSON text (a float's shortest repr is exact, so
    graphs built the same way have the same text; 2 and 2.0, or 0.0 and -0.0, are only misses)."""
    return _text(graph_to_json(graph))


@dataclass
class Bundle:
    """One check's cases: read from disk, grown with what the check computes, saved after it.

    On disk each sequence and each answer is a JSON text of its own, inside the bundle's JSON:
    reading a bundle makes one string per entry, and an entry is decoded when a check first
    asks for it. A check uses a few hundred of a bundle's thousands of graphs; decoding every
    number of a warm class's largest bundle at each read took 0.18 s of a grading process."""

    name: str
    added: int = 0  # entries not on disk yet
    # each sequence as Graphs, or as read (its JSON text)
    _sequences: dict[SearchKey, tuple[Graph, ...] | str] = field(default_factory=dict, repr=False)
    # each answer by its graph's JSON text: decoded, or as read (its JSON text)
    _answers: dict[str, Answer | str] = field(default_factory=dict, repr=False)

    def sequence(self, ops: Iterable[str], focus: str | None) -> tuple[Graph, ...] | None:
        key = (tuple(ops), focus)
        graphs = self._sequences.get(key)
        if isinstance(graphs, str):
            try:
                graphs = self._sequences[key] = tuple(graph_from_json(g) for g in json.loads(graphs))
            except _DAMAGED:  # damaged: a miss, which the check fills
                del self._sequences[key]
                return None
        return graphs

    def keep_sequence(self, ops: Iterable[str], focus: str | None, graphs: tuple[Graph, ...]) -> None:
        key = (tuple(ops), focus)
        if key not in self._sequences:
            self._sequences[key] = tuple(graphs)
            self.added += 1

    def answer(self, graph: Graph) -> Answer | None:
        return self._answer(_key(graph))

    def _answer(self, key: str) -> Answer | None:
        found = self._answers.get(key)
        if isinstance(found, str):
            try:
                found = self._answers[key] = answer_from_json(json.loads(found))
            except _DAMAGED:  # damaged: a miss, which the check fills
                del self._answers[key]
                return None
        return found

    def keep_answer(self, graph: Graph, answer: Answer) -> None:
        key = _key(graph)
        if key not in self._answers:
            self._answers[key] = answer
            self.added += 1

    @property
    def answers(self) -> dict[Graph, Answer]:
        """A decoded copy of every answer (to list or compare them; a check asks ``answer`` and
        adds with ``keep_answer``)."""
        decoded = {}
        for key in list(self._answers):
            answer = self._answer(key)
            if answer is None:
                continue
            try:
                decoded[graph_from_json(json.loads(key))] = answer
            except _DAMAGED:
                pass  # a damaged key: no check can ask for it either
        return decoded

    def merge(self, other: Bundle) -> None:
        """Take what ``other`` has and this one lacks (answers are the same wherever computed)."""
        for key, graphs in other._sequences.items():
            self._sequences.setdefault(key, graphs)
        for key, answer in other._answers.items():
            self._answers.setdefault(key, answer)

    def to_json(self) -> dict:
        # sorted, so that the same content is the same file (the shipped store is compared
        # with a rebuild)
        sequences = sorted(([list(ops), focus, graphs if isinstance(graphs, str) else
                             _text([graph_to_json(g) for g in graphs])]
                            for (ops, focus), graphs in self._sequences.items()),
                           key=lambda entry: _text(entry[:2]))
        answers = sorted([key, answer if isinstance(answer, str) else _text(answer_to_json(*answer))]
                         for key, answer in self._answers.items())
        return {"format": FORMAT, "fingerprint": fingerprint(), "sequences": sequences,
                "answers": answers}

    @classmethod
    def from_json(cls, name: str, data: dict) -> Bundle:
        bundle = cls(name)
        if data.get("format") != FORMAT or data.get("fingerprint") != fingerprint():
            return bundle
        for ops, focus, graphs in data["sequences"]:
            if isinstance(graphs, str):
                bundle._sequences[(tuple(ops), focus)] = graphs  # decoded on first use
        for key, answer in data["answers"]:
            if isinstance(key, str) and isinstance(answer, str):
                bundle._answers[key] = answer  # decoded on first use
        return bundle


# Bundles this process has read or written, by path, with the file's identity when it did: a
# grading process checks one subject after another against the same few bundles, and keeps the
# entries it decoded.
_KNOWN: dict[Path, tuple[tuple[int, int, int], Bundle]] = {}


def _identity(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file is replaced (writes are renames: a new inode) or touched --
    almost always: an identity that repeats only costs answers another process added (a save
    still merges the file)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def _known(path: Path) -> Bundle | None:
    """The bundle this process last read or wrote at ``path``, if the file is still that one."""
    entry = _KNOWN.get(path)
    if entry is None or entry[0] != _identity(path):
        return None
    return entry[1]


def _remember(path: Path, bundle: Bundle) -> None:
    if (ident := _identity(path)) is not None:
        _KNOWN[path] = (ident, bundle)


def read_bundle(path: Path) -> Bundle | None:
    """The bundle in ``path``; None when there is none or it cannot be read (a damaged file is
    a cache miss, and is overwritten by the next save)."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
        return Bundle.from_json(path.name, data)
    except (OSError, EOFError, *_DAMAGED):
        return None


def write_bundle(bundle: Bundle, path: Path) -> None:
    """Atomically: readers see the old file or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        raw = json.dumps(bundle.to_json(), separators=(",", ":")).encode()
        with open(tmp, "wb") as f:
            f.write(gzip.compress(raw, mtime=0))  # mtime=0: same content, same bytes
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class CaseStore:
    """Where bundles are read from and saved to. ``directory`` None: the shipped bundles only,
    nothing written."""

    directory: Path | None
    shipped: Path | None = SHIPPED
    limit_bytes: int = DEFAULT_LIMIT_MB * 2**20

    @classmethod
    def default(cls) -> CaseStore:
        return cls(default_directory())

    def open(self, ops: Iterable[str], examples: int, max_ops: int, seed: int | None) -> Bundle:
        name = bundle_name(ops, examples, max_ops, seed)
        for where in (self.directory, self.shipped):
            if where is None:
                continue
            path = where / name
            found = _known(path) or read_bundle(path)
            if found is not None:
                if where == self.directory:
                    _touch(path)  # recently used: kept longest
                _remember(path, found)
                return found
        return Bundle(name)

    def save(self, bundle: Bundle) -> None:
        """Write what the check added. The cache is an optimisation: if it cannot be written
        (read-only home, full disk) the check's result is unaffected."""
        if self.directory is None or not bundle.added:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / bundle.name
            with _locked(self.directory / ".lock"):
                # another process may have saved meanwhile: take what it added. Always read: the
                # file's identity can repeat (a freed inode reused within the file system's
                # time granularity), and a save is rare once the store is warm
                if (on_disk := read_bundle(path)) is not None:
                    bundle.merge(on_disk)
                write_bundle(bundle, path)
                _remember(path, bundle)
                self._prune(keep=path)
            bundle.added = 0
        except OSError:
            pass

    def bundles(self) -> list[Path]:
        if self.directory is None or not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*" + SUFFIX))

    def clear(self) -> int:
        """Remove every bundle; how many bytes were freed."""
        freed = 0
        for path in self.bundles():
            freed += path.stat().st_size
            path.unlink(missing_ok=True)
        return freed

    def _prune(self, keep: Path) -> None:
        """Least recently used bundles go first, until the directory is under the limit."""
        paths = sorted(self.bundles(), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in paths)
        for path in paths:
            if total <= self.limit_bytes:
                break
            if path != keep:
                total -= path.stat().st_size
                path.unlink(missing_ok=True)


def default_directory() -> Path:
    env = os.environ.get("GRADCHECK_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("gradcheck", appauthor=False))


@contextmanager
def _locked(path: Path):
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# How stale a bundle's time of last use may be. Touching it at every check would change the file's
# identity under every other grading process, each of which would then parse it again.
_TOUCH_AFTER_SECONDS = 600


def _touch(path: Path) -> None:
    try:
        if time.time() - path.stat().st_mtime > _TOUCH_AFTER_SECONDS:
            os.utime(path)
    except OSError:
        pass
