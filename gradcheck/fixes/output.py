"""``gradcheck check --patch FILE``: the verified fixes written where the user asked -- a unified
diff for ``.py`` files (``patch -p1`` / ``git apply``: where the check ran, or in the file's own
folder when it was named by an absolute path), a patched copy of the notebook for a
single ``.ipynb``. Only verified fixes are ever in it (verify.py builds the patch from them)."""

from __future__ import annotations

from pathlib import Path

from gradcheck.fixes.patch import apply_folder
from gradcheck.result import Result


def write_patch(target: Path, results: list[Result]) -> str:
    """Write the patch; returns what was written, in words."""
    from gradcheck.grading.outputs import atomic_write

    patched = [r for r in results if r.patch and r.patch.get("diff")]
    if not patched:
        return f"no verified fix to write; {target} not written"
    fixed = sum(1 for r in patched for f in r.fixes if f["verified"])
    passes = all(r.patch.get("verdict_after") == "pass" for r in patched)
    after = "the patched copy passes every check" if passes else "some findings have no verified fix"
    if len(results) == 1 and patched[0].patch.get("notebook"):
        atomic_write(target, patched[0].patch["notebook"])
        return f"{target}: the notebook with {fixed} verified fix(es) ({after})"
    atomic_write(target, "".join(r.patch["diff"] for r in patched))
    folders = sorted({str(f) for r in patched if (f := apply_folder(Path(r.subject))) is not None})
    where = f"; apply it in {', '.join(folders)}" if folders else ""
    return f"{target}: {fixed} verified fix(es) as a unified diff ({after}{where})"
