"""nof1.report: one self-contained HTML file with every section, escaped text and embedded figures."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402
from test_plot import CLASSICAL, fake_bayes  # noqa: E402

import nof1  # noqa: E402
from nof1 import report  # noqa: E402
from nof1.data import TrialData  # noqa: E402
from nof1.errors import Nof1Error  # noqa: E402
from nof1.protocol import protocol_from_dict  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BEETROOT = ROOT / "protocols" / "beetroot-juice-rls.yaml"
ALERTS = [{"date": "2027-01-20", "outcome": "systolic_bp", "value": 88.0,
           "message": "systolic_bp 88 < 90 <b>check</b>"}]


@pytest.fixture(scope="module")
def trial() -> TrialData:
    p = nof1.load_protocol(BEETROOT)
    log = nof1.simulate(p, effect={"severity": -1.2}, sd={"severity": 1.5}, baseline={"severity": 5.5},
                        phi=0.4, carryover_days=1.5, seed=11, missing=0.03)
    return TrialData.from_frame(p, log, source="simulated.csv")


@pytest.fixture(scope="module")
def result(trial: TrialData) -> Any:
    res = nof1.analyze(trial, methods=CLASSICAL, outcomes=["severity", "sleep_hours", "systolic_bp"], seed=3)
    res.results["severity"]["B-A"] = {"bayes": fake_bayes(trial), **res.results["severity"]["B-A"]}
    res.verdicts["severity"]["B-A"] = "likely meaningful benefit"
    return res


@pytest.fixture(scope="module")
def sens(trial: TrialData) -> Any:
    return nof1.washout_sensitivity(trial, "severity")


@pytest.fixture(scope="module")
def page(result: Any, sens: Any) -> str:
    html = report.to_html(result, sensitivity=sens, alerts=ALERTS, benefit_harm="Benefit outweighs harm.")
    plt.close("all")
    return html


@pytest.fixture(scope="module")
def soup(page: str) -> BeautifulSoup:
    return BeautifulSoup(page, "html.parser")


def test_every_section_present_in_order(soup: BeautifulSoup) -> None:
    ids = [s.get("id") for s in soup.find_all("section")]
    # this simulated trial has the stress covariate and adherence, no manipulation check or guesses
    assert ids == [s for s in report.SECTION_IDS
                   if s not in report.OPTIONAL_SECTION_IDS or s in ("covariates", "adherence")]
    assert soup.find("section").get("id") == "safety-alerts"  # alerts at the top


def test_self_contained_no_network(soup: BeautifulSoup, page: str) -> None:
    imgs = soup.find_all("img")
    assert len(imgs) >= 6
    for img in imgs:
        assert img["src"].startswith("data:image/svg+xml;base64,")
        svg = base64.b64decode(img["src"].split(",", 1)[1]).decode()
        assert "<svg" in svg and "http://www.w3.org" in svg  # namespaces only, never fetched
        assert img.get("alt")
    for tag in soup.find_all(src=True):
        assert not re.match(r"https?:", tag["src"])
    for tag in soup.find_all(href=True):
        assert not re.match(r"https?:", tag["href"]), tag
    assert soup.find("script") is None and soup.find("link") is None
    assert "@import" not in page and "url(" not in page


def test_verdict_and_caveats(soup: BeautifulSoup) -> None:
    summary = soup.find(id="summary")
    verdict = summary.find(class_="verdict")
    assert "Likely meaningful benefit" in verdict.get_text()
    assert "75%" in verdict.get_text()
    caveats = summary.find(class_="caveats").get_text()
    assert "4 complete pair(s)" in caveats
    assert "smallest possible p-value" in caveats and "cannot reach p < 0.05" in caveats
    assert "Blinding: double" in caveats and "washout" in caveats


def test_protocol_section(soup: BeautifulSoup, result: Any) -> None:
    sec = soup.find(id="protocol")
    assert result.protocol.fingerprint in sec.get_text()
    rows = soup.find(id="schedule-table").find("tbody").find_all("tr")
    assert len(rows) == result.protocol.n_periods + 1  # run-in + periods
    assert "Beetroot juice" in sec.get_text() and "double" in sec.get_text()


def test_trial_summary(soup: BeautifulSoup, trial: TrialData, result: Any) -> None:
    sec = soup.find(id="trial")
    rows = sec.find(id="period-account").find("tbody").find_all("tr")
    assert len(rows) == result.protocol.n_periods + 1
    assert f"{trial.report.days_expected} / {trial.report.days_logged} / {trial.report.days_missing}" in sec.get_text()
    assert sec.find(id="no-defects") is not None


def test_results_primary_first_secondary_exploratory_safety(soup: BeautifulSoup) -> None:
    articles = soup.find(id="results").find_all("article")
    assert [a["id"] for a in articles] == ["outcome-severity", "outcome-sleep_hours", "outcome-systolic_bp"]
    assert [a["data-role"] for a in articles] == ["primary", "secondary", "safety"]
    assert "exploratory" in articles[1].get_text()
    table = soup.find(id="methods-severity-B-A")
    methods = [tr.find("td").get_text() for tr in table.find("tbody").find_all("tr")]
    assert methods == ["bayes", *CLASSICAL]


def test_alerts_benefit_harm_sensitivity_methods_repro(soup: BeautifulSoup, result: Any) -> None:
    alerts = soup.find(id="safety-alerts")
    assert "2027-01-20" in alerts.get_text() and "1 alert(s)" in alerts.get_text()
    assert "Benefit outweighs harm." in soup.find(id="benefit-harm").get_text()
    sens = soup.find(id="sensitivity")
    assert sens.find(id="washout-table") is not None and sens.find("img") is not None
    methods = soup.find(id="methods").get_text()
    assert "AR(1)" in methods and "Normal(0, 2.5)" in methods and "randomisation" in methods.lower()
    repro = soup.find(id="reproducibility")
    rep = result.reproducibility()
    assert repro.find(id="seed").get_text() == str(rep["seed"])
    assert repro.find(id="data-hash").get_text() == rep["data_hash"]
    assert "numpy" in repro.get_text()


def test_user_text_is_escaped(trial: TrialData) -> None:
    raw = nof1.load_protocol(BEETROOT).model_dump(mode="json", exclude_none=True)
    raw["title"] = "<script>alert('x')</script> & co"
    raw["description"] = "Does <b>this</b> help?"
    raw["conditions"]["B"]["label"] = "Juice <img src=x onerror=alert(1)>"
    p = protocol_from_dict(raw)
    td = TrialData.from_frame(p, trial.data[["day", "severity", "condition_taken"]].rename(
        columns={"condition_taken": "condition"}))
    res = nof1.analyze(td, methods=["paired_periods"], outcomes=["severity"], seed=1)
    html = report.to_html(res, alerts=ALERTS, figures=False)
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("script") is None
    assert soup.find("b") is None
    assert all(img.get("src", "").startswith("data:") for img in soup.find_all("img"))
    assert "<script>alert('x')</script> & co" in soup.find("h1").get_text()
    assert "Juice <img src=x onerror=alert(1)>" in soup.get_text()
    assert "<b>check</b>" in soup.find(id="safety-alerts").get_text()


def test_without_safety_or_sensitivity_the_report_says_so(result: Any) -> None:
    html = report.to_html(result, alerts=[], figures=False)
    soup = BeautifulSoup(html, "html.parser")
    assert "Safety alerts: none" in soup.find(id="safety-alerts").get_text()
    assert "was not run" in soup.find(id="sensitivity").get_text()
    assert soup.find("img") is None


def test_render_never_overwrites_unless_asked(result: Any, tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    path.write_text("mine")
    with pytest.raises(Nof1Error, match="already exists"):
        report.render(result, path, alerts=[], figures=False)
    assert path.read_text() == "mine"
    written = report.render(result, path, alerts=[], figures=False, overwrite=True)
    assert written == path and path.read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(Nof1Error, match="does not exist"):
        report.render(result, tmp_path / "no" / "r.html", alerts=[], figures=False)


def test_same_inputs_same_html(result: Any, sens: Any, page: str) -> None:
    again = report.to_html(result, sensitivity=sens, alerts=ALERTS, benefit_harm="Benefit outweighs harm.")
    plt.close("all")
    assert again == page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium) — "
                    "the headless rendering check of the HTML report is skipped")
def test_report_opens_in_headless_chromium(page: str, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    html.write_text(page, encoding="utf-8")
    png = tmp_path / "shot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=1280,2000",
           html.as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert png.exists() and png.stat().st_size > 20_000
    from PIL import Image

    with Image.open(png) as im:
        assert im.size == (1280, 2000)
        colors = im.convert("RGB").resize((64, 100)).getcolors(maxcolors=10_000)
        assert colors is not None and len(colors) > 20  # not a blank page
