"""Untrusted text through every writer: each output parses, and no control, bidi or surrogate
character from a submission reaches it raw -- each is shown as a visible escape instead."""

import csv
import io
import json
import re
import unicodedata
from html.parser import HTMLParser
from xml.etree import ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from gradcheck.cli import print_json
from gradcheck.findings import Finding, Location
from gradcheck.grading.outputs import gradebook_csv, gradescope_json, junit_xml, summary
from gradcheck.grading.rubric import load_rubric
from gradcheck.report import render_summary_page, write_reports
from gradcheck.result import Result
from gradcheck.terminal import print_results
from gradcheck.untrusted_text import csv_cell, visible, visible_line, visible_tree

# One sample of each class of character a submission can put into its text, and how it must
# look once shown.
SAMPLES = {
    "ansi": ("\x1b[2J\x1b[31mred", "\\x1b[2J"),
    "osc": ("\x1b]0;owned title\x07", "\\x1b]0;owned title\\x07"),
    "c1-csi": ("\x9b31m", "\\x9b31m"),
    "c0": ("nul\x00vt\x0bff\x0cdel\x7f", "nul\\x00vt\\x0bff\\x0cdel\\x7f"),
    "lone-cr": ("over\rwrite", "over\\x0dwrite"),
    "surrogate": ("half \ud800 pair \udcff", "half \\ud800 pair \\udcff"),
    "xml-illegal": ("not \ufffe chars \uffff", "not \\ufffe chars \\uffff"),
    "bidi": ("a\u202eb\u2066c\u2069d\u200ee\u200ff\u061cg\u202ah", "a\\u202eb\\u2066c\\u2069d"),
    "separators": ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    "markup": ("<script>alert(1)</script> [bold]x[/bold]", None),
}
HOSTILE = " | ".join(raw for raw, _ in SAMPLES.values())
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def assert_clean(text: str, where: str) -> None:
    """Nothing that acts instead of being read: no ESC/C1/other control but newline and tab
    (and CR, which only JUnit's XML parser may re-create), no bidi control, no surrogate."""
    for ch in text:
        code = ord(ch)
        assert ch in "\n\t" or not (code < 0x20 or 0x7f <= code <= 0x9f), f"{where}: raw {ch!r}"
        assert ch not in BIDI, f"{where}: raw bidi control {ch!r}"
        assert not 0xD800 <= code <= 0xDFFF, f"{where}: lone surrogate {ch!r}"
        assert ch not in "\ufffe\uffff\u2028\u2029", f"{where}: raw {ch!r}"


def assert_shown(text: str, where: str) -> None:
    """Each hostile character is still there for a reader, as its escape."""
    for name, (_, shown) in SAMPLES.items():
        if shown is not None:
            assert shown in text, f"{where}: {name} is not shown as {shown!r}"


def hostile_result(subject: str = HOSTILE) -> Result:
    where = Location(file=f"sub/{HOSTILE}.py", line=3, text=HOSTILE,
                     context=((2, "ok"), (3, HOSTILE), (4, "ok")))
    findings = [
        Finding(code="grad-overwrite", op=HOSTILE, message=f"`{HOSTILE}` assigns\nline two\ttab",
                location=where, evidence={"snippet": HOSTILE, "case": HOSTILE}),
        Finding(code="crash", message=HOSTILE, evidence={"while": HOSTILE}),
    ]
    coverage = {"add": {"forward": ("fail", HOSTILE), "local rule": ("pass", ""),
                        "end-to-end": ("skip", "not implemented"), "traversal": ("pass", "")}}
    return Result(subject=subject, findings=findings, coverage=coverage, notes=[HOSTILE],
                  output=f"printed {HOSTILE}\nsecond line\r\n", capabilities={"class_name": HOSTILE})


@pytest.fixture(scope="module")
def graded():
    rubric = load_rubric("part1")
    results = [hostile_result(), Result(subject="harness", harness_error=HOSTILE)]
    ids = ["=cmd|' /C calc'!A0", HOSTILE]
    return rubric, [(sid, r, rubric.score(r)) for sid, r in zip(ids, results, strict=True)]


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text, self.attrs = [], []

    def handle_data(self, data):
        self.text.append(data)

    def handle_starttag(self, tag, attrs):
        self.attrs.extend(v or "" for _, v in attrs)


def parse_html(text: str) -> str:
    parser = _Collect()
    parser.feed(text)
    parser.close()
    return "".join(parser.text) + "".join(parser.attrs)


# ------------------------------------------------------------------------ the functions

@pytest.mark.parametrize("name", SAMPLES)
def test_each_class_is_shown_visibly(name):
    raw, shown = SAMPLES[name]
    out = visible(raw)
    assert_clean(out, name)
    if shown is not None:
        assert shown in out
    assert visible(out) == out  # idempotent: showing shown text changes nothing


def test_lines_keep_newlines_and_tabs_and_single_lines_do_not():
    assert visible("a\n\tb\r\nc") == "a\n\tb\nc"
    assert visible_line("a\n\tb") == "a\\x0a\\x09b"


