"""``gradcheck check PATH...``: the command line. Exit 0 = all pass, 1 = some subject has an
error-severity finding (or could not be judged), 2 = usage or harness error."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from gradcheck.checks import CheckSettings
from gradcheck.errors import GradcheckError, UsageError
from gradcheck.result import Result
from gradcheck.runner import Options, check_path
from gradcheck.sandbox.limits import Limits
from gradcheck.untrusted_text import visible_line, visible_tree

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be greater than zero")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradcheck", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check one or more implementations")
    check.add_argument("paths", nargs="+", metavar="PATH",
                       help=".py file, .ipynb notebook, folder, or module:Class")
    check.add_argument("--format", choices=("text", "json", "junit"), default="text",
                       help="junit: one JUnit XML testcase per op x check, as `pytest --gradcheck` "
                            "names them")
    check.add_argument("--junit", metavar="FILE", type=Path,
                       help="also write that JUnit XML into FILE")
    check.add_argument("--html", metavar="DIR", type=Path,
                       help="also write an HTML report per subject and an index.html into DIR")
    check.add_argument("--fixes", action=argparse.BooleanOptionalAction, default=None,
                       help="propose a fix for each finding and verify it by checking a patched "
                            "copy (one more check per failing subject; default: on, except for "
                            "--format junit)")
    check.add_argument("--patch", metavar="FILE", type=Path,
                       help="write the verified fixes into FILE: a unified diff, or for a "
                            "notebook a patched copy of the .ipynb")
    _add_subject_options(check)

    grade = sub.add_parser("grade", help="grade submissions with a rubric")
    grade.add_argument("paths", nargs="+", metavar="SUBMISSION",
                       help="a .py file, notebook or folder per submission; a folder of them stands for all")
    grade.add_argument("--rubric", required=True, metavar="R",
                       help="built-in rubric (part1, full) or a rubric TOML file")
    grade.add_argument("--out", required=True, type=Path, metavar="DIR", help="where to write the results")
    grade.add_argument("-j", "--jobs", type=_positive(int), default=1, help="submissions graded at once")
    _add_subject_options(grade)

    doctor = sub.add_parser("doctor", help="say how submissions would be isolated here, and why")
    doctor.add_argument("--python", metavar="PATH",
                        help="interpreter that would run submissions (default: this one)")

    cache = sub.add_parser("cache", help="the case store: where it is, clear it, rebuild the shipped one")
    cache.add_argument("action", choices=("info", "clear", "build"),
                       help="info: location and size; clear: remove every stored bundle; build: "
                            "rebuild the bundles shipped with gradcheck (for its developers)")
    _add_cache_options(cache)

    gs = sub.add_parser("gradescope", help="grade inside Gradescope's autograder container")
    gs.add_argument("--rubric", default="part1", metavar="R", help="built-in rubric or TOML file (default part1)")
    gs.add_argument("--submission", type=Path, default=Path("/autograder/submission"))
    gs.add_argument("--results", type=Path, default=Path("/autograder/results/results.json"))
    _add_subject_options(gs)
    return parser


def _add_subject_options(parser: argparse.ArgumentParser) -> None:
    """How to find and run a submission: shared by check, grade and gradescope."""
    parser.add_argument("--class", dest="class_name", metavar="NAME",
                        help="the class to check when it is not found unambiguously")
    parser.add_argument("--backward", metavar="NAME", help="the method that runs backpropagation")
    parser.add_argument("--examples", type=_positive(int), default=100,
                        help="generated cases per property search (default 100)")
    # An instructor may keep the seed secret (students could otherwise replay the exact cases
    # and special-case them): it can come from a file or GRADCHECK_SEED instead of the command
    # line, and no message ever repeats its value.
    def seed(text: str) -> int:
        try:
            return int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError("the seed must be an integer") from None

    def seed_from_file(path: str) -> int:
        try:
            return seed(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise argparse.ArgumentTypeError(f"cannot read {path}: {type(exc).__name__}") from None

    given = parser.add_mutually_exclusive_group()
    # a string default goes through ``seed`` too, so a malformed GRADCHECK_SEED is a usage error
    given.add_argument("--seed", type=seed, default=os.environ.get("GRADCHECK_SEED") or None,
                       help="random seed (default: GRADCHECK_SEED, else derandomized: every run "
                            "is identical)")
    given.add_argument("--seed-file", dest="seed", type=seed_from_file, default=argparse.SUPPRESS,
                       metavar="PATH", help="read the seed from a file (keeps it off command lines)")
    parser.add_argument("--python", metavar="PATH",
                        help="interpreter that runs the submission (default: this one)")
    _add_cache_options(parser)
    add_limit_options(parser)


def _add_cache_options(parser: argparse.ArgumentParser) -> None:
    cache = parser.add_argument_group("case store (generated cases and oracle answers)")
    where = cache.add_mutually_exclusive_group()
    where.add_argument("--cache-dir", type=Path, metavar="DIR",
                       help="keep them in DIR (default: GRADCHECK_CACHE_DIR, else the user cache "
                            "directory; `gradcheck cache info` shows it)")
    where.add_argument("--no-cache", action="store_true",
                       help="neither read nor write stored cases: generate and ask the oracles")


def _case_store(args: argparse.Namespace):
    from gradcheck.case_store import CaseStore, default_directory

    if getattr(args, "no_cache", False):
        return None
    return CaseStore(getattr(args, "cache_dir", None) or default_directory())


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    """The sandbox limits, one option each, defaults from ``Limits``."""
    d = Limits()
    g = parser.add_argument_group("sandbox limits")
    g.add_argument("--isolation", choices=("auto", "bubblewrap", "limited"), default=d.isolation,
                   help="auto: bubblewrap where it can run (see `gradcheck doctor`), else limited; "
                        "bubblewrap: refuse to run without it")
    g.add_argument("--subject-timeout", type=_positive(float), default=d.subject_seconds,
                   help=f"seconds everything one submission does may take, loading and every "
                        f"check included (default {d.subject_seconds:g})")
    g.add_argument("--timeout", type=_positive(float), default=d.request_timeout,
                   help=f"seconds one request to the submission may take (default {d.request_timeout:g})")
    g.add_argument("--load-timeout", type=_positive(float), default=d.load_timeout,
                   help=f"seconds loading may take in all (default {d.load_timeout:g})")
    g.add_argument("--statement-timeout", type=_positive(float), default=d.statement_timeout,
                   help=f"seconds one top-level statement may take (default {d.statement_timeout:g})")
    g.add_argument("--load-budget", type=_positive(float), default=d.load_budget,
                   help=f"seconds of loading after which only definitions run (default {d.load_budget:g})")
    g.add_argument("--cpu-seconds", type=_positive(int), default=d.cpu_seconds,
                   help=f"CPU seconds for everything one submission does (default {d.cpu_seconds})")
    g.add_argument("--memory-mb", type=_positive(int), default=d.memory_mb,
                   help=f"address space in MB (default {d.memory_mb})")
    g.add_argument("--max-processes", type=_positive(int), default=d.max_processes,
                   help=f"processes the submission may have (default {d.max_processes})")
    g.add_argument("--file-size-mb", type=_positive(int), default=d.file_size_mb,
                   help=f"largest file it may write, in MB (default {d.file_size_mb})")
    g.add_argument("--scratch-mb", type=_positive(int), default=d.scratch_mb,
                   help=f"all it may write, in MB (default {d.scratch_mb})")
    g.add_argument("--output-bytes", type=_positive(int), default=d.output_bytes,
                   help=f"printed output kept for the report (default {d.output_bytes})")
    g.add_argument("--allow-network", action="store_true", help="let the submission use the network")
    g.add_argument("--allow-import", action="append", default=[], metavar="MODULE",
                   help="let the class use this library (default forbidden: "
                        + ", ".join(d.forbidden_imports) + ")")


def limits_from(args: argparse.Namespace) -> Limits:
    return Limits(
        subject_seconds=args.subject_timeout, scratch_mb=args.scratch_mb, isolation=args.isolation,
        request_timeout=args.timeout, load_timeout=args.load_timeout,
        statement_timeout=args.statement_timeout, load_budget=args.load_budget,
        cpu_seconds=args.cpu_seconds, memory_mb=args.memory_mb, max_processes=args.max_processes,
        file_size_mb=args.file_size_mb, output_bytes=args.output_bytes, network=args.allow_network,
        forbidden_imports=tuple(m for m in Limits().forbidden_imports if m not in args.allow_import))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if args.command == "doctor":
        return _doctor(args.python or sys.executable)
    if args.command == "cache":
        return _cache(args)
    options = Options(class_name=args.class_name, backward=args.backward, python=args.python,
                      settings=CheckSettings(examples=args.examples, seed=args.seed),
                      limits=limits_from(args), cases=_case_store(args))
    try:
        if args.command == "grade":
            return _grade(args, options)
        if args.command == "gradescope":
            return _gradescope(args, options)
    except GradcheckError as exc:  # a full disk included (grading's DiskFullError)
        print(f"gradcheck: error: {visible_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # e.g. --out or --results not writable: one line, no traceback
        where = f"{visible_line(exc.filename)}: " if exc.filename else ""
        print(f"gradcheck: error: {where}{visible_line(exc.strerror or exc)}", file=sys.stderr)
        return EXIT_USAGE
    from gradcheck.oracles.consensus import Consensus

    results: list[Result] = []
    checked: list[str] = []  # the path of each result (a folder of several is checked file by file)
    consensus = Consensus.default()  # one for all paths: their oracle answers are shared
    try:
        for path in expand_paths(args.paths, args.class_name):
            checked.append(path)
            # a file named on the command line brings its helper modules; one found in a
            # folder of several implementations does not (they would see each other)
            named = replace(options, helpers_beside=path in args.paths and Path(path).is_file())
            results.append(_run_one(path, named, consensus, show_progress=args.format == "text",
                                    fixes=_wants_fixes(args)))
    except GradcheckError as exc:
        print(f"gradcheck: error: {visible_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gradcheck: interrupted", file=sys.stderr)
        return EXIT_USAGE
    if args.patch is not None and not _write_patch(args.patch, results):
        return EXIT_USAGE
    if args.html is not None:
        from gradcheck.report import write_reports

        try:
            pages = write_reports(results, args.html)
        except OSError as exc:
            print(f"gradcheck: error: cannot write reports to {args.html}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
        print(f"reports: {pages[-1]}", file=sys.stderr)
    if args.junit is not None or args.format == "junit":
        from gradcheck.grading.outputs import atomic_write
        from gradcheck.pytest_plugin.items import check_junit_xml

        junit = check_junit_xml(list(zip(checked, results, strict=True)))
    if args.junit is not None:
        try:
            atomic_write(args.junit, junit)
        except OSError as exc:
            print(f"gradcheck: error: cannot write {args.junit}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
    if args.format == "json":
        print_json(results, sys.stdout)
    elif args.format == "junit":
        sys.stdout.write(junit)
    else:
        from gradcheck.terminal import print_results

        print_results(results)
    return EXIT_PASS if all(r.passed for r in results) else EXIT_FAIL


def print_json(results: list[Result], stream) -> None:
    """One JSON document per result (a list for several), with untrusted text made visible."""
    docs = visible_tree([r.to_json() for r in results])
    json.dump(docs[0] if len(docs) == 1 else docs, stream, indent=2, default=str)
    stream.write("\n")


def _doctor(python: str) -> int:
    """Which isolation a submission gets on this machine. Exit 0 with bubblewrap, 1 without."""
    from gradcheck.sandbox import bubblewrap

    avail = bubblewrap.availability(python)
    if avail.usable:
        print(f"isolation: bubblewrap -- {avail.reason}")
        return EXIT_PASS
    print(f"isolation: limited -- {avail.reason}")
    print("  submissions still run in a separate process with resource limits, but without "
          "their own pid, IPC and mount namespaces; install bubblewrap before grading a class")
    return EXIT_FAIL


def _cache(args: argparse.Namespace) -> int:
    """``gradcheck cache info|clear|build``."""
    from gradcheck.case_store import SHIPPED, SUFFIX

    store = _case_store(args)
    if store is None:
        print("gradcheck: error: --no-cache leaves no store to act on", file=sys.stderr)
        return EXIT_USAGE
    if args.action == "build":
        from gradcheck.case_store.build import build

        built = build(progress=lambda line: print(line, file=sys.stderr))
        print(f"{len(built)} bundles written to {SHIPPED}")
        return EXIT_PASS
    if args.action == "clear":
        freed = store.clear()
        print(f"cleared {store.directory} ({freed / 2**20:.1f} MB)")
        return EXIT_PASS
    bundles = store.bundles()
    size = sum(p.stat().st_size for p in bundles)
    print(f"cache: {store.directory}")
    print(f"  {len(bundles)} bundles, {size / 2**20:.1f} MB of at most {store.limit_bytes / 2**20:.0f} MB")
    print(f"shipped: {SHIPPED} ({len(list(SHIPPED.glob('*' + SUFFIX)))} bundles)")
    return EXIT_PASS


def _warn_if_limited(python: str) -> None:
    from gradcheck.sandbox import bubblewrap

    avail = bubblewrap.availability(python)
    if not avail.usable:
        print(f"gradcheck: warning: submissions are only partly isolated from each other here "
              f"({avail.reason}); see `gradcheck doctor`", file=sys.stderr)


def _grade(args: argparse.Namespace, options: Options) -> int:
    from rich.console import Console

    from gradcheck.grading.batch import find_submissions, grade
    from gradcheck.grading.rubric import load_rubric

    load_rubric(args.rubric)  # a bad rubric fails before any grading starts
    for path in args.paths:
        if not Path(path).exists():
            raise UsageError(f"{path}: no such file or folder")
    subs = find_submissions(args.paths, args.class_name)
    _warn_if_limited(options.python or sys.executable)
    console = Console(stderr=True)
    with _Progress(console) as progress:
        rows = grade(subs, args.rubric, args.out, options, jobs=args.jobs, progress=progress)
    full = sum(1 for _, _, s in rows if s.total >= s.max_score)
    mean = sum(s.total for _, _, s in rows) / len(rows) if rows else 0
    console.print(f"graded {len(rows)} submission(s): mean {mean:.2f}, {full} with full marks; "
                  f"gradebook {args.out / 'gradebook.csv'}, summary {args.out / 'summary.html'}")
    return EXIT_PASS


def _gradescope(args: argparse.Namespace, options: Options) -> int:
    import tempfile

    from gradcheck.grading.batch import Submission, grade

    if not args.submission.exists():
        raise UsageError(f"{args.submission}: no submission folder (is this Gradescope's container?)")
    _warn_if_limited(options.python or sys.executable)
    with tempfile.TemporaryDirectory() as tmp:
        grade([Submission("submission", args.submission)], args.rubric, Path(tmp), options)
        text = (Path(tmp) / "submission" / "results.json").read_text()
    from gradcheck.grading.outputs import atomic_write

    atomic_write(args.results, text)
    print(f"wrote {args.results}")
    return EXIT_PASS


class _Progress:
    """A rich progress bar for batch grading (to stderr, so stdout stays clean)."""

    def __init__(self, console):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("{task.description}"), console=console)
        self.task = None

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        self.bar.__exit__(*exc)

    def start(self, total: int, already: int) -> None:
        self.task = self.bar.add_task("", total=total, completed=already)

    def advance(self, sid: str) -> None:
        self.bar.update(self.task, advance=1, description=sid)


def expand_paths(paths: list[str], class_name: str | None) -> list[str]:
    """A folder holding several implementations (like ``reference_impls/``) is checked file by
    file; a folder with one is a single submission."""
    from gradcheck.discovery import discover

    out = []
    for path in paths:
        p = Path(path)
        found = discover(p, class_name) if p.is_dir() else []
        if len(found) > 1:
            out.extend(str(f) for f in found)
        else:
            out.append(path)
    return out


def _run_one(path: str, options: Options, consensus, show_progress: bool, fixes: bool = False) -> Result:
    check = check_path
    if fixes:
        from gradcheck.fixes import check_with_fixes as check
    if not show_progress:
        return check(path, options, consensus)
    from rich.console import Console

    with Console(stderr=True).status(f"checking {path} ..."):
        return check(path, options, consensus)


def _wants_fixes(args: argparse.Namespace) -> bool:
    """On by default for `check` (issue 14): the terminal and JSON outputs show each finding's
    verified fix. They cost a second check of each subject with an error that has a proposed
    fix, so `--no-fixes` skips them; JUnit output (CI test reports, named like the pytest
    plugin's items, which never computes fixes) leaves them out unless asked."""
    if args.fixes is not None:
        return args.fixes
    return args.patch is not None or args.format in ("text", "json")


def _write_patch(target: Path, results: list[Result]) -> bool:
    from gradcheck.fixes.output import write_patch

    try:
        said = write_patch(target, results)
    except (OSError, ValueError) as exc:
        print(f"gradcheck: error: cannot write {target}: {visible_line(getattr(exc, 'strerror', None) or exc)}",
              file=sys.stderr)
        return False
    print(f"patch: {said}", file=sys.stderr)
    return True


if __name__ == "__main__":
    raise SystemExit(main())
