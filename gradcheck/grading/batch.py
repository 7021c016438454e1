"""Grading many submissions: in parallel worker processes, each result written as soon as it
is done, resumable (a submission already graded with the same content, rubric and settings is
not graded again), and one failing submission never stops the batch."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path

from gradcheck import __version__
from gradcheck.errors import UsageError
from gradcheck.grading.outputs import (
    atomic_write,
    gradebook_csv,
    gradescope_json,
    junit_xml,
    summary,
)
from gradcheck.grading.rubric import Rubric, Score, load_rubric
from gradcheck.loader import discover
from gradcheck.result import Result
from gradcheck.runner import Options


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
    ids = [s.id for s in found]
    dupes = {i for i in ids if ids.count(i) > 1}
    # seed_001.py beside seed_001.ipynb: keep the extension to tell them apart
    found = [Submission(_id_for(s.path, keep_suffix=True) if s.id in dupes else s.id, s.path) for s in found]
    ids = [s.id for s in found]
    if len(set(ids)) != len(ids):
        taken = [i for i in ids if ids.count(i) > 1]
        raise UsageError(f"two submissions would share the id {taken[0]!r}; rename one of them")
    return sorted(found, key=lambda s: s.id)


def _submission_children(folder: Path, class_name: str | None) -> list[Path]:
    defining = discover(folder, class_name)
    if len(defining) <= 1:
        return []
    tops = {folder / p.relative_to(folder).parts[0] for p in defining}
    return sorted(tops) if len(tops) > 1 else []


def _id_for(path: Path, keep_suffix: bool = False) -> str:
    is_file = path.is_file() or path.suffix in (".py", ".ipynb")
    stem = path.stem if is_file and not keep_suffix else path.name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem) or "submission"


def content_key(sub: Submission, rubric: Rubric, options: Options) -> str:
    """What the grade depends on: the submission's files, the rubric, every option (taken from
    the dataclasses field by field, so a new option is covered without touching this), the
    interpreter that runs the submission and its version, and gradcheck and the libraries whose
    versions change the generated cases or the oracles' answers."""
    import dataclasses
    from importlib import metadata

    h = hashlib.sha256()
    files = sorted(sub.path.rglob("*")) if sub.path.is_dir() else [sub.path]
    for f in files:
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(sub.path) if sub.path.is_dir() else f.name).encode())
            h.update(f.read_bytes())
    h.update(rubric.text.encode())
    versions = {"gradcheck": __version__, "interpreter": interpreter_identity(options.python)}
    for lib in ("hypothesis", "sympy", "torch", "numpy"):
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    settings = {"options": dataclasses.asdict(options), "versions": versions}
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


def _grade_one(sub: Submission, options: Options, share: bool) -> tuple[dict, float]:
    """Grade one submission. With ``share``, generated cases and oracle answers computed for
    earlier submissions in this process are reused (verdicts are the same either way)."""
    global _CONSENSUS
    from gradcheck.oracles.consensus import Consensus
    from gradcheck.runner import check_path

    if _CONSENSUS is None or _CONSENSUS.share != share:
        _CONSENSUS = Consensus.default(share=share)
    options = replace(options, settings=replace(options.settings, share=share))
    start = time.monotonic()
    try:
        result = check_path(str(sub.path), options, _CONSENSUS)
    except Exception as exc:  # gradcheck's own failure on this submission: recorded, not fatal
        result = Result(subject=sub.id, harness_error=f"{type(exc).__name__}: {exc}")
    return result.to_json(), time.monotonic() - start


def grade(subs: list[Submission], rubric_spec: str, out: Path, options: Options, jobs: int = 1,
          share: bool = True, progress=None) -> list[tuple[str, Result, Score]]:
    rubric = load_rubric(rubric_spec)
    out.mkdir(parents=True, exist_ok=True)
    keys = {s.id: content_key(s, rubric, options) for s in subs}
    done: dict[str, tuple[dict, float]] = {}
    todo = []
    for s in subs:
        cached = out / s.id / "result.json"
        try:
            saved = json.loads(cached.read_text())
            if saved.get("key") == keys[s.id]:
                done[s.id] = (saved["result"], saved["seconds"])
                continue
        except (OSError, ValueError, KeyError):
            pass
        todo.append(s)
    if progress:
        progress.start(len(subs), len(done))

    def finish(sub: Submission, doc: dict, seconds: float) -> None:
        done[sub.id] = (doc, seconds)
        _write_submission(out, sub, doc, seconds, keys[sub.id], rubric)
        if progress:
            progress.advance(sub.id)

    if jobs <= 1:
        for sub in todo:
            finish(sub, *_grade_one(sub, options, share))
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(_grade_one, sub, options, share): sub for sub in todo}
            for fut in as_completed(futures):
                sub = futures[fut]
                try:
                    doc, seconds = fut.result()
                except Exception as exc:  # the grading process itself died
                    doc, seconds = Result(subject=sub.id, harness_error=str(exc)).to_json(), 0.0
                finish(sub, doc, seconds)
    rows = []
    for s in subs:
        result = Result.from_json(done[s.id][0])
        rows.append((s.id, result, rubric.score(result)))
    atomic_write(out / "gradebook.csv", gradebook_csv(rows, rubric))
    atomic_write(out / "junit.xml", junit_xml(rows, rubric))
    stats = summary(rows, rubric)
    atomic_write(out / "summary.json", json.dumps(stats, indent=2) + "\n")
    _write_summary_html(out, stats, rows)
    return rows


def _write_submission(out: Path, sub: Submission, doc: dict, seconds: float, key: str, rubric: Rubric) -> None:
    from gradcheck.report import render_subject_page

    folder = out / sub.id
    result = Result.from_json(doc)
    score = rubric.score(result)
    atomic_write(folder / "results.json", gradescope_json(result, score, seconds))
    atomic_write(folder / "feedback.html", render_subject_page(result))
    # last, so that a submission counts as graded only once everything else is written
    atomic_write(folder / "result.json", json.dumps({"key": key, "seconds": seconds, "result": doc}) + "\n")


def _write_summary_html(out: Path, stats: dict, rows) -> None:
    from gradcheck.report import render_summary_page

    atomic_write(out / "summary.html", render_summary_page(stats, rows))
