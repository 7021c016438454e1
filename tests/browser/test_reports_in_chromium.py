"""Open generated reports in a real (headless) Chromium: the page renders, the graphs are
visible and the console stays clean. Screenshots go to reports/screenshots/ for people to look
at. Run by `tox -e browser`, which installs Debian's chromium; elsewhere it skips -- unless
GRADCHECK_REQUIRE_BROWSER is set, when a missing browser is a failure."""

import os
import shutil
from pathlib import Path

import pytest

from gradcheck.report import write_reports
from gradcheck.runner import Options, check_path

from conftest import REFERENCE, ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if CHROMIUM is None:
    if os.environ.get("GRADCHECK_REQUIRE_BROWSER"):
        pytest.fail("chromium is required here (GRADCHECK_REQUIRE_BROWSER) but is not installed")
    pytest.skip("no chromium on this machine", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def reports(tmp_path_factory, consensus):
    out = tmp_path_factory.mktemp("reports")
    results = [check_path(str(REFERENCE / name), Options(), consensus)
               for name in ("seed_002.py", "seed_001.ipynb", "correct_full.py")]
    pages = write_reports(results, out)
    return {p.name: p for p in pages}


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS[1:], headless=True)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("which", [0, 1, 2])
def test_report_renders_with_visible_graphs_and_no_console_errors(reports, browser, which):
    name = sorted(n for n in reports if n != "index.html")[which]
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(reports[name].as_uri())
    assert page.locator("#verdict").is_visible()
    assert page.locator("#coverage").is_visible()
    graphs = page.locator("figure[data-graph] svg")
    if "correct_full" not in name:
        assert graphs.count() >= 1
        box = graphs.first.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 40
        assert page.locator("figure[data-graph] rect").first.is_visible()
    shots = ROOT / "reports" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"{Path(name).stem}.png"), full_page=True)
    assert problems == []
    page.close()


def test_index_links_every_report(reports, browser):
    page = browser.new_page()
    page.goto(reports["index.html"].as_uri())
    links = page.locator("#subjects a")
    assert links.count() == len(reports) - 1
    links.first.click()
    assert page.locator("#verdict").is_visible()
    page.close()
