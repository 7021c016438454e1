"""Grading many submissions: in parallel worker processes, each result written as soon as it
is done, resumable (a submission already graded with the same content, rubric and settings is
not graded again), and one failing submission never stops the batch."""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing import forkserver, get_all_start_methods, get_context
from pathlib import Path

from gradcheck import __version__
from gradcheck.case_store import installed_version
from gradcheck.discovery import discover
from gradcheck.errors import HarnessError
from gradcheck.grading.outputs import (
    atomic_write,
    gradebook_csv,
    gradescope_json,
    junit_xml,
    summary,
)
from gradcheck.grading.rubric import Rubric, Score, load_rubric
from gradcheck.loader import SourceError, copy_folder, read_regular
from gradcheck.result import Result
from gradcheck.runner import Options
from gradcheck.sandbox import bubblewrap, isolation
from gradcheck.sandbox.client import LIMITED
from gradcheck.untrusted_text import visible_tree

_ID_MAX_CHARS = 100  # well under any file system's name limit, with room for a "-2"
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


@dataclass(frozen=True)
class Submission:
    id: str
    path: Path


def find_submissions(paths: list[str], class_name: str | None = None) -> list[Submission]:
    """Each path is a submission (file, notebook or folder); a folder holding several of them
    -- files or subfolders that each define the class -- stands for all of them."""
    found: list[Submission] = []
    for raw in paths:
        path = Path(raw)
        children = _submission_children(path, class_name) if path.is_dir() else []
        for child in children or [path]:
            found.append(Submission(_id_for(child), child))
    # seed_001.py beside seed_001.ipynb: keep the extension to tell them apart (only for the same
    # name; `m@x.py` beside `m_x.py` is a clash of made-safe names, numbered below)
    stems = Counter(s.path.stem for s in found)
    found = [Submission(_id_for(s.path, keep_suffix=True), s.path) if stems[s.path.stem] > 1 else s
             for s in found]
    # Names that still clash once made safe (`-x.py` and `_x.py`) are numbered: a classmate's
    # choice of file name must not stop the batch, nor take another's id -- a name that was
    # already safe keeps it, and the renamed ones are numbered (in path order).
    counts = Counter(s.id for s in found)
    taken = {i for i, n in counts.items() if n == 1}
    unique = []
    for s in sorted(found, key=lambda s: (s.id not in (s.path.stem, s.path.name), str(s.path))):
        sid, n = s.id, 2
        while counts[s.id] > 1 and sid in taken:
            sid, n = f"{s.id}-{n}", n + 1
        taken.add(sid)
        unique.append(Submission(sid, s.path))
    return sorted(unique, key=lambda s: s.id)


def _submission_children(folder: Path, class_name: str | None) -> list[Path]:
    defining = discover(folder, class_name)
    if len(defining) <= 1:
        return []
    tops = {folder / p.relative_to(folder).parts[0] for p in defining}
    return sorted(tops) if len(tops) > 1 else []


def _id_for(path: Path, keep_suffix: bool = False) -> str:
    """A safe file name inside ``--out``: letters, digits, ``_``, ``.`` and ``-`` only; never
    empty, ``.`` or ``..``, and never starting with ``.`` (a hidden file or a step out of the
    folder: ``...py`` has the stem ``..``) or ``-`` (an option to a shell command, a formula to a
    spreadsheet; ``= + @`` are replaced like any other character)."""
    is_file = path.is_file() or path.suffix in (".py", ".ipynb")
    stem = path.stem if is_file and not keep_suffix else path.name
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)
    safe = re.sub(r"^[.-]+", "_", safe)[:_ID_MAX_CHARS]
    return safe or "submission"


def content_key(sub: Submission, rubric: Rubric, options: Options) -> str:
    """What the grade depends on: the submission's files, the rubric, every option (taken from
    the dataclasses field by field, so a new option is covered without touching this), the
    interpreter that runs the submission and its version, and gradcheck and the libraries whose
    versions change the generated cases or the oracles' answers."""
    import dataclasses

    h = hashlib.sha256()
    # the files as gradcheck copies them for the worker: regular files only, bounded (a FIFO or
    # a huge file in a submission neither hangs nor exhausts the grading process)
    if sub.path.is_dir():
        files = copy_folder(sub.path)
    else:
        try:
            files = {sub.path.name: read_regular(sub.path)}
        except SourceError as exc:
            files = {sub.path.name: str(exc).encode()}
    for name in sorted(files):
        h.update(name.encode())
        h.update(hashlib.sha256(files[name]).digest())
    h.update(rubric.text.encode())
    versions = {"gradcheck": __version__, "interpreter": interpreter_identity(options.python)}
    versions.update({lib: installed_version(lib) for lib in ("hypothesis", "sympy", "torch", "numpy")})
    # where generated cases are kept changes no grade: the store's answers are the oracles'
    neutral = dataclasses.replace(options, cases=None)
    settings = {"options": dataclasses.asdict(neutral), "versions": versions}
    h.update(json.dumps(settings, sort_keys=True, default=repr).encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=8)