@pytest.mark.parametrize("cell, expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "\\x09x"), ("\rx", "\\x0dx"), ("ok", "ok"), ("a=b", "a=b"),
])
def test_csv_cells_never_start_a_formula(cell, expected):
    assert csv_cell(cell) == expected


def test_trees_are_shown_keys_included():
    tree = visible_tree({"\x1bk": ["\u202e", ("\ud800", 1.5)], "n": None, "b": True})
    assert tree == {"\\x1bk": ["\\u202e", ["\\ud800", 1.5]], "n": None, "b": True}


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(codec=None, categories=None)))
def test_any_text_is_shown_clean_and_encodable(text):
    for out in (visible(text), visible_line(text), csv_cell(text)):
        assert_clean(out, "visible")
        out.encode("utf-8")  # never a UnicodeEncodeError
    # nothing that is already safe is changed
    safe = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cs", "Cf", "Zl", "Zp")
                   and ch not in "\ufffe\uffff")
    assert visible(safe) == safe


# ------------------------------------------------------------------------ every writer

def test_terminal_summary():
    buffer = io.StringIO()
    console = Console(file=buffer, width=300, color_system=None, force_terminal=False)
    print_results([hostile_result(), Result(subject="h", harness_error=HOSTILE)], console=console)
    text = buffer.getvalue()
    assert_clean(text, "terminal")
    assert "\\x1b[2J" in text and "\\u202e" in text and "\\ud800" in text


def test_terminal_summary_with_colours_emits_only_its_own_styles():
    buffer = io.StringIO()
    console = Console(file=buffer, width=300, color_system="truecolor", force_terminal=True)
    print_results([hostile_result()], console=console)
    text = re.sub(r"\x1b\[[0-9;]*m", "", buffer.getvalue())  # rich's colours: the only ESCs
    assert_clean(text, "terminal (colour)")
    assert "\\x1b]0;owned title" in text


def test_json_output_of_check():
    buffer = io.StringIO()
    print_json([hostile_result()], buffer)
    text = buffer.getvalue()
    assert_clean(text, "json")  # not even as \u escapes: a reader prints the decoded strings
    doc = json.loads(text)
    assert_clean(json.dumps(doc, ensure_ascii=False), "decoded json")
    assert_shown(doc["findings"][0]["message"], "json message")
    assert doc["output"].endswith("second line\n")


def test_html_reports(tmp_path):
    pages = write_reports([hostile_result(), Result(subject="h", harness_error=HOSTILE)], tmp_path)
    assert len(pages) == 3
    for page in pages:
        raw = page.read_bytes().decode("utf-8")  # strict: a surrogate cannot have been written
        assert_clean(raw, page.name)
        assert "<script>" not in raw
    seen = parse_html(pages[0].read_text(encoding="utf-8"))
    assert_clean(seen, "parsed html")
    assert_shown(seen, "html")
    assert "\\u202e" in parse_html(pages[-1].read_text(encoding="utf-8"))  # the index's subject


def test_notebook_display():
    seen = parse_html(hostile_result()._repr_html_())
    assert_clean(seen, "notebook")
    assert_shown(seen, "notebook")


def test_gradebook_csv(graded):
    rubric, rows = graded
    text = gradebook_csv(rows, rubric)
    assert_clean(text, "csv")
    table = list(csv.reader(io.StringIO(text)))
    assert len(table) == 3 and all(len(row) == len(table[0]) for row in table)
    ids = [row[0] for row in table[1:]]
    assert ids[0] == "'=cmd|' /C calc'!A0"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in table for cell in row)
    assert "\\u202e" in ids[1] and "\\x1b" in ids[1]


def test_junit_xml(graded):
    rubric, rows = graded
    text = junit_xml(rows, rubric)
    assert_clean(text, "junit")
    root = ET.fromstring(text.encode("utf-8"))
    suites = root.findall("testsuite")
    assert len(suites) == 2
    assert_shown(suites[0].find("system-out").text, "junit system-out")
    assert suites[1].get("errors") == "1" and "\\x1b[2J" in suites[1].find("system-err").text
    assert all("\n" not in case.get("name") for case in root.iter("testcase"))


def test_gradescope_results(graded):
    _, rows = graded
    for _, result, score in rows:
        text = gradescope_json(result, score, 1.0)
        assert_clean(text, "gradescope")
        doc = json.loads(text)
        assert_clean(json.dumps(doc, ensure_ascii=False), "decoded gradescope")
    assert "\\u202e" in json.loads(gradescope_json(rows[0][1], rows[0][2], 1.0))["output"]


def test_class_summary(graded):
    rubric, rows = graded
    stats = summary(rows, rubric)
    doc = json.loads(json.dumps(stats))
    assert_clean(json.dumps(doc, ensure_ascii=False), "summary.json")
    assert any("\\x1b" in label for label, _ in doc["most_common_findings"])
    page = render_summary_page(stats, rows)
    page.encode("utf-8")
    assert_clean(page, "summary.html")
    assert "\\u202e" in parse_html(page)
