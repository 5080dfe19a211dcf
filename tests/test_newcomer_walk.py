"""What a newcomer meets on the README's tour: a copied protocol edited for their own trial
(stopping mouthwash) and the typical mistakes, each with the message that says how to fix it.
Also: safety outcomes read the right way round (their risk, their alert) in words."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import nof1
from nof1.cli import main
from nof1.cli.analyze_cmd import print_result
from nof1.protocol import Outcome
from nof1.safety import alert_words, risk_probability_words, risk_words

ROOT = Path(__file__).resolve().parents[1]
MOUTHWASH = ROOT / "protocols" / "stop-mouthwash-rls.yaml"
BEETROOT = ROOT / "protocols" / "beetroot-juice-rls.yaml"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def edited(tmp_path: Path, old: str, new: str) -> Path:
    text = MOUTHWASH.read_text()
    assert old in text
    path = tmp_path / "my-trial.yaml"
    path.write_text(text.replace(old, new))
    return path


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    p = nof1.load_protocol(MOUTHWASH)
    return nof1.simulate(p, effect=-1.0, sd=1.5, phi=0.4, seed=2, missing=0.03)


# --------------------------------------------------------------------------- protocol mistakes
def test_typo_in_an_outcome_key_names_the_outcome(tmp_path: Path, capsys) -> None:
    path = edited(tmp_path, "    better: higher               # the mechanism", "    beter: higher  # the mechanism")
    code, _, err = run(capsys, "validate", path)
    assert code == 1
    assert "outcomes[2].beter: unknown key 'beter'; did you mean 'better'? (outcome 'saliva_nitrite')" in err


def test_condition_key_with_the_wrong_case_in_the_sequence(tmp_path: Path, capsys) -> None:
    path = edited(tmp_path, "  randomization: {scheme: pairs, pairs: 2, seed: 20270111}",
                  "  sequence: [A, B, b, A]\n  randomization: {scheme: fixed}")
    code, _, err = run(capsys, "validate", path)
    assert code == 1 and "keys are case-sensitive" in err and "did you mean 'b' → 'B'?" in err


def test_safety_direction_contradicting_the_alert_is_refused(tmp_path: Path, capsys) -> None:
    text = BEETROOT.read_text().replace("    better: higher               # for safety: a fall is the worry on nitrate",
                                        "    better: lower")
    path = tmp_path / "beet.yaml"
    path.write_text(text)
    code, _, err = run(capsys, "validate", path)
    assert code == 1
    assert ("outcomes[4]: better: lower contradicts alert {below: 90}: the alert treats low "
            "values as the risk, so the safe direction is better: higher") in err and "(outcome 'systolic_bp')" in err


# --------------------------------------------------------------------------- log mistakes
def test_misspelt_condition_suggests_the_label(tmp_path: Path, capsys, practice: pd.DataFrame) -> None:
    log = practice.copy()
    log.loc[log.index[30], "condition"] = "No mouthwsh"
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    code, out, _ = run(capsys, "validate", MOUTHWASH, path)
    assert code == 0
    assert "'No mouthwsh' is not a declared condition; did you mean 'No mouthwash'?" in out


def test_wrong_date_format_is_reported_once_with_the_fix(tmp_path: Path, capsys, practice: pd.DataFrame) -> None:
    log = practice.assign(date=pd.to_datetime(practice["date"]).dt.strftime("%d/%m/%Y"))
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    code, out, _ = run(capsys, "validate", MOUTHWASH, path)
    assert code == 1
    listed = [x for x in out.splitlines() if "ambiguous date" in x and x.strip().startswith("line ")]
    assert len(listed) == 3                                  # not one line per row
    more = re.search(r"\.\.\. and (\d+) more like this \(lines ", out)
    dropped = int(re.search(r"(\d+) ambiguous date\)", out).group(1))
    assert more is not None and int(more.group(1)) == dropped - 3 and dropped > 30
    assert "--date-format '%d/%m/%Y'" in out
    # the option the message names exists on analyze too, and fixes it
    code, out, err = run(capsys, "analyze", MOUTHWASH, path, "--date-format", "%d/%m/%Y", "--outcome", "severity",
                         "--methods", "paired_periods", "--quiet")
    assert code == 0, err
    assert "paired_periods" in out


def test_missing_primary_column_stops_analyze_with_the_fix(tmp_path: Path, capsys, practice: pd.DataFrame) -> None:
    path = tmp_path / "log.csv"
    practice.rename(columns={"severity": "severty"}).to_csv(path, index=False)
    code, _, err = run(capsys, "analyze", MOUTHWASH, path, "--quiet")
    assert code == 1
    # the log report (main) or analyze's own check names the primary outcome and the stray column
    assert "primary outcome 'severity'" in err and "severty" in err
    practice.drop(columns=["severity"]).to_csv(path, index=False)
    code, _, err = run(capsys, "analyze", MOUTHWASH, path, "--quiet")
    assert code == 1 and "primary outcome 'severity'" in err


# --------------------------------------------------------------------------- safety words
def test_risk_and_alert_words() -> None:
    bp = Outcome(name="systolic_bp", better="higher", mcid=10, unit="mmHg", role="safety", alert={"below": 90})
    assert risk_words(bp) == "a fall of more than 10 mmHg"
    assert alert_words(bp) == "alert below 90 mmHg"
    assert risk_probability_words(bp, {"prob_meaningful_harm": 0.114, "prob_benefit": 0.25}) == \
        "P(a fall of more than 10 mmHg) 11%; P(any fall) 75%"
    gums = Outcome(name="gum_bleeding", type="binary", better="lower", role="safety",
                   alert={"at_least": 1, "consecutive_days": 3})
    assert risk_words(gums) == "any increase" and alert_words(gums) == "alert at 1 or more on 3 days in a row"


def test_terminal_and_report_agree_on_the_safety_direction() -> None:
    from bs4 import BeautifulSoup
    from rich.console import Console

    from nof1.data import TrialData
    from nof1.report import to_html

    p = nof1.load_protocol(BEETROOT)
    log = nof1.simulate(p, effect={"severity": -1.0, "systolic_bp": -8}, sd={"severity": 1.5, "systolic_bp": 6},
                        baseline={"severity": 5.5, "systolic_bp": 126}, phi=0.3, seed=4)
    td = TrialData.from_frame(p, log)
    res = nof1.analyze(td, outcomes=["severity", "systolic_bp"], methods=["bayes", "paired_periods"],
                       engine="exact", seed=1)
    console = Console(record=True, width=300, highlight=False)
    print_result(res, console, alerts=[], show_data=False)
    text = console.export_text()
    head = next(x for x in text.splitlines() if x.startswith("Systolic blood pressure"))
    assert "the risk is a fall of more than 10 mmHg; alert below 90 mmHg" in head and "is better" not in head
    bayes = res.get("systolic_bp", "bayes")
    harm = nof1.formatting.fmt_prob(bayes.extras["prob_meaningful_harm"])
    assert f"risk: P(a fall of more than 10 mmHg) {harm}" in text
    assert "P(rise)" in text and "P(rise>10)" in text
    soup = BeautifulSoup(to_html(res, alerts=[], figures=False), "html.parser")
    art = soup.find(id="outcome-systolic_bp")
    note = art.find(class_="note").get_text()
    assert "the risk is a fall of more than 10 mmHg; alert below 90 mmHg" in note and "higher is better" not in note
    assert art.find(class_="answer-prob").get_text() == harm
    assert "P(a fall of more than 10 mmHg)" in art.find("dl", class_="answer").get_text()
    assert "higher (risk: a fall)" in soup.find(id="protocol").get_text()
