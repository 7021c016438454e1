"""HTML reports: one self-contained page per subject and an index, from Jinja2 templates
shipped in ``templates/`` and rendered with autoescaping -- everything a submission contributes
(source, labels, output, exception messages) is untrusted text. Every ``{{ ... }}`` is first made
visible (control, bidi and surrogate characters shown as escapes), then escaped as HTML."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from gradcheck.coverage import CHECKS
from gradcheck.findings import GROUPS, SEVERITY_ORDER
from gradcheck.report import layout as layout_module
from gradcheck.result import Result
from gradcheck.untrusted_text import visible

__all__ = ["write_reports", "render_subject_page", "render_summary_page"]


def _num(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1e5 else f"{value:.4g}"
    return str(value)


def _ticks(text: str) -> Markup:
    """Messages mark code with backticks; show it as <code>, after escaping everything."""
    escaped = str(escape(visible(text)))
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped))


def _shown(value):
    """Jinja's finalize: applied to every expression a template prints. Markup built by our
    own filters is left alone -- they made their input visible before building it."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


@lru_cache(maxsize=1)
def _environment() -> Environment:
    """Built once per process: a batch renders many pages from the same compiled templates."""
    env = Environment(loader=PackageLoader("gradcheck.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      finalize=_shown)
    env.filters["num"] = _num
    env.filters["ticks"] = _ticks
    env.globals.update(layout=layout_module.layout, record_w=layout_module.RECORD_W,
                       record_h=layout_module.RECORD_H, op_r=layout_module.OP_R, checks=CHECKS)
    return env


def _counts(result: Result) -> Counter:
    counts = Counter({"error": 0, "warning": 0, "info": 0})
    counts.update(f.severity for f in result.findings)
    return counts


def _groups(result: Result) -> list[tuple[str, list]]:
    groups = []
    for title, codes in GROUPS:
        found = sorted((f for f in result.findings if f.code in codes), key=lambda f: SEVERITY_ORDER[f.severity])
        if found:
            groups.append((title, found))
    return groups


def _file_name(subject: str, taken: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", subject).strip("_.")[:80] or "subject"
    name, n = f"{stem}.html", 2
    while name in taken or name == "index.html":
        name, n = f"{stem}-{n}.html", n + 1
    taken.add(name)
    return name


def render_subject_page(result: Result) -> str:
    """One subject's self-contained page."""
    return _environment().get_template("subject.html.j2").render(
        r=result, counts=_counts(result), groups=_groups(result))


def render_summary_page(stats: dict, rows: list) -> str:
    """A class's summary: score distribution, common findings, ops most often wrong."""
    return _environment().get_template("summary.html.j2").render(s=stats, rows=rows)


def write_reports(results: list[Result], out_dir: Path) -> list[Path]:
    """Write one page per result and ``index.html``; returns the pages, index last."""
    out_dir.mkdir(parents=True, exist_ok=True)
    env = _environment()
    taken: set[str] = set()
    entries, written = [], []
    for result in results:
        name = _file_name(result.subject, taken)
        counts = _counts(result)
        html = render_subject_page(result)
        path = out_dir / name
        path.write_text(html, encoding="utf-8")
        written.append(path)
        entries.append({"file": name, "result": result, "counts": counts})
    index = out_dir / "index.html"
    index.write_text(env.get_template("index.html.j2").render(
        entries=entries, passed=sum(r.passed for r in results)), encoding="utf-8")
    written.append(index)
    return written
