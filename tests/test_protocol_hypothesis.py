"""Random mutations of a valid protocol: loading either succeeds or raises ProtocolError."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nof1 import Protocol, ProtocolError, load_protocol
from nof1.protocol import protocol_from_dict

ROOT = Path(__file__).resolve().parents[1]
VALID = yaml.safe_load((ROOT / "protocols" / "beetroot-juice-rls.yaml").read_text())

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
    st.text(max_size=12), st.sampled_from(["A", "B", "C", "pairs", "fixed", "blocks", "start_points",
                                           "daily", "weekly", "ordinal", "count", "control"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=8)


def paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from paths(v, (*prefix, i))


ALL_PATHS = [p for p in paths(VALID) if p]


@st.composite
def mutations(draw):
    data = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                parent[path[-1]] = draw(values)
            elif action == "delete" and isinstance(parent, dict | list):
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=10))] = draw(values)
        except (KeyError, IndexError, TypeError):
            continue
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_mutated_protocol_loads_or_raises_protocol_error(data) -> None:
    try:
        p = protocol_from_dict(data)
    except ProtocolError as err:
        assert err.problems or err.message
        for line in err.lines():
            assert "Traceback" not in line
        return
    assert isinstance(p, Protocol)
    # a protocol that validates must also produce its schedule and allocations
    p.schedule(start="2026-01-01")
    assert p.n_allocations >= 1


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_yaml_text_loads_or_raises_protocol_error(tmp_path_factory, data) -> None:
    text = (ROOT / "protocols" / "beetroot-juice-rls.yaml").read_text()
    pos = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 30))
    insert = data.draw(st.text(alphabet=st.sampled_from(list(":-[]{}!&*#|>'\"\n\t x1")), max_size=10))
    mutated = text[:pos] + insert + text[pos + cut:]
    path = tmp_path_factory.mktemp("mut") / "p.yaml"
    path.write_text(mutated)
    with contextlib.suppress(ProtocolError):
        load_protocol(path)
    # JSON form too
    jpath = path.with_suffix(".json")
    jpath.write_text(json.dumps(VALID, default=str)[: pos % 500])
    with contextlib.suppress(ProtocolError):
        load_protocol(jpath)
