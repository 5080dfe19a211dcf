"""Protocol model: loading, validation rules, fingerprint, allocations, schedules."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from nof1 import Protocol, ProtocolError, load_protocol
from nof1.protocol import protocol_from_dict, protocol_json_schema

ROOT = Path(__file__).resolve().parents[1]
BEETROOT = ROOT / "protocols" / "beetroot-juice-rls.yaml"


def base_dict() -> dict:
    return {
        "schema_version": 1,
        "id": "demo",
        "title": "Demo trial",
        "conditions": {
            "A": {"label": "Placebo", "role": "control"},
            "B": {"label": "Juice", "role": "treatment"},
        },
        "design": {"period_days": 7, "sequence": ["A", "B", "A", "B"], "washout_days": 2},
        "outcomes": [
            {"name": "severity", "type": "continuous", "range": [0, 10], "better": "lower",
             "mcid": 1.0, "role": "primary"},
        ],
    }


def problems_of(data: dict) -> list[str]:
    with pytest.raises(ProtocolError) as info:
        protocol_from_dict(data, source="t.yaml")
    return [str(p) for p in info.value.problems] or [info.value.message]


# ---------------------------------------------------------------- bundled protocols
@pytest.mark.parametrize("path", sorted((ROOT / "protocols").glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_protocol_validates(path: Path) -> None:
    p = load_protocol(path)
    assert p.fingerprint.startswith("sha256:") and len(p.fingerprint) == 7 + 64
    assert p.primary.mcid is not None
    sched = p.schedule(start="2027-01-04")
    assert len(sched) == p.total_days
    # every trial day belongs to a declared condition
    assert set(sched.loc[sched["phase"] == "trial", "condition"]) <= set(p.conditions)


def test_beetroot_protocol_is_the_default_design() -> None:
    p = load_protocol(BEETROOT)
    assert p.scheme == "pairs" and p.n_periods == 8 and p.design.period_days == 14
    assert p.design.run_in_days == 14 and p.design.washout_days == 4
    assert p.total_days == 14 + 8 * 14
    assert p.primary.name == "severity" and p.primary.better == "lower"
    assert p.n_allocations == 16 and len(p.allocations()) == 16
    assert p.is_blinded and set(p.blinded_codes) == {"A", "B"}
    assert p.blinded_codes["A"] != p.blinded_codes["B"]


# ---------------------------------------------------------------- fingerprint
def test_fingerprint_ignores_comments_order_whitespace_and_format(tmp_path: Path) -> None:
    p = load_protocol(BEETROOT)
    data = yaml.safe_load(BEETROOT.read_text())
    # reversed key order, no comments, JSON form
    reordered = dict(reversed(list(data.items())))
    reordered["design"] = dict(reversed(list(data["design"].items())))
    (tmp_path / "p.json").write_text(json.dumps(reordered, default=str, indent=7))
    (tmp_path / "p.yaml").write_text("# a comment\n\n" + yaml.safe_dump(reordered, sort_keys=True, indent=4))
    assert load_protocol(tmp_path / "p.json").fingerprint == p.fingerprint
    assert load_protocol(tmp_path / "p.yaml").fingerprint == p.fingerprint
    # round trip through to_yaml
    (tmp_path / "rt.yaml").write_text(p.to_yaml())
    assert load_protocol(tmp_path / "rt.yaml") == p
    assert load_protocol(tmp_path / "rt.yaml").fingerprint == p.fingerprint


@pytest.mark.parametrize(
    "path, value",
    [
        (("design", "period_days"), 10),
        (("design", "washout_days"), 3),
        (("outcomes", 0, "mcid"), 1.5),
        (("conditions", "B", "label"), "Juice!"),
        (("title",), "Demo trial 2"),
        (("analysis",), {"ci_level": 0.9}),
    ],
)
def test_fingerprint_changes_with_any_value(path: tuple, value: object) -> None:
    d = base_dict()
    before = protocol_from_dict(d).fingerprint
    target = d
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert protocol_from_dict(d).fingerprint != before


def test_explicit_default_equals_omitted() -> None:
    d = base_dict()
    d2 = copy.deepcopy(d)
    d2["design"]["blinding"] = "none"
    d2["analysis"] = {"ci_level": 0.95}
    assert protocol_from_dict(d).fingerprint == protocol_from_dict(d2).fingerprint


# ---------------------------------------------------------------- randomisation
def pairs_dict(seed: int = 7, pairs: int = 4) -> dict:
    d = base_dict()
    d["design"] = {"period_days": 7, "randomization": {"scheme": "pairs", "pairs": pairs, "seed": seed}}
    return d


def test_same_seed_same_schedule_and_pairs_are_ab_or_ba() -> None:
    a, b = protocol_from_dict(pairs_dict(7)), protocol_from_dict(pairs_dict(7))
    assert a.sequence == b.sequence
    assert a.schedule().equals(b.schedule())
    seqs = {protocol_from_dict(pairs_dict(s)).sequence for s in range(40)}
    assert len(seqs) > 5  # the seed matters
    for seq in seqs:
        for i in range(0, len(seq), 2):
            assert seq[i:i + 2] in (("A", "B"), ("B", "A"))


def test_realised_sequence_is_pinned_across_versions() -> None:
    # The draw uses sha256 of (seed, key), not numpy's generator: pinned forever.
    assert load_protocol(BEETROOT).sequence == ("B", "A", "B", "A", "B", "A", "A", "B")


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_pairs_allocations_have_2_to_the_k_members(k: int) -> None:
    p = protocol_from_dict(pairs_dict(pairs=k))
    allocs = p.allocations()
    assert len(allocs) == 2**k == p.n_allocations
    assert len(set(allocs)) == 2**k
    assert p.sequence in allocs


def test_blocks_scheme_three_conditions() -> None:
    d = base_dict()
    d["conditions"]["C"] = {"label": "Other", "role": "treatment"}
    d["design"] = {"period_days": 5, "randomization": {"scheme": "blocks", "blocks": 2, "seed": 3}}
    p = protocol_from_dict(d)
    assert p.n_allocations == 36 and len(p.allocations()) == 36
    seq = p.sequence
    assert sorted(seq[:3]) == ["A", "B", "C"] and sorted(seq[3:]) == ["A", "B", "C"]
    sched = p.schedule()
    assert list(sched["pair"].unique()) == [1, 2]


def test_given_sequence_must_be_producible_by_scheme() -> None:
    d = pairs_dict(pairs=2)
    d["design"]["sequence"] = ["A", "A", "B", "B"]
    msgs = problems_of(d)
    assert any("could have produced" in m for m in msgs)
    d["design"]["sequence"] = ["B", "A", "A", "B"]
    assert protocol_from_dict(d).sequence == ("B", "A", "A", "B")


def test_start_points_scheme_matches_scrt_count() -> None:
    d = base_dict()
    d["design"] = {"sequence": ["A", "B", "A", "B"], "total_days": 24, "phase_starts": [7, 13, 19],
                   "randomization": {"scheme": "start_points", "min_phase_days": 4, "seed": 1}}
    p = protocol_from_dict(d)
    assert p.n_allocations == 165 == len(p.allocations())
    assert p.periods_for() == [("A", 6), ("B", 6), ("A", 6), ("B", 6)]
    for m, n in ((3, 455), (5, 35)):
        d["design"]["randomization"]["min_phase_days"] = m
        assert protocol_from_dict(d).n_allocations == n == len(protocol_from_dict(d).allocations())


def test_fixed_sequence_has_one_allocation() -> None:
    p = protocol_from_dict(base_dict())
    assert not p.is_randomized and p.allocations() == [("A", "B", "A", "B")]


# ---------------------------------------------------------------- schedule
def test_schedule_columns_and_washout() -> None:
    d = base_dict()
    d["design"]["run_in_days"] = 3
    p = protocol_from_dict(d)
    s = p.schedule(start="2026-12-01")
    assert list(s.columns) == ["date", "day", "phase", "period", "pair", "condition", "label", "code",
                               "day_in_period", "washout"]
    assert len(s) == 3 + 28
    assert s["date"].iloc[0] == dt.datetime(2026, 12, 1) and s["date"].iloc[-1] == dt.datetime(2026, 12, 31)
    assert (s["phase"][:3] == "run_in").all() and (s["period"][:3] == 0).all()
    trial = s[s["phase"] == "trial"]
    assert trial["washout"].sum() == 4 * 2
    assert list(trial.groupby("period")["washout"].apply(lambda w: list(w[:3]))) == [[True, True, False]] * 4
    assert list(trial["pair"].unique()) == [1, 2]


def test_schedule_without_start_has_no_dates() -> None:
    s = protocol_from_dict(base_dict()).schedule()
    assert s["date"].isna().all() and s["day"].tolist() == list(range(1, 29))


def test_ics_parses_with_icalendar() -> None:
    icalendar = pytest.importorskip("icalendar")
    from nof1.schedule import schedule_to_ics

    p = load_protocol(BEETROOT)
    cal = icalendar.Calendar.from_ical(schedule_to_ics(p))
    events = [c for c in cal.walk() if c.name == "VEVENT"]
    assert len(events) == p.n_periods + 1  # periods plus the run-in
    starts = [e.decoded("dtstart") for e in events]
    ends = [e.decoded("dtend") for e in events]
    assert starts[0] == dt.date(2026, 12, 1) and ends[0] == dt.date(2026, 12, 15)
    assert starts[1] == dt.date(2026, 12, 15)
    assert ends[-1] == dt.date(2026, 12, 1) + dt.timedelta(days=p.total_days)
    for a, b in zip(ends[:-1], starts[1:], strict=True):
        assert a == b  # contiguous, DTEND exclusive
    # blinded: summaries carry codes, not labels
    text = " ".join(str(e.get("summary")) + str(e.get("description")) for e in events)
    assert "Placebo" not in text and "nitrate-depleted" not in text
    assert "code " + p.blinded_codes["A"] in text
    cal2 = icalendar.Calendar.from_ical(schedule_to_ics(p, unblind=True))
    assert any("Placebo juice" in str(e.get("summary")) for e in cal2.walk("VEVENT"))


def test_log_template_marks_weekly_days() -> None:
    from nof1.schedule import log_template

    p = load_protocol(BEETROOT)
    t = log_template(p)
    assert len(t) == p.total_days
    assert {"date", "condition", "severity", "irls", "adherence", "note", "due"} <= set(t.columns)
    due_irls = t[t["due"].str.contains("irls")]
    # run-in (days 7, 14) and each period (days 7 and 14)
    assert len(due_irls) == 2 + 2 * p.n_periods
    assert set(t.loc[t["period"] > 0, "condition"]) == set(p.blinded_codes.values())


# ---------------------------------------------------------------- bad input
def test_rules() -> None:
    d = base_dict()
    d["conditions"]["B"]["role"] = "control"
    assert any("exactly one must have role: control" in m for m in problems_of(d))

    d = base_dict()
    d["design"]["washout_days"] = 7
    assert any("washout_days" in m and "less than period_days" in m for m in problems_of(d))

    d = base_dict()
    d["design"]["sequence"] = ["A", "C"]
    assert any("design.sequence" in m and "not declared" in m for m in problems_of(d))

    d = base_dict()
    d["design"]["period_days"] = 0
    assert any("design.period_days" in m for m in problems_of(d))

    d = base_dict()
    d["design"]["sequence"] = []
    assert any("design.sequence" in m for m in problems_of(d))

    d = base_dict()
    d["outcomes"].append(dict(d["outcomes"][0], role="secondary"))
    assert any("duplicate outcome names ['severity']" in m for m in problems_of(d))

    d = base_dict()
    d["conditions"] = {"A": {"label": "Placebo", "role": "control"}}
    assert any("at least two" in m for m in problems_of(d))

    d = base_dict()
    d["outcomes"][0]["range"] = [10, 0]
    assert any("low < high" in m for m in problems_of(d))

    d = base_dict()
    d["outcomes"][0]["mcid"] = -1
    assert any("outcomes[0].mcid" in m for m in problems_of(d))

    d = base_dict()
    d["outcomes"][0]["name"] = "bad name"
    assert any("outcomes[0].name" in m for m in problems_of(d))

    d = base_dict()
    d["outcomes"][0]["alert"] = {"below": 1}
    assert any("safety outcomes" in m for m in problems_of(d))

    d = base_dict()
    d["outcomes"][0]["type"] = "ordinal"
    d["outcomes"][0]["range"] = [0, 10.5]
    assert any("whole numbers" in m for m in problems_of(d))


def test_unknown_key_gets_did_you_mean() -> None:
    d = base_dict()
    d["design"]["washout_dys"] = 2
    msgs = problems_of(d)
    assert any("design.washout_dys" in m and "did you mean 'washout_days'" in m for m in msgs)
    d = base_dict()
    d["outcomes"][0]["mcdi"] = 1
    assert any("outcomes[0].mcdi" in m and "did you mean 'mcid'" in m for m in problems_of(d))
    d = base_dict()
    d["conditions"]["A"]["lable"] = "x"
    assert any("conditions.A.lable" in m and "did you mean 'label'" in m for m in problems_of(d))


def test_wrong_types_name_the_field() -> None:
    d = base_dict()
    d["design"]["period_days"] = "two weeks"
    msgs = problems_of(d)
    assert any(m.startswith("design.period_days") and "two weeks" in m for m in msgs)
    d = base_dict()
    d["outcomes"][0]["type"] = "continous"
    assert any("outcomes[0].type" in m and "continous" in m for m in problems_of(d))


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def test_file_errors(tmp_path: Path) -> None:
    cases = {
        "missing": (tmp_path / "nope.yaml", "no such file"),
        "dir": (tmp_path, "is a directory"),
        "empty": (write(tmp_path, "empty.yaml", "  \n"), "empty"),
        "binary": (write(tmp_path, "bin.yaml", b"\x00\x01\x02PK"), "binary"),
        "malformed": (write(tmp_path, "bad.yaml", "id: x\n  title: [unclosed\n"), "line"),
        "python_tag": (write(tmp_path, "evil.yaml", "!!python/object/apply:os.system ['echo hi']\n"),
                       "can never run code"),
        "list": (write(tmp_path, "list.yaml", "- a\n- b\n"), "expected a mapping of protocol keys"),
        "dupkey": (write(tmp_path, "dup.yaml", "id: a\nid: b\n"), "duplicate key 'id'"),
        "badjson": (write(tmp_path, "bad.json", '{"id": }'), "invalid JSON at line 1"),
    }
    for name, (path, expected) in cases.items():
        with pytest.raises(ProtocolError) as info:
            load_protocol(path)
        assert expected in str(info.value), (name, str(info.value))
        assert str(path) in str(info.value)


def test_malformed_yaml_reports_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "schema_version: 1\nid: x\ntitle: 'unterminated\nconditions: {}\n")
    with pytest.raises(ProtocolError, match=r"line \d+"):
        load_protocol(path)


def test_json_schema_has_the_keys() -> None:
    schema = protocol_json_schema()
    assert {"conditions", "design", "outcomes", "analysis", "schema_version"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_protocol_is_frozen() -> None:
    p = protocol_from_dict(base_dict())
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen models
        p.title = "x"  # type: ignore[misc]
    assert isinstance(p, Protocol)
