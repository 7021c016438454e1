"""What grading writes: a CSV gradebook, JUnit XML, Gradescope's results.json, a class summary.
Every file is written atomically (temporary file, then rename), so an interrupted batch never
leaves a half-written result behind. Every string a submission may have shaped (ids, messages,
finding labels, printed output) goes through ``untrusted_text`` on its way out, so each file
parses and shows no control, bidi or surrogate character raw."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

from gradcheck.findings import SEVERITY_ORDER
from gradcheck.grading.rubric import Rubric, Score
from gradcheck.result import Result
from gradcheck.untrusted_text import csv_cell, visible, visible_line, visible_tree


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        # backslashreplace: a lone surrogate that slipped past the writers shows, never raises
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def top_findings(result: Result, limit: int = 3) -> list[str]:
    ranked = sorted(result.findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.code, f.op or ""))
    seen = []
    for f in ranked:
        label = f"{f.code}({f.op})" if f.op else f.code
        if f.severity != "info" and label not in seen:
            seen.append(label)
    return seen[:limit]


def gradebook_csv(rows: list[tuple[str, Result, Score]], rubric: Rubric) -> str:
    items = rubric.item_names()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([csv_cell(h) for h in ("id", "total", "max", *items, "top_findings")])
    for sid, result, score in rows:
        by_name = {i.name: i.score for i in score.items}
        writer.writerow([csv_cell(sid), _n(score.total), _n(score.max_score),
                         *[_n(by_name[i]) if i in by_name else "" for i in items],
                         csv_cell("; ".join(top_findings(result)))])
    return out.getvalue()


def _n(x: float) -> str:
    return f"{x:g}"


def junit_xml(rows: list[tuple[str, Result, Score]], rubric: Rubric) -> str:
    suites = ET.Element("testsuites", name=visible_line(f"gradcheck {rubric.name}"))
    for sid, result, score in rows:
        failed = [i for i in score.items if i.score < i.max_score]
        suite = ET.SubElement(suites, "testsuite", name=visible_line(sid), tests=str(len(score.items)),
                              failures=str(len(failed)), errors="1" if result.verdict == "error" else "0")
        for item in score.items:
            case = ET.SubElement(suite, "testcase", classname=visible_line(sid), name=visible_line(item.name))
            if item.score < item.max_score:
                ET.SubElement(case, "failure", message=visible_line(item.why or "not earned")).text = (
                    f"{_n(item.score)} of {_n(item.max_score)} points")
        if result.output:
            ET.SubElement(suite, "system-out").text = visible(result.output)
        if result.harness_error is not None:  # for the instructor: why it could not be judged
            ET.SubElement(suite, "system-err").text = visible(result.harness_error)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def gradescope_json(result: Result, score: Score, seconds: float) -> str:
    """Gradescope's autograder results format: score, execution_time, output, tests[]."""
    findings = "\n".join(f"- {f.code}{f' ({f.op})' if f.op else ''}: {f.message}"
                         for f in result.findings if f.severity != "info")
    output = f"gradcheck verdict: {result.verdict}\n" + (findings or "No problems found.")
    if result.harness_error is not None:  # the details are for the instructor (junit.xml)
        output += "\ngradcheck could not judge this submission; your instructor has the details."
    if score.deductions:
        output += "\nDeductions: " + "; ".join(score.deductions)
    tests = [{"name": item.name, "score": item.score, "max_score": item.max_score,
              "status": "passed" if item.score >= item.max_score else "failed",
              "output": item.why or "", "output_format": "text", "visibility": "visible"}
             for item in score.items]
    doc = {"score": score.total, "execution_time": round(seconds, 3), "output": output,
           "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}
    return json.dumps(visible_tree(doc), indent=2) + "\n"


def summary(rows: list[tuple[str, Result, Score]], rubric: Rubric) -> dict:
    totals = [score.total for _, _, score in rows]
    maximum = max((score.max_score for _, _, score in rows), default=0)
    bins = Counter()
    for t in totals:
        share = t / maximum if maximum else 0
        bins[min(int(share * 10), 9) * 10] += 1
    findings = Counter(label for _, result, _ in rows for label in
                       {f"{f.code}({f.op})" if f.op else f.code for f in result.findings if f.severity == "error"})
    ops_wrong = Counter(i.name.split(":")[0] for _, _, score in rows for i in score.items
                        if ":" in i.name and i.score < i.max_score)
    stats = {"rubric": rubric.name, "submissions": len(rows), "max": maximum,
             "mean": round(sum(totals) / len(totals), 3) if totals else 0,
             "full_marks": sum(1 for t in totals if maximum and t >= maximum),
             "distribution_percent": {f"{b}-{b + 10}": bins[b] for b in range(0, 100, 10)},
             "most_common_findings": findings.most_common(10), "ops_wrong_most": ops_wrong.most_common(10)}
    return visible_tree(stats)
