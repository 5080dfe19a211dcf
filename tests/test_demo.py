"""``nof1 demo``: the whole workflow on the bundled sample, run in a fresh folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from nof1 import load_protocol
from nof1.cli.demo_cmd import bundled

ROOT = Path(__file__).resolve().parents[1]
NOF1 = [sys.executable, "-m", "nof1"]


def run_demo(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "120"}
    return subprocess.run([*NOF1, "demo", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=600)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str], float]:
    cwd = tmp_path_factory.mktemp("demo")
    t0 = time.perf_counter()
    proc = run_demo(cwd)
    return cwd, proc, time.perf_counter() - t0


def test_bundled_files_found() -> None:
    assert bundled("protocols/beetroot-juice-rls.yaml").is_file()
    assert bundled("data/sample/beetroot_log_messy.csv").is_file()


@pytest.mark.slow
def test_demo_runs_the_whole_workflow(demo_run) -> None:
    cwd, proc, seconds = demo_run
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    p = load_protocol(ROOT / "protocols" / "beetroot-juice-rls.yaml")
    assert f"OK protocols/beetroot-juice-rls.yaml  {p.fingerprint}" in out
    assert "beetroot_log_messy.csv" in out and "duplicates='last'" in out  # the defect report
    assert "126 read = 122 used + 4 dropped" in out
    assert "108 of 112 trial days logged" in out
    assert "[primary]" in out and "verdict:" in out
    # the safety outcomes are fitted, so the benefit-harm probability is there (a percentage)
    assert "SAFETY ALERTS (2)" in out
    line = next(x for x in out.splitlines() if x.startswith("benefit–harm:"))
    assert "Probability that Beetroot juice improves" in line and line.rstrip(".").endswith("%"), line
    report = cwd / "nof1-demo" / "report.html"
    assert report.is_file() and str(report) in out
    soup = BeautifulSoup(report.read_text(), "html.parser")
    assert soup.find(id="summary") is not None and soup.find(id="sensitivity").find("img") is not None
    # whatever is not in the demo is said, never silently skipped
    if "the Bayesian model is skipped" in out:
        assert "nof1 analyze" in out and "--outcome" in out
    assert seconds < 120, f"the demo took {seconds:.0f} s"


@pytest.mark.slow
def test_demo_replaces_only_its_own_report(demo_run, tmp_path: Path) -> None:
    cwd, proc, _ = demo_run
    assert proc.returncode == 0
    foreign = tmp_path / "nof1-demo"
    foreign.mkdir()
    (foreign / "report.html").write_text("my own notes")
    refused = run_demo(tmp_path)
    assert refused.returncode == 1 and "was not written by nof1 demo" in refused.stderr
    assert (foreign / "report.html").read_text() == "my own notes"
