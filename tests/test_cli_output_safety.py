"""Outputs never destroy inputs: --force or not, through symlinks and hard links; writes are atomic
and every write error is one line naming the path (issue 19, items 1 and 3)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nof1.cli import main

PROTOCOL_TEXT = """\
schema_version: 1
id: tiny
title: Tiny
conditions:
  A: {label: Placebo, role: control}
  B: {label: Juice, role: treatment}
design:
  period_days: 7
  sequence: [A, B, A, B]
  start_date: 2026-01-01
outcomes:
  - {name: severity, type: continuous, range: [0, 10], better: lower, mcid: 1, role: primary}
"""
VALUES = [5.1, 4.2, 6.0, 5.5, 4.8, 5.9, 6.3, 3.9, 4.4, 3.1, 4.0, 3.6, 4.9, 3.3,
          5.7, 6.1, 5.2, 4.6, 6.4, 5.0, 5.8, 4.1, 3.8, 4.5, 3.0, 4.7, 3.4, 3.9]


def _files(folder: Path) -> tuple[Path, Path]:
    protocol = folder / "p.yaml"
    protocol.write_text(PROTOCOL_TEXT, encoding="utf-8")
    log = folder / "log.csv"
    rows = ["date,severity"] + [f"2026-01-{d + 1:02d},{v}" for d, v in enumerate(VALUES)]
    log.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return protocol, log


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# --------------------------------------------------------------------------- item 1: the reported cases
@pytest.mark.parametrize("which", ["log", "protocol"])
def test_analyze_report_never_overwrites_an_input(tmp_path: Path, capsys, which: str) -> None:
    protocol, log = _files(tmp_path)
    target = log if which == "log" else protocol
    before = _hash(target)
    code, _, err = run(capsys, "analyze", str(protocol), str(log), "--methods", "welch_naive",
                       "--report", str(target), "--force", "--quiet")
    assert code == 1
    assert "never writes over its own input" in err and str(target) in err
    assert "Traceback" not in err
    assert _hash(target) == before


def test_template_and_schedule_never_overwrite_the_protocol(tmp_path: Path, capsys) -> None:
    protocol, _ = _files(tmp_path)
    before = _hash(protocol)
    for args in (["template", str(protocol), "-o", str(protocol), "--force"],
                 ["schedule", str(protocol), "--format", "ics", "-o", str(protocol), "--force"],
                 ["schedule", str(protocol), "--format", "csv", "-o", str(protocol), "--force"],
                 ["schedule", str(protocol), "-o", str(protocol), "--force"]):
        code, _, err = run(capsys, *args)
        assert code == 1, args
        assert "never writes over its own input" in err, args
        assert _hash(protocol) == before, args


def test_links_to_an_input_are_refused(tmp_path: Path, capsys) -> None:
    protocol, log = _files(tmp_path)
    (tmp_path / "sym.html").symlink_to(log)
    os.link(protocol, tmp_path / "hard.yaml")
    sub = tmp_path / "sub"
    sub.mkdir()
    dotted = str(sub / ".." / "log.csv")
    h_log, h_protocol = _hash(log), _hash(protocol)
    for out in (str(tmp_path / "sym.html"), dotted):
        code, _, err = run(capsys, "analyze", str(protocol), str(log), "--methods", "welch_naive",
                           "--report", out, "--force", "--quiet")
        assert code == 1 and "same file as" in err and str(log) in err
    code, _, err = run(capsys, "template", str(protocol), "-o", str(tmp_path / "hard.yaml"), "--force")
    assert code == 1 and "same file as" in err
    assert (_hash(log), _hash(protocol)) == (h_log, h_protocol)


def test_design_plot_on_the_protocol_is_refused_before_simulating(tmp_path: Path, capsys) -> None:
    protocol, _ = _files(tmp_path)
    before = _hash(protocol)
    code, _, err = run(capsys, "design", str(protocol), "--sd", "1", "--phi", "0.3", "--compare",
                       "--plot", str(protocol), "--force")
    assert code == 1 and "never writes over its own input" in err
    assert _hash(protocol) == before


def test_force_still_overwrites_an_ordinary_output(tmp_path: Path, capsys) -> None:
    protocol, _ = _files(tmp_path)
    out = tmp_path / "sheet.csv"
    out.write_text("old\n")
    os.chmod(out, 0o640)
    code, _, err = run(capsys, "template", str(protocol), "-o", str(out), "--force")
    assert code == 0, err
    assert out.read_text().startswith("date,")
    assert oct(out.stat().st_mode & 0o777) == oct(0o640)        # the file's mode is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv", "p.yaml", "sheet.csv"]   # no temp file


def test_a_symlinked_output_is_written_through_the_link(tmp_path: Path, capsys) -> None:
    protocol, _ = _files(tmp_path)
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    (tmp_path / "link.csv").symlink_to(real)
    code, _, err = run(capsys, "template", str(protocol), "-o", str(tmp_path / "link.csv"), "--force")
    assert code == 0, err
    assert (tmp_path / "link.csv").is_symlink() and real.read_text().startswith("date,")


# --------------------------------------------------------------------------- atomic writes
def test_a_failed_write_leaves_the_old_file_intact(tmp_path: Path) -> None:
    from nof1.errors import OutputError
    from nof1.outputs import write_atomic

    target = tmp_path / "report.html"
    target.write_text("the old report")

    def writer(tmp: Path) -> None:
        tmp.write_text("half a rep")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match=r"cannot write .*report.html: No space left on device"):
        write_atomic(target, writer, force=True)
    assert target.read_text() == "the old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_an_exception_in_the_writer_leaves_no_temporary_file(tmp_path: Path) -> None:
    from nof1.outputs import write_atomic

    target = tmp_path / "fig.png"
    with pytest.raises(ZeroDivisionError):
        write_atomic(target, lambda tmp: 1 / 0)
    assert list(tmp_path.iterdir()) == []


def test_report_render_is_atomic_and_refuses_its_log(tmp_path: Path) -> None:
    import nof1
    from nof1.errors import Nof1Error as OutputError
    from nof1.report import render

    protocol, log = _files(tmp_path)
    td = nof1.read_log(log, nof1.load_protocol(protocol))
    res = nof1.analyze(td, methods=["welch_naive"], seed=1)
    before = _hash(log)
    with pytest.raises(OutputError, match="never writes over its own input"):
        render(res, log, overwrite=True, figures=False)
    assert _hash(log) == before


# --------------------------------------------------------------------------- item 3: write errors
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_write_errors_are_one_line_with_the_path(tmp_path: Path, capsys) -> None:
    protocol, log = _files(tmp_path)
    code, _, err = run(capsys, "schedule", str(protocol), "--format", "csv", "-o", "/dev/full", "--force")
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "error: cannot write /dev/full: No space left on device"
    code, _, err = run(capsys, "analyze", str(protocol), str(log), "--methods", "welch_naive",
                       "--report", "/dev/full", "--force", "--quiet")
    assert code == 1 and "Traceback" not in err
    assert "error: cannot write /dev/full: No space left on device" in err
    assert Path("/dev/full").is_char_device()                    # the device itself is untouched


def test_an_unwritable_folder_is_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    protocol, _ = _files(tmp_path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    code, _, err = run(capsys, "template", str(protocol), "-o", str(tmp_path / "new.csv"))
    assert code == 1 and "Traceback" not in err
    assert f"cannot write {tmp_path / 'new.csv'}: Permission denied" in err


def test_stdout_write_error_is_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    protocol, _ = _files(tmp_path)

    class Full:
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

        def flush(self) -> None:
            pass

    monkeypatch.setattr("sys.stdout", Full())
    code = main(["schedule", str(protocol), "--format", "csv"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "cannot write to standard output: No space left on device" in err


# --------------------------------------------------------------------------- the property
def _commands(protocol: Path, log: Path, out: str, force: bool) -> dict[str, tuple[list[str], set[str]]]:
    """argv of each command and the names of its inputs."""
    f = ["--force"] if force else []
    both, only_protocol = {"protocol", "log"}, {"protocol"}
    return {
        "analyze": (["analyze", str(protocol), str(log), "--methods", "welch_naive", "--quiet",
                     "--report", out, *f], both),
        "template": (["template", str(protocol), "-o", out, *f], only_protocol),
        "schedule-ics": (["schedule", str(protocol), "--format", "ics", "-o", out, *f], only_protocol),
        "schedule-csv": (["schedule", str(protocol), "--format", "csv", "-o", out, *f], only_protocol),
        "schedule-json": (["schedule", str(protocol), "--format", "json", "-o", out, *f], only_protocol),
        "schedule-table": (["schedule", str(protocol), "-o", out, *f], only_protocol),
        "design": (["design", str(protocol), "--sd", "1", "--phi", "0.3", "--compare", "--plot", out, *f],
                   only_protocol),
        "design-pilot": (["design", str(protocol), "--pilot", str(log), "--compare", "--plot", out, *f],
                         both),
        "validate": (["validate", str(protocol), str(log)], both),
    }


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(["analyze", "template", "schedule-ics", "schedule-csv", "schedule-json",
                                "schedule-table", "design", "design-pilot", "validate"]),
       target=st.sampled_from(["protocol", "log"]),
       via=st.sampled_from(["path", "symlink", "hardlink", "dotted", "relative-symlink"]),
       force=st.booleans())
def test_property_no_command_changes_its_inputs(tmp_path_factory, capsys, command: str, target: str,
                                                 via: str, force: bool) -> None:
    """Every command with an output, the output pointed at an input (directly, through a
    symlink, a hard link or a '..' path), with and without --force: the inputs' bytes never
    change; an output that is not an input is replaced only with --force."""
    folder = tmp_path_factory.mktemp("cli")
    protocol, log = _files(folder)
    files = {"protocol": protocol, "log": log}
    aim = files[target]
    if via == "path":
        out = str(aim)
    elif via == "symlink":
        (folder / "out.html").symlink_to(aim)
        out = str(folder / "out.html")
    elif via == "relative-symlink":
        (folder / "out.html").symlink_to(aim.name)
        out = str(folder / "out.html")
    elif via == "hardlink":
        os.link(aim, folder / "out.html")
        out = str(folder / "out.html")
    else:
        (folder / "sub").mkdir()
        out = str(folder / "sub" / ".." / aim.name)
    argv, inputs = _commands(protocol, log, out, force)[command]
    if target not in inputs and (force and command.startswith("design")):
        return          # a legitimate overwrite that would run the design simulations: covered above
    before = {name: _hash(files[name]) for name in inputs}
    before_aim = _hash(aim)
    code, _, err = run(capsys, *argv)
    assert "Traceback" not in err
    assert {name: _hash(files[name]) for name in inputs} == before
    if command == "validate":
        assert code == 0
    elif target in inputs:
        assert code == 1
        assert "never writes over its own input" in err
    elif not force:
        assert code == 1 and "already exists" in err
        assert _hash(aim) == before_aim
    else:
        assert code == 0, err


def test_posterior_files_are_written_atomically(tmp_path: Path, monkeypatch) -> None:
    import xarray as xr

    import nof1
    from nof1.analysis.bayes import load_fit
    from nof1.errors import OutputError

    protocol, log = _files(tmp_path)
    td = nof1.read_log(log, nof1.load_protocol(protocol))
    fit = nof1.analyze(td, methods=["bayes"], seed=1, engine="exact").get("severity", "bayes").fit
    path = fit.save(tmp_path / "fit.nc")
    before = _hash(path)
    assert load_fit(path).summary()["estimate"] == pytest.approx(fit.summary()["estimate"])

    def full(self, target, *args, **kwargs):
        Path(target).write_bytes(b"CDF half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xr.DataTree, "to_netcdf", full)
    with pytest.raises(OutputError, match="cannot write .*fit.nc: No space left on device"):
        fit.save(path)
    assert _hash(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.nc", "log.csv", "p.yaml"]
