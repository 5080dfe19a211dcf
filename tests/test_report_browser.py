"""The HTML report as a reader sees it: opened in headless Chromium (Debian's ``chromium``).

Two reports: the one ``nof1 demo`` writes, and a multi-outcome report of a three-arm trial
(three contrasts, six outcomes, more safety alerts than the top box lists (7 for 3)). For each, at a
1280×800 desktop window and a 390 px phone width:

* the primary outcome's answer (verdict, effect, interval, probability of a meaningful benefit)
  and the safety alerts are above the fold at 1280×800, found by element (so sections added to
  the report later do not break the check) and equal to the numbers of the analysis;
* every figure has rendered: the screenshot has non-blank pixels where each image is;
* the page never scrolls sideways and no element sticks out of the window (a wide table may
  scroll inside its own box);
* printing to PDF (``--print-to-pdf``) gives pages that pdftoppm turns into non-blank PNGs with
  nothing cut off at the right edge, and whose text holds the verdict.

Screenshots and PDF pages are saved under each test's temporary folder. Without Chromium the
tests are skipped with a one-line hint (CI installs it: ``.ci/run``; there ``NOF1_REQUIRE_BROWSER=1``
turns the skip into a failure).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chromium_page import CHROMIUM_FLAGS, Chromium, find_chromium

import nof1
from nof1.formatting import fmt_number, fmt_prob

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = find_chromium()
PDFTOPPM = shutil.which("pdftoppm")
HINT = ("Chromium is not installed (apt-get install chromium) — the headless rendering check of the "
        "HTML report is skipped")
DESKTOP = (1280, 800)
PHONE = (390, 844)

if CHROMIUM is None and os.environ.get("NOF1_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"NOF1_REQUIRE_BROWSER=1 but {HINT}")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=HINT)

#: Measures the page in the browser: overflow, elements outside the window, images, the answer.
MEASURE_JS = r"""
(() => {
  const vw = document.documentElement.clientWidth, vh = window.innerHeight;
  const box = el => { const b = el.getBoundingClientRect();
    return {left: b.left + scrollX, top: b.top + scrollY, right: b.right + scrollX,
            bottom: b.bottom + scrollY, width: b.width, height: b.height}; };
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  const path = el => { const out = []; for (let e = el; e && e !== document.body; e = e.parentElement) out.unshift(name(e));
    return out.join(' > '); };
  const scroller = el => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const s = getComputedStyle(p).overflowX; if (s === 'auto' || s === 'scroll') return p; } return null; };
  const shown = el => { for (let e = el; e; e = e.parentElement) {
    if (e.tagName === 'DETAILS' && !e.open && e !== el) {
      if (!el.closest('summary') || el.closest('details') !== e) return false; } } return true; };
  const offscreen = [];
  for (const el of document.body.querySelectorAll('*')) {
    const b = box(el);
    if ((b.width === 0 && b.height === 0) || !shown(el)) continue;
    if (b.right <= vw + 1 && b.left >= -1) continue;
    const s = scroller(el);
    if (s) { const sb = box(s); if (sb.right <= vw + 1 && sb.left >= -1) continue; }
    offscreen.push({path: path(el), left: b.left, right: b.right});
  }
  const el = (root, sel) => { const e = root && root.querySelector(sel);
    return e ? {text: e.innerText.trim(), ...box(e)} : null; };
  const answer = document.querySelector('#summary .verdict[data-outcome]');
  return {
    viewport: {width: vw, height: vh},
    scroll: {width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight},
    offscreen: offscreen,
    images: [...document.images].map(i => ({alt: i.alt, complete: i.complete, natural: i.naturalWidth,
                                            ...box(i)})),
    answer: answer ? {outcome: answer.dataset.outcome, box: box(answer), words: el(answer, '.words'),
                      effect: el(answer, '.answer-effect'), interval: el(answer, '.answer-interval'),
                      prob: el(answer, '.answer-prob')} : null,
    alerts_box: el(document, '#safety-alerts h2'),
    alerts: [...document.querySelectorAll('#alerts-list > li')].map(e => ({text: e.innerText.trim(), ...box(e)})),
    alerts_total: document.querySelectorAll('#safety-alerts li[data-alert]').length,
  };
})()
"""


# --------------------------------------------------------------------------- reports
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``nof1 demo`` run in a fresh folder: its report and what it printed."""
    cwd = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "120"}
    proc = subprocess.run([sys.executable, "-m", "nof1", "demo"], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return {"path": cwd / "nof1-demo" / "report.html", "stdout": proc.stdout}


@pytest.fixture(scope="module")
def multi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A three-arm trial with six outcomes, three contrasts and many safety alerts."""
    from nof1.analysis.sensitivity import washout_sensitivity
    from nof1.cli.demo_cmd import merge_results
    from nof1.data import TrialData
    from nof1.report import render

    p = nof1.load_protocol(ROOT / "protocols" / "citrulline-arginine-rls.yaml")
    log = nof1.simulate(
        p, effect={"severity": {"B": -1.5, "C": -0.5}, "systolic_bp": {"B": -9, "C": -4}},
        sd={"severity": 1.4, "systolic_bp": 7},
        baseline={"severity": 5.5, "systolic_bp": 106, "headache": -3.5, "gi_upset": -3.5},
        phi=0.4, carryover_days=1.0, seed=5, missing=0.03, resolution={"severity": 0.5, "systolic_bp": 1})
    td = TrialData.from_frame(p, log, source="three-arm-log.csv")
    fast = ["severity", "irls", "sleep_hours", "systolic_bp"]
    parts = [nof1.analyze(td, outcomes=fast, methods=["bayes", "gls_ar1", "paired_periods", "randomization"],
                          engine="exact", seed=2),
             nof1.analyze(td, outcomes=["headache", "gi_upset"], methods=["ordinal_po", "nap"], seed=2)]
    result = merge_results(parts, p)
    out = tmp_path_factory.mktemp("multi") / "report.html"
    render(result, out, sensitivity=washout_sensitivity(td, "severity"))
    return {"path": out, "result": result, "alerts": result.safety_alerts()}


def _page(request: pytest.FixtureRequest, which: str) -> dict[str, Any]:
    return request.getfixturevalue(which)


_MEASURED: dict[tuple[str, int, int], dict[str, Any]] = {}


def _measure(report: Path, out: Path, width: int, height: int) -> dict[str, Any]:
    """Open the report at one window size (once per report and size); save the window and the
    whole page as PNGs in ``out``."""
    key = (str(report), width, height)
    if key not in _MEASURED:
        _MEASURED[key] = _open_and_measure(report, out, width, height)
    return _MEASURED[key]


def _open_and_measure(report: Path, out: Path, width: int, height: int) -> dict[str, Any]:
    with Chromium(CHROMIUM, out / f"profile-{width}") as browser:
        browser.open(report.resolve().as_uri(), width=width, height=height, mobile=width < 600)
        data = browser.evaluate(MEASURE_JS)
        data["window_png"] = browser.screenshot(out / f"window-{width}x{height}.png")
        data["page_png"] = browser.screenshot(out / f"page-{width}.png", full_page=True)
    (out / f"measure-{width}.json").write_text(json.dumps(data, indent=1, default=str))
    return data


def _blank(im: Any) -> tuple[float, int]:
    """(share of pixels that are not near-white, number of distinct colours) of an image."""
    import numpy as np

    a = np.asarray(im.convert("RGB"), dtype=np.int16)
    inked = float(np.mean(np.any(a < 235, axis=-1)))
    small = im.convert("RGB").resize((min(im.width, 200), min(im.height, 200)))
    return inked, len(small.getcolors(maxcolors=1 << 16) or [])


# --------------------------------------------------------------------------- layout at both widths
@pytest.mark.slow
@pytest.mark.parametrize("which", ["demo", "multi"])
@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280x800", "390px"])
def test_layout_figures_and_no_overflow(request: pytest.FixtureRequest, which: str, size: tuple[int, int],
                                        tmp_path: Path) -> None:
    from PIL import Image

    page = _page(request, which)
    m = _measure(page["path"], tmp_path, *size)
    width = size[0]
    assert m["viewport"]["width"] == width
    # no sideways scrolling and nothing outside the window (wide tables scroll in their own box)
    assert m["scroll"]["width"] <= width, f"page is {m['scroll']['width']} px wide at {width} px"
    assert m["offscreen"] == [], "\n".join(f"{o['path']}: {o['left']:.0f}..{o['right']:.0f} px"
                                           for o in m["offscreen"][:10])
    # every figure decoded and drawn: ink where each image is in the full-page screenshot
    assert len(m["images"]) >= 8
    with Image.open(m["page_png"]) as shot:
        assert shot.height >= m["scroll"]["height"] - 1
        for img in m["images"]:
            assert img["complete"] and img["natural"] > 0, img["alt"]
            assert img["left"] >= 0 and img["right"] <= width + 1 and img["width"] > 100, img
            crop = shot.crop((int(img["left"]), int(img["top"]), int(img["right"]), int(img["bottom"])))
            inked, colours = _blank(crop)
            assert inked > 0.02 and colours > 8, f"figure '{img['alt']}' looks blank ({inked:.1%} inked)"
    with Image.open(m["window_png"]) as window:
        assert window.size == size
        assert _blank(window)[0] > 0.02


# --------------------------------------------------------------------------- above the fold
def _inside(box: dict[str, float] | None, width: int, height: int) -> bool:
    return (box is not None and box["width"] > 0 and box["height"] > 0 and box["top"] >= 0
            and box["bottom"] <= height and box["left"] >= 0 and box["right"] <= width)


def _terminal_row(stdout: str, heading: str, method: str = "bayes") -> list[str]:
    """The cells of one method's row in the terminal table under ``heading``."""
    block = stdout[stdout.index(heading):]
    line = next(x for x in block.splitlines() if x.startswith(method + " "))
    return re.split(r"\s{2,}", line.strip())


@pytest.mark.slow
def test_demo_answer_and_alerts_above_the_fold(demo: dict[str, Any], tmp_path: Path) -> None:
    m = _measure(demo["path"], tmp_path, *DESKTOP)
    a = m["answer"]
    assert a is not None and a["outcome"] == "severity"
    for part in ("words", "effect", "interval", "prob"):
        assert _inside(a[part], *DESKTOP), f"the primary answer's {part} is not above the fold: {a[part]}"
    # the same numbers as the terminal's bayes row: estimate, interval, P(>MCID)
    _, estimate, interval, _, _, p_mcid = _terminal_row(demo["stdout"], "Worst RLS severity last night (0-10) [primary]")
    assert a["effect"]["text"].replace("−", "-") == f"{estimate} points"
    assert a["interval"]["text"].replace("−", "-") == interval
    assert a["prob"]["text"] == p_mcid
    after = demo["stdout"][demo["stdout"].index("Worst RLS severity last night (0-10) [primary]"):]
    verdict = next(x for x in after.splitlines() if x.startswith("verdict: "))
    assert a["words"]["text"].lower() == verdict.removeprefix("verdict: ")
    # every alert the terminal lists is in the top box, above the fold
    n = int(re.search(r"SAFETY ALERTS \((\d+)\)", demo["stdout"]).group(1))
    assert m["alerts_total"] == n == len(m["alerts"]) == 2
    assert _inside(m["alerts_box"], *DESKTOP)
    for alert in m["alerts"]:
        assert _inside(alert, *DESKTOP), alert
    assert any("systolic_bp 88 mmHg below 90 mmHg" in x["text"] for x in m["alerts"])


@pytest.mark.slow
def test_multi_outcome_answer_and_alerts_above_the_fold(multi: dict[str, Any], tmp_path: Path) -> None:
    m = _measure(multi["path"], tmp_path, *DESKTOP)
    result, alerts = multi["result"], multi["alerts"]
    bayes = result.get("severity", "bayes")
    a = m["answer"]
    for part in ("words", "effect", "interval", "prob"):
        assert _inside(a[part], *DESKTOP), f"the primary answer's {part} is not above the fold: {a[part]}"
    assert a["effect"]["text"] == f"{fmt_number(bayes.estimate, minus='−')} points"
    assert a["interval"]["text"] == (f"{fmt_number(bayes.ci_low, minus='−')} to "
                                     f"{fmt_number(bayes.ci_high, minus='−')}")
    assert a["prob"]["text"] == fmt_prob(bayes.extras["prob_meaningful_benefit"])
    assert a["words"]["text"].lower() == result.verdict("severity")
    # more alerts than the box lists: the first ones above the fold, the rest one click away
    assert len(alerts) > 4 and m["alerts_total"] == len(alerts) and len(m["alerts"]) == 3
    for alert in m["alerts"]:
        assert _inside(alert, *DESKTOP), alert
    assert m["alerts"][0]["text"].startswith(alerts[0]["date"])


# --------------------------------------------------------------------------- printing
@pytest.mark.slow
@pytest.mark.skipif(PDFTOPPM is None, reason="pdftoppm is not installed (apt-get install poppler-utils) — "
                    "the print check of the HTML report is skipped")
@pytest.mark.parametrize("which", ["demo", "multi"])
def test_print_to_pdf_gives_readable_pages(request: pytest.FixtureRequest, which: str, tmp_path: Path) -> None:
    from PIL import Image

    page = _page(request, which)
    pdf = tmp_path / "report.pdf"
    cmd = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--no-pdf-header-footer",
           f"--print-to-pdf={pdf}", page["path"].resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, timeout=180, check=False)
    assert pdf.exists() and pdf.stat().st_size > 50_000, proc.stderr[-2000:]
    subprocess.run([PDFTOPPM, "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=180)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert 4 <= len(pages) <= 80, len(pages)
    inks = []
    for png in pages:
        with Image.open(png) as im:
            inked, colours = _blank(im)
            inks.append(inked)
            # the last page may hold only the footer; none is empty
            assert inked > 0.002 and colours > 4, f"{png.name} is blank"
            # nothing cut off: the right margin of every page is empty
            margin = im.crop((int(im.width * 0.97), 0, im.width, im.height))
            assert _blank(margin)[0] < 0.001, f"{png.name}: content runs into the right edge"
    assert sum(inks) / len(inks) > 0.03 and sorted(inks)[len(inks) // 2] > 0.03   # pages are filled
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=False).stdout if shutil.which("pdftotext") else ""
    if text:
        assert "Safety alerts" in text and "Question and answer" in text
        assert "Primary outcome" in text