def interpreter_identity(python: str | None) -> list[str]:
    """The submission's interpreter as the resume key sees it: its resolved path and the
    version it reports (the same path may be upgraded in place between two runs)."""
    if python is None:
        return [sys.executable, sys.version]
    path = shutil.which(python) or python
    try:
        proc = subprocess.run([path, "-I", "-S", "-c", "import sys; print(sys.version)"],
                              capture_output=True, text=True, timeout=30)
        version = proc.stdout.strip() if proc.returncode == 0 else f"exit {proc.returncode}"
    except (OSError, subprocess.SubprocessError) as exc:
        version = f"unavailable: {type(exc).__name__}"
    return [str(Path(path).resolve()), version]


# One Consensus per grading process: its answers are shared by every submission it grades.
_CONSENSUS = None


def _grade_one(sub: Submission, options: Options, share: bool, fixes: bool = False) -> tuple[dict, float]:
    """Grade one submission. With ``share``, generated cases and oracle answers computed for
    earlier submissions in this process are reused (verdicts are the same either way); with
    ``fixes`` (the rubric's ``show_fixes``), verified fixes are added for the feedback."""
    global _CONSENSUS
    from gradcheck.oracles.consensus import Consensus
    from gradcheck.runner import check_path

    start = time.monotonic()
    try:
        if _CONSENSUS is None or _CONSENSUS.share != share:
            _CONSENSUS = Consensus.default(share=share)
        options = replace(options, settings=replace(options.settings, share=share))
        if fixes:
            from gradcheck.fixes import check_with_fixes as check_path
        result = check_path(str(sub.path), options, _CONSENSUS)
        doc = result.to_json()
    except Exception as exc:  # gradcheck's own failure on this submission: recorded, not fatal
        doc = _harness_doc(sub, f"{type(exc).__name__}: {exc}")
    return doc, time.monotonic() - start


def grade(subs: list[Submission], rubric_spec: str, out: Path, options: Options, jobs: int = 1,
          share: bool = True, progress=None) -> list[tuple[str, Result, Score]]:
    """Grade every submission and write the class's files. Whatever one submission does, or
    whatever goes wrong judging or writing it, it becomes a harness error for that submission
    alone and the gradebook lists everyone; only a full disk stops the batch (DiskFullError)."""
    rubric = load_rubric(rubric_spec)
    with _disk_full_is_fatal(out):
        out.mkdir(parents=True, exist_ok=True)
    keys: dict[str, str | None] = {}
    for s in subs:
        try:
            keys[s.id] = content_key(s, rubric, options)
        except Exception:  # unreadable files: grade it every time rather than not at all
            keys[s.id] = None
    done: dict[str, tuple[dict, float]] = {}
    todo = []
    for s in subs:
        saved = _saved_result(out, s, keys[s.id])
        if saved is None:
            todo.append(s)
        else:
            done[s.id] = saved
    if progress:
        progress.start(len(subs), len(done))

    def finish(sub: Submission, doc: dict, seconds: float) -> None:
        doc = visible_tree(doc)  # what is kept is what is shown: every later writer agrees
        try:
            _write_submission(out, sub, doc, seconds, keys[sub.id], rubric)
        except DiskFullError:
            raise
        except Exception as exc:
            doc = _harness_doc(sub, f"writing its results failed ({type(exc).__name__})")
            try:  # without a key, so that it is graded again next time
                _write_submission(out, sub, doc, seconds, None, rubric)
            except DiskFullError:
                raise
            except Exception:  # still listed in the gradebook below
                pass
        done[sub.id] = (doc, seconds)
        if progress:
            progress.advance(sub.id)

    if jobs <= 1:
        for sub in todo:
            finish(sub, *_grade_one(sub, options, share, rubric.show_fixes))
    else:
        _grade_in_pools(todo, options, share, jobs, finish, rubric.show_fixes)
    rows = []
    for s in subs:
        try:
            result = Result.from_json(done[s.id][0])
            score = rubric.score(result)
        except Exception as exc:
            result = Result(subject=s.id, harness_error=f"its result cannot be scored ({type(exc).__name__})")
            score = rubric.score(result)
        rows.append((s.id, result, score))
    _write_inside(out, "gradebook.csv", gradebook_csv(rows, rubric))
    _write_inside(out, "junit.xml", junit_xml(rows, rubric))
    stats = summary(rows, rubric)
    _write_inside(out, "summary.json", json.dumps(stats, indent=2) + "\n")
    _write_summary_html(out, stats, rows)
    return rows


def _saved_result(out: Path, sub: Submission, key: str | None) -> tuple[dict, float] | None:
    """The result saved by an earlier run with the same key, or None: missing, partial,
    foreign or unreadable results are graded again."""
    if key is None:
        return None
    try:
        saved = json.loads((out / sub.id / "result.json").read_text(encoding="utf-8"))
        if saved["key"] != key:
            return None
        Result.from_json(saved["result"])  # still readable by this version
        return saved["result"], float(saved["seconds"])
    except Exception:
        return None


