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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class JunitCase:
    classname: str
    name: str
    outcome: str = "passed"  # passed, failed, skipped or error
    message: str = ""  # one line: why it failed, errored or was skipped
    text: str = ""  # the details of a failure or error


@dataclass
class JunitSuite:
    name: str
    cases: list[JunitCase]
    system_out: str = ""
    system_err: str = ""


_JUNIT_CHILD = {"failed": "failure", "error": "error", "skipped": "skipped"}


def junit_document(name: str, suites: list[JunitSuite]) -> str:
    """JUnit XML as the common schema has it (the one Jenkins, GitLab and GitHub read): every
    count on testsuites and testsuite is computed from the cases written below it, so they
    cannot disagree; a failure or error carries message and type, a skip its message. Used by
    ``grade`` and by ``check --junit``."""
    def counts(cases: list[JunitCase]) -> dict[str, str]:
        by = Counter(c.outcome for c in cases)
        return {"tests": str(len(cases)), "failures": str(by["failed"]), "errors": str(by["error"]),
                "skipped": str(by["skipped"]), "time": "0"}

    every = [c for s in suites for c in s.cases]
    root = ET.Element("testsuites", name=visible_line(name), **counts(every))
    for suite in suites:
        element = ET.SubElement(root, "testsuite", name=visible_line(suite.name), **counts(suite.cases))
        for case in suite.cases:
            node = ET.SubElement(element, "testcase", classname=visible_line(case.classname),
                                 name=visible_line(case.name), time="0")
            child = _JUNIT_CHILD.get(case.outcome)
            if child is None:
                continue
            attrs = {"message": visible_line(case.message or case.outcome)}
            if child != "skipped":
                attrs["type"] = child
            ET.SubElement(node, child, **attrs).text = visible(case.text) if case.text else None
        if suite.system_out:
            ET.SubElement(element, "system-out").text = visible(suite.system_out)
        if suite.system_err:
            ET.SubElement(element, "system-err").text = visible(suite.system_err)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def junit_xml(rows: list[tuple[str, Result, Score]], rubric: Rubric) -> str:
    """``grade``'s JUnit: a suite per submission, a case per rubric item (failed when it did not
    earn its points), and an error case when gradcheck could not judge the submission."""
    suites = []
    for sid, result, score in rows:
        cases = [JunitCase(classname=sid, name=item.name,
                           outcome="passed" if item.score >= item.max_score else "failed",
                           message=item.why or "not earned",
                           text=f"{_n(item.score)} of {_n(item.max_score)} points")
                 for item in score.items]
        if result.harness_error is not None:  # for the instructor: why it could not be judged
            cases.append(JunitCase(classname=sid, name="gradcheck", outcome="error",
                                   message="gradcheck could not judge this submission",
                                   text=result.harness_error))
        suites.append(JunitSuite(sid, cases, system_out=result.output,
                                 system_err=result.harness_error or ""))
    return junit_document(f"gradcheck {rubric.name}", suites)


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
