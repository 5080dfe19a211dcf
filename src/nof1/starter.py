"""A new protocol from a few answers: the outcome catalogue and the builder behind ``nof1 init``.

:data:`COMMON_OUTCOMES` lists outcomes that self-experimenters often log, each with a sensible
range, direction, MCID and — for safety outcomes — an alert threshold and a safety note (taken
from the bundled protocols; see ``protocols/README.md``). :func:`new_protocol` turns the answers
(intervention, control, period length, pairs, outcome names, ...) into a protocol mapping that
:func:`nof1.protocol.protocol_from_dict` accepts; :func:`protocol_yaml` writes it as commented YAML.

Example:
    >>> from nof1.protocol import protocol_from_dict
    >>> data = new_protocol(intervention="Beetroot juice", control="Placebo juice", period_days=14,
    ...                     pairs=4, outcomes=["severity", "systolic_bp"], seed=20270101)
    >>> p = protocol_from_dict(data)
    >>> p.primary.name, p.n_periods, p.design.washout_days
    ('severity', 8, 3)
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Sequence
from typing import Any

from nof1.errors import ProtocolError

__all__ = ["COMMON_OUTCOMES", "check_outcomes", "default_washout", "new_protocol", "outcome_choices", "protocol_yaml", "slug"]

#: Outcomes a new protocol can be built from: name → (protocol entry, safety note or None).
COMMON_OUTCOMES: dict[str, tuple[dict[str, Any], str | None]] = {
    "severity": ({"label": "Worst symptom severity last night (0-10)", "type": "continuous", "range": [0, 10],
                  "better": "lower", "mcid": 1.0, "schedule": "daily"}, None),
    "irls": ({"label": "IRLS total (0-40), past week", "type": "continuous", "range": [0, 40], "better": "lower",
              "mcid": 5.0, "schedule": "weekly"}, None),
    "pain": ({"label": "Worst pain today (0-10)", "type": "continuous", "range": [0, 10], "better": "lower",
              "mcid": 2.0, "schedule": "daily"}, None),
    "fatigue": ({"label": "Fatigue today (0-10)", "type": "continuous", "range": [0, 10], "better": "lower",
                 "mcid": 1.0, "schedule": "daily"}, None),
    "mood": ({"label": "Mood today (0-10)", "type": "continuous", "range": [0, 10], "better": "higher",
              "mcid": 1.0, "schedule": "daily"}, None),
    "sleep_hours": ({"label": "Total sleep time (hours, sleep diary)", "type": "continuous", "range": [0, 14],
                     "better": "higher", "mcid": 0.5, "schedule": "daily"}, None),
    "awakenings": ({"label": "Awakenings in the night (count)", "type": "count", "better": "lower",
                    "mcid": 1.0, "schedule": "daily"}, None),
    "systolic_bp": ({"label": "Systolic blood pressure (mmHg)", "type": "continuous", "range": [60, 220],
                     "better": "higher", "mcid": 10.0, "schedule": "daily", "role": "safety", "unit": "mmHg",
                     "alert": {"below": 90}},
                    "Pause and seek advice if systolic blood pressure is below 90 mmHg or you feel dizzy or faint."),
    "headache": ({"label": "Headache (0-10)", "type": "ordinal", "range": [0, 10], "better": "lower", "mcid": 2.0,
                  "schedule": "daily", "role": "safety", "alert": {"at_least": 7, "consecutive_days": 2}},
                 "Pause and seek advice if a headache is 7/10 or worse on two days in a row."),
    "gi_upset": ({"label": "Stomach upset, bloating or diarrhoea (0-10)", "type": "ordinal", "range": [0, 10],
                  "better": "lower", "mcid": 2.0, "schedule": "daily", "role": "safety",
                  "alert": {"at_least": 7, "consecutive_days": 2}},
                 "Pause and seek advice if stomach upset is 7/10 or worse on two days in a row."),
    "gum_bleeding": ({"label": "Gums bled when brushing today (0 = no, 1 = yes)", "type": "binary",
                      "better": "lower", "schedule": "daily", "role": "safety",
                      "alert": {"at_least": 1, "consecutive_days": 3}},
                     "See your dentist if your gums bleed on three days in a row."),
}

_GENERAL_NOTE = ("Talk to your clinician before changing a treatment, and first if you take medicines "
                 "that the intervention could interact with.")


def outcome_choices() -> list[str]:
    """One line per common outcome: name, question, direction (for the ``nof1 init`` prompt).

    Example:
        >>> outcome_choices()[0]
        'severity: Worst symptom severity last night (0-10); lower is better, MCID 1'
    """
    out = []
    for name, (entry, _) in COMMON_OUTCOMES.items():
        if entry.get("role") == "safety":
            from nof1.protocol import Outcome
            from nof1.safety import risk_words

            how = f"safety: the risk is {risk_words(Outcome(name=name, **entry))}"
        else:
            how = f"{entry['better']} is better" + (f", MCID {entry['mcid']:g}" if entry.get("mcid") else "")
        out.append(f"{name}: {entry['label']}; {how}")
    return out


def slug(text: str) -> str:
    """A protocol id from free text: lower case, words joined by ``-``.

    Example:
        >>> slug("Stopping mouthwash (Listerine) vs. usual routine!")
        'stopping-mouthwash-listerine-vs-usual-routine'
    """
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:60].rstrip("-") or "my-trial"


def default_washout(period_days: int) -> int:
    """Washout suggested for a period length: a quarter of the period, at least 1 day (0 for 1-day periods).

    Example:
        >>> [default_washout(d) for d in (1, 7, 14, 28)]
        [0, 1, 3, 7]
    """
    return 0 if period_days < 2 else max(1, period_days // 4)


def check_outcomes(outcomes: Sequence[str]) -> list[str]:
    """The outcome names, checked: known, none twice, the first one a primary (not a safety check).

    Example:
        >>> check_outcomes(["severity", " sleep_hours"])
        ['severity', 'sleep_hours']
    """
    names = [n.strip() for n in outcomes if n and n.strip()]
    if not names:
        raise ProtocolError("name at least one outcome, e.g. --outcomes severity,sleep_hours")
    unknown = [n for n in names if n not in COMMON_OUTCOMES]
    if unknown:
        hints = []
        for n in unknown:
            close = difflib.get_close_matches(n, list(COMMON_OUTCOMES), n=1, cutoff=0.6)
            hints.append(f"'{n}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise ProtocolError(
            f"unknown outcome {', '.join(hints)}; choose from: {', '.join(COMMON_OUTCOMES)} — "
            "or add your own to the file afterwards (protocols/README.md, 'outcomes')")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ProtocolError(f"outcome {', '.join(dup)} named twice")
    first = COMMON_OUTCOMES[names[0]][0]
    if first.get("role") == "safety" or not first.get("mcid"):
        candidates = [n for n in names if COMMON_OUTCOMES[n][0].get("role") != "safety"
                      and COMMON_OUTCOMES[n][0].get("mcid")]
        hint = (f"; put {candidates[0]} first" if candidates else
                "; add one, e.g. severity, pain or sleep_hours")
        raise ProtocolError(f"the first outcome is the primary one (the question of the trial), and "
                            f"'{names[0]}' is a safety check{hint}")
    return names


def new_protocol(
    *,
    intervention: str,
    control: str,
    period_days: int,
    pairs: int,
    outcomes: Sequence[str],
    washout_days: int | None = None,
    run_in_days: int = 14,
    blinding: str = "none",
    start_date: dt.date | str | None = None,
    seed: int | None = None,
    title: str | None = None,
    protocol_id: str | None = None,
    author: str | None = None,
) -> dict[str, Any]:
    """A protocol mapping for a two-condition randomised-pairs trial (validate it with
    :func:`nof1.protocol.protocol_from_dict`).

    The first outcome is the primary; safety outcomes of the catalogue bring their alert and a
    safety note. ``seed`` defaults to today's date as a number (YYYYMMDD), which the protocol
    README recommends: fixed before the schedule is seen.

    Example:
        >>> d = new_protocol(intervention="No mouthwash", control="Usual mouthwash", period_days=28,
        ...                  pairs=2, outcomes=["severity", "gum_bleeding"], seed=1)
        >>> d["conditions"]["B"]["label"], d["design"]["washout_days"], d["outcomes"][1]["role"]
        ('No mouthwash', 7, 'safety')
    """
    intervention, control = intervention.strip(), control.strip()
    if not intervention or not control:
        raise ProtocolError("name both the intervention (what you try) and the control (what you compare it with)")
    if intervention.lower() == control.lower():
        raise ProtocolError(f"the intervention and the control are both '{intervention}'; they must differ")
    names = check_outcomes(outcomes)
    if seed is None:
        seed = int(dt.date.today().strftime("%Y%m%d"))
    washout = default_washout(period_days) if washout_days is None else washout_days
    title = title or f"{intervention} against {_lower_first(control)}"
    entries = []
    notes = [_GENERAL_NOTE]
    for i, name in enumerate(names):
        entry, note = COMMON_OUTCOMES[name]
        e = {"name": name, **{k: v for k, v in entry.items()}}
        e["role"] = "primary" if i == 0 else entry.get("role", "secondary")
        entries.append(e)
        if note:
            notes.append(note)
    design: dict[str, Any] = {
        "period_days": int(period_days),
        "randomization": {"scheme": "pairs", "pairs": int(pairs), "seed": int(seed)},
        "run_in_days": int(run_in_days),
        "washout_days": int(washout),
        "blinding": blinding,
    }
    if start_date:
        design["start_date"] = start_date if isinstance(start_date, dt.date) else _parse_date(str(start_date))
    data: dict[str, Any] = {
        "schema_version": 1,
        "id": protocol_id or slug(title),
        "title": title,
        "version": "1.0",
        "description": f"Does {_lower_first(intervention)} improve {_lower_first(entries[0]['label'])} "
                       f"compared with {_lower_first(control)}?",
    }
    if author:
        data["author"] = author
    data["conditions"] = {
        "A": {"label": control, "role": "control", "description": f"{control} (say what, how much, when)"},
        "B": {"label": intervention, "role": "treatment",
              "description": f"{intervention} (say what, how much, when)"},
    }
    data["design"] = design
    data["outcomes"] = entries
    data["analysis"] = {"carryover": "model", "ci_level": 0.95}
    data["safety"] = notes
    return data


def _lower_first(text: str) -> str:
    """'Placebo juice' -> 'placebo juice', but 'L-arginine' and 'IRLS total' stay as they are."""
    return text[0].lower() + text[1:] if len(text) > 1 and text[1].islower() else text


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ProtocolError(f"start date '{text}' is not a date in the form YYYY-MM-DD (e.g. 2027-03-01)") from None


def protocol_yaml(data: dict[str, Any], *, written_by: str = "nof1 init") -> str:
    """The protocol as YAML with a short commented header saying what to check before starting.

    Example:
        >>> text = protocol_yaml(new_protocol(intervention="B", control="A", period_days=7, pairs=3,
        ...                                   outcomes=["pain"], seed=1))
        >>> text.splitlines()[0]
        '# Written by nof1 init. Before the trial starts, check and edit:'
    """
    import yaml

    header = (f"# Written by {written_by}. Before the trial starts, check and edit:\n"
              "#  * conditions: say what is taken, how much and when (description);\n"
              "#  * design.start_date (or give --start to `nof1 schedule`); keep the seed as it is —\n"
              "#    it was fixed before anyone saw the schedule;\n"
              "#  * outcomes: labels as you will ask them; mcid = the smallest change that matters to you;\n"
              "#  * safety: notes shown on every schedule and log sheet.\n"
              "# Every key is explained in protocols/README.md. Check it with: nof1 validate FILE\n")
    class _Dumper(yaml.SafeDumper):
        pass

    def flow(value: Any) -> Any:
        # short leaves ([0, 10], {below: 90}) on one line; everything else as blocks
        if isinstance(value, dict):
            if value and len(value) <= 3 and all(
                    not isinstance(v, dict | list) and (not isinstance(v, str) or len(v) <= 12)
                    for v in value.values()):
                return _FlowMap(value)
            return {k: flow(v) for k, v in value.items()}
        if isinstance(value, list):
            if value and all(isinstance(v, int | float) for v in value):
                return _FlowList(value)
            return [flow(v) for v in value]
        return value

    _Dumper.add_representer(_FlowMap, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))
    _Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
    body = yaml.dump(flow(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    return header + body


class _FlowMap(dict):
    """A mapping written on one line."""


class _FlowList(list):
    """A list written on one line."""