def _write_submission(out: Path, sub: Submission, doc: dict, seconds: float, key: str | None,
                      rubric: Rubric) -> None:
    from gradcheck.report import render_subject_page

    result = Result.from_json(doc)
    score = rubric.score(result)
    _write_inside(out, f"{sub.id}/results.json", gradescope_json(result, score, seconds))
    _write_inside(out, f"{sub.id}/feedback.html", render_subject_page(result))
    # last, so that a submission counts as graded only once everything else is written
    _write_inside(out, f"{sub.id}/result.json",
                  json.dumps({"key": key, "seconds": seconds, "result": doc}) + "\n")


def _write_summary_html(out: Path, stats: dict, rows) -> None:
    from gradcheck.report import render_summary_page

    _write_inside(out, "summary.html", render_summary_page(stats, rows))


class DiskFullError(HarnessError):
    """The disk (or the user's quota) holding ``--out`` is full. Free some space and run the
    same command again: submissions already written are not graded again."""


@contextmanager
def _disk_full_is_fatal(out: Path):
    """A full disk stops the batch with a clear error; any other OSError is left to the caller."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _DISK_FULL:
            raise DiskFullError(f"no space left to write the results in {out} ({exc.strerror}); "
                                "free some space and run the same command again") from exc
        raise


def _write_inside(out: Path, relative: str, text: str) -> None:
    """Write ``out/relative`` -- and refuse any path that would land outside ``out``. Ids are
    already safe file names; this is the second line of defence, checked where files are
    written (a symlink in ``out`` or an id this module forgot to clean is caught here)."""
    path = out / relative
    root = out.resolve()
    if path.name in ("", ".", "..") or not path.parent.resolve().is_relative_to(root):
        raise HarnessError(f"refusing to write {relative!r}: it is not inside {out}")
    with _disk_full_is_fatal(out):
        atomic_write(path, text)


def _harness_doc(sub: Submission, why: str) -> dict:
    return Result(subject=sub.id, harness_error=why).to_json()


def _grade_in_pools(todo: list[Submission], options: Options, share: bool, jobs: int, finish,
                    fixes: bool = False) -> None:
    """Grade in ``jobs`` processes. A grading process that dies breaks its whole pool and fails
    every unfinished submission in it, so those are graded again: the ones that may have been
    running each alone in a fresh process (if that one dies too, the submission is the cause
    and gets a harness error), the ones that had not started in a fresh pool."""
    pending = list(todo)
    while pending:
        lost = _run_pool(pending, options, share, jobs, finish, fixes)
        # The pool starts work in submission order, and keeps at most one call queued beyond
        # its workers: whatever was running when it broke is among the first jobs + 1 lost.
        suspects, pending = lost[:jobs + 1], lost[jobs + 1:]
        for sub in suspects:
            if _run_pool([sub], options, share, 1, finish, fixes):
                finish(sub, _harness_doc(sub, "the grading process died while grading it"), 0.0)


def _pool_context(options: Options):
    """Grading processes forked from a server that has imported what they need (pool_server),
    where that is safe; else each is spawned and imports them itself."""
    global _OUR_SERVER
    if not _fork_server_is_safe(options):
        return get_context("spawn")
    forkserver.set_forkserver_preload(["gradcheck.grading.pool_server"])
    _OUR_SERVER = True
    return get_context("forkserver")


_OUR_SERVER = False  # this process's fork server was started with pool_server preloaded


def _fork_server_is_safe(options: Options) -> bool:
    """The server is started fresh, never forked from gradcheck (whose progress display runs a
    thread), and it must die with gradcheck -- which pool_server arranges, so it has to be the
    server's preload: not a server something else in this process started first. Its death
    signal belongs to the thread that started it, so only the main thread starts one. And it
    listens on a socket in the host's temporary directory, which a worker of limited isolation
    running under gradcheck's own uid could reach and connect to: then it is not used."""
    if "forkserver" not in get_all_start_methods() or threading.current_thread() is not threading.main_thread():
        return False
    if os.geteuid() != 0 and (options.limits.isolation == LIMITED or
                              not bubblewrap.availability(options.python or sys.executable).usable):
        return False
    running = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None) is not None
    return _OUR_SERVER or not running


def _run_pool(subs: list[Submission], options: Options, share: bool, jobs: int, finish,
              fixes: bool = False) -> list[Submission]:
    """Grade ``subs`` in a fresh pool; returns those lost to a broken pool, in the given order."""
    order = {sub.id: i for i, sub in enumerate(subs)}
    lost = []
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=_pool_context(options),
                               initializer=isolation.die_with_parent)
    try:
        futures = {pool.submit(_grade_one, sub, options, share, fixes): sub for sub in subs}
        for fut in as_completed(futures):
            sub = futures[fut]
            try:
                doc, seconds = fut.result()
            except BrokenProcessPool:
                lost.append(sub)
                continue
            except Exception as exc:  # e.g. a result that could not be sent back
                doc, seconds = _harness_doc(sub, f"{type(exc).__name__}: {exc}"), 0.0
            finish(sub, doc, seconds)
    finally:  # on a full disk (or ^C), don't start what is still queued
        pool.shutdown(wait=True, cancel_futures=True)
    return sorted(lost, key=lambda s: order[s.id])
