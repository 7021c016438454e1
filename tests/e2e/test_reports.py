"""HTML reports: what a learner sees, and that nothing from a submission can become markup."""

import re

from gradcheck.ops import OPS
from gradcheck.report import write_reports
from gradcheck.runner import Options, check_path

from conftest import REFERENCE

HOSTILE_TEXT = '<script>alert("pwned")</script>'


def test_seed_002_report_shows_the_overwrite_line_and_a_graph(tmp_path, consensus):
    result = check_path(str(REFERENCE / "seed_002.py"), Options(), consensus)
    pages = write_reports([result], tmp_path)
    html = pages[0].read_text()
    assert 'class="verdict fail"' in html
    assert html.count("<svg") >= 3  # the overwrite demos and the failing cases are drawn
    assert re.search(r'<span class="hit"><span class="lineno">\d+</span>\s*self\.grad = 1\.0 \* result\.grad', html)
    assert "should be" in html  # a gradient drawn next to what it should have been
    assert "n1 = a + a" in html and "a.grad" in html  # the paste-able snippet
    index = pages[-1].read_text()
    assert pages[0].name in index
    assert f'<span id="isolation">{result.isolation}</span>' in html and result.isolation


def test_untrusted_text_is_escaped(tmp_path, consensus):
    source = (REFERENCE / "seed_002.py").read_text()
    source = source.replace('"""Seed 002', f'"""{HOSTILE_TEXT} Seed 002', 1)
    source += f"\nprint({HOSTILE_TEXT!r})\nraise ValueError({HOSTILE_TEXT!r})\n"
    path = tmp_path / "evil_label.py"
    path.write_text(source)
    result = check_path(str(path), Options(), consensus)
    assert HOSTILE_TEXT in result.output
    result.subject = HOSTILE_TEXT  # even the subject name
    out = tmp_path / "out"
    for page in write_reports([result], out):
        html = page.read_text()
        assert "<script>" not in html
    assert "&lt;script&gt;" in (out / "index.html").read_text()


def test_capability_table_marks_each_op(tmp_path, consensus):
    result = check_path(str(REFERENCE / "seed_003.py"), Options(), consensus)
    html = write_reports([result], tmp_path)[0].read_text()
    table = html[html.index('id="coverage"'):html.index("</table>", html.index('id="coverage"'))]
    assert table.count("<tr>") == 1 + len(OPS)  # header + one row per op of the table
    assert "not implemented" in table and "✘" in table and "✔" in table


def test_code_in_messages_is_shown_as_code_but_stays_text():
    from gradcheck.report import _ticks

    assert str(_ticks("use `+=` not `<script>`")) == "use <code>+=</code> not <code>&lt;script&gt;</code>"
