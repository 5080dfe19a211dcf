"""Protocol files from careless hands (issue 19, items 4, 6 and 7)."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import nof1
from nof1.errors import ProtocolError
from nof1.protocol import load_protocol, protocol_from_dict

ROOT = Path(__file__).resolve().parents[1]
BEETROOT = ROOT / "protocols" / "beetroot-juice-rls.yaml"
BASE = yaml.safe_load(BEETROOT.read_text(encoding="utf-8"))


def _problems(mutate) -> str:
    data = copy.deepcopy(BASE)
    mutate(data)
    with pytest.raises(ProtocolError) as info:
        protocol_from_dict(data, source="p.yaml")
    return str(info.value)


# --------------------------------------------------------------------------- item 4: strict numbers
@pytest.mark.parametrize(("where", "key", "value", "expected"), [
    ("design", "period_days", True, "design.period_days: expected a whole number, got true"),
    ("design", "washout_days", False, "design.washout_days: expected a whole number, got false"),
    ("design", "run_in_days", "14", "design.run_in_days: expected a whole number, got the text '14'"),
    ("root", "schema_version", True, "schema_version: expected a whole number, got true"),
    ("randomization", "pairs", True, "design.randomization.pairs: expected a whole number, got true"),
    ("outcome", "mcid", True, "outcomes[0].mcid: expected a number, got true"),
    ("outcome", "range", [False, True], "outcomes[0].range: expected a number, got false"),
    ("outcome", "range", [0, float("inf")], "outcomes[0].range[1]: must be a finite number (got inf)"),
    ("outcome", "mcid", float("inf"), "outcomes[0].mcid: must be a finite number (got inf)"),
    ("outcome", "measure_days", [7, True], "outcomes[0].measure_days: expected a whole number, got true"),
])
def test_counts_lengths_and_ranges_are_strict(where: str, key: str, value, expected: str) -> None:
    def mutate(d: dict) -> None:
        target = {"design": d["design"], "root": d, "randomization": d["design"]["randomization"],
                  "outcome": d["outcomes"][1 if key == "measure_days" else 0]}[where]
        target[key] = value

    text = _problems(mutate)
    if key == "measure_days":
        expected = expected.replace("outcomes[0]", "outcomes[1]")
    assert expected in text


def test_an_unbounded_range_says_to_leave_it_out() -> None:
    text = _problems(lambda d: d["outcomes"][3].__setitem__("range", [0, float("inf")]))
    assert "leave the range out" in text


def test_plain_numbers_still_load() -> None:
    data = copy.deepcopy(BASE)
    data["design"]["period_days"] = 14.0          # a JSON tool may write 14.0
    assert protocol_from_dict(data).design.period_days == 14


# --------------------------------------------------------------------------- item 6: text, not a path
def test_load_protocol_given_yaml_text_says_so() -> None:
    text = BEETROOT.read_text(encoding="utf-8")
    with pytest.raises(ProtocolError, match="looks like the text of a protocol, not a file name"):
        load_protocol(text)
    with pytest.raises(ProtocolError, match="protocol_from_text"):
        load_protocol("x" * 5000)


def test_protocol_from_text_reads_yaml_and_json() -> None:
    text = BEETROOT.read_text(encoding="utf-8")
    p = nof1.protocol_from_text(text)
    assert p.fingerprint == load_protocol(BEETROOT).fingerprint
    q = nof1.protocol_from_text(p.model_dump_json(), source="inline.json")
    assert q.fingerprint == p.fingerprint
    with pytest.raises(ProtocolError, match="inline: the file has no protocol in it"):
        nof1.protocol_from_text("# nothing\n", source="inline")


# --------------------------------------------------------------------------- item 7: odd files
def test_utf16_protocol_is_read(tmp_path: Path) -> None:
    for encoding in ("utf-16", "utf-16-be", "utf-16-le"):
        path = tmp_path / f"{encoding}.yaml"
        data = BEETROOT.read_text(encoding="utf-8")
        bom = {"utf-16": b"", "utf-16-be": b"\xfe\xff", "utf-16-le": b"\xff\xfe"}[encoding]
        path.write_bytes(bom + data.encode(encoding))
        assert load_protocol(path).fingerprint == load_protocol(BEETROOT).fingerprint


def test_utf16_without_a_bom_says_utf16(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(BEETROOT.read_text(encoding="utf-8").encode("utf-16-le"))
    with pytest.raises(ProtocolError, match="UTF-16.*save it as UTF-8"):
        load_protocol(path)


def test_a_binary_file_is_still_called_binary(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ProtocolError, match="binary file"):
        load_protocol(path)


@pytest.mark.parametrize(("text", "expected"), [
    ("# only a comment\n# and another\n\n", "the file has no protocol in it (only comments or blank lines)"),
    ("---\n", "the file has no protocol in it"),
    ("beetroot\n", "expected a mapping of protocol keys (schema_version: 1, id: ..., title: ...), got the "
                   "single value 'beetroot'"),
    ("- a\n- b\n", "expected a mapping of protocol keys (schema_version: 1, id: ..., title: ...), got a list"),
    ("42\n", "expected a mapping of protocol keys (schema_version: 1, id: ..., title: ...), got the single "
             "value 42"),
])
def test_files_without_a_mapping(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    message = str(info.value)
    assert expected in message and "NoneType" not in message and "got str" not in message


def test_a_huge_protocol_is_refused_before_reading(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "big.yaml"
    with open(path, "wb") as fh:
        fh.truncate(60 * 1024 * 1024)                     # a sparse 60 MB file: instant
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read a 60 MB protocol"))
    with pytest.raises(ProtocolError, match=r"60 MB.*at most 4 MB"):
        load_protocol(path)


# --------------------------------------------------------------------------- the properties
NUMERIC_FIELDS = [
    (("schema_version",), "int"), (("design", "period_days"), "int"), (("design", "run_in_days"), "int"),
    (("design", "washout_days"), "int"), (("design", "randomization", "pairs"), "int"),
    (("design", "randomization", "seed"), "int"), (("outcomes", 0, "mcid"), "float"),
    (("outcomes", 0, "range", 1), "float"), (("outcomes", 1, "measure_days", 0), "int"),
    (("outcomes", 4, "alert", "below"), "float"), (("outcomes", 5, "alert", "consecutive_days"), "int"),
    (("analysis", "ci_level"), "float"), (("analysis", "decision", "benefit_prob"), "float"),
    (("analysis", "washout_sensitivity", 0), "int"), (("analysis", "prior", "effect_mean"), "float"),
    (("analysis", "tau_prior", "median"), "float"),
]


def _path_text(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


@settings(max_examples=80, deadline=None)
@given(field=st.sampled_from(NUMERIC_FIELDS),
       value=st.sampled_from([True, False, "7", "0.5", "", float("inf"), float("-inf"), float("nan")]))
def test_property_numbers_are_numbers(field: tuple, value) -> None:
    """Any count, length or number of the protocol set to a bool, a quoted number or a
    non-finite float is refused with an error naming that field."""
    path, kind = field
    if isinstance(value, float) and kind == "int":
        value = True if math.isnan(value) else value      # ints cannot hold inf/nan; still test a bool
    data = copy.deepcopy(BASE)
    data["analysis"].setdefault("prior", {})["effect_mean"] = 0.0
    data["analysis"].setdefault("tau_prior", {})["median"] = 2.0
    data["analysis"]["washout_sensitivity"] = [0, 2, 4]
    data["outcomes"][4]["alert"]["below"] = 90
    data["outcomes"][5]["alert"]["consecutive_days"] = 2
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(ProtocolError) as info:
        protocol_from_dict(data, source="p.yaml")
    text = str(info.value)
    field_path = _path_text(path)
    parent = _path_text(path[:-1]) if isinstance(path[-1], int) else field_path
    assert f"  - {field_path}:" in text or f"  - {parent}:" in text, text


@settings(max_examples=80, deadline=None)
@given(text=st.one_of(st.text(max_size=300), st.text(min_size=1000, max_size=6000),
                      st.sampled_from([BEETROOT.read_text(encoding="utf-8"), "a\x00b", "~/" * 700,
                                       "/" * 5000, "schema_version: 1\n", "-"])))
def test_property_load_protocol_never_raises_anything_else(text: str) -> None:
    """load_protocol of any str: a Protocol or a ProtocolError, never OSError/ValueError."""
    try:
        p = load_protocol(text)
    except ProtocolError as err:
        assert str(err).strip() and "Errno" not in str(err)
    else:                                  # only an existing file name can load
        assert Path(text).is_file() and p.id
