"""Verified fixes (issue 14): for each defect gradcheck diagnoses, the smallest edit that makes it
pass -- proposed from the finding's typed data (``propose.py``, ``rule_fixes.py``,
``walk_fixes.py``), applied to a private copy (``patch.py``) and proven by checking that copy in
the sandbox exactly like the original (``verify.py``).

Fixes cost one more check per failing submission (more when a combined patch fails), so they are
computed only when asked: ``gradcheck check`` asks by default; ``check_path`` and grading do not.
"""

from __future__ import annotations

from pathlib import Path

from gradcheck.fixes.verify import Fixes, fixes_for
from gradcheck.loader import SourceError, read_submission
from gradcheck.oracles.consensus import Consensus
from gradcheck.result import Result
from gradcheck.runner import Options, check_path, check_submission

__all__ = ["check_with_fixes", "add_fixes", "Fixes"]


def check_with_fixes(target: str, options: Options, consensus: Consensus | None = None) -> Result:
    """``check_path``, plus a verified fix for every finding that has one (``Result.fixes``) and
    the patch of them all (``Result.patch``)."""
    path = Path(target)
    if not path.exists():  # an installed module:Class, or nothing: no source of ours to fix
        return check_path(target, options, consensus)
    try:
        submission = read_submission(path, options.class_name, options.helpers_beside)
    except SourceError:
        return check_path(target, options, consensus)
    consensus = consensus or Consensus.default()
    result = check_submission(submission, options, consensus, subject=target)
    if result.passed:
        return result
    add_fixes(result, fixes_for(result, submission,
                                lambda patched: check_submission(patched, options, consensus, subject=target)))
    return result


def add_fixes(result: Result, fixes: Fixes) -> None:
    result.fixes = fixes.per_finding
    result.patch = fixes.to_json()
    if fixes.patched_file is not None:
        result.patch["notebook"] = fixes.patched_file
