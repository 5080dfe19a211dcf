"""Protocol files: the validated, fingerprinted description of one N-of-1 trial.

A protocol says what is compared (conditions), in what order and for how long (design), what is
measured (outcomes) and how it will be analysed (analysis). It is written before the trial starts,
shared as a YAML (or JSON) file and identified by its :attr:`Protocol.fingerprint`.

Example:
    >>> from nof1 import load_protocol
    >>> p = load_protocol("protocols/beetroot-juice-rls.yaml")      # doctest: +SKIP
    >>> p.fingerprint[:7], p.n_periods, p.total_days                # doctest: +SKIP
    ('sha256:', 8, 126)
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import itertools
import json
import math
import re
import types
import typing
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from nof1.constants import (
    CI_LEVEL,
    DECISION_BENEFIT_PROB,
    DECISION_HARM_PROB_MAX,
    DECISION_NO_EFFECT_PROB,
    DECISION_POSSIBLE_HARM_PROB,
    TAU_PRIOR_MEDIAN,
    TAU_PRIOR_SIGMA,
    WASHOUT_SENSITIVITY_DAYS,
)
from nof1.errors import Problem, ProtocolError
from nof1.plan_keys import EvidencePrior, Monitoring
from nof1.seeds import task_seed

SCHEMA_VERSION = 1
_NAME_RE = r"^[A-Za-z_][A-Za-z0-9_]*$"
_RESERVED_COLUMNS = {
    "date", "day", "phase", "period", "pair", "condition", "condition_taken", "day_in_period",
    "washout", "adherence", "note", "participant", "due", "label", "code", "guess",
}
# Blinded codes are drawn from these, in a seeded order.
_BLIND_CODES = ["X", "Y", "Z", "W", "V", "U", "T", "S"]


def _numeric_kind(annotation: Any) -> tuple[str, bool] | None:
    """("int" | "float", each item?) for a numeric field annotation (through Optional, Annotated,
    Literal of ints, list[...] and tuple[...]), else None."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is int or annotation is float:
        return ("int" if annotation is int else "float", False)
    if origin is Annotated:
        return _numeric_kind(args[0])
    if origin is Literal:
        ok = args and all(isinstance(a, int) and not isinstance(a, bool) for a in args)
        return ("int", False) if ok else None
    if origin in (typing.Union, types.UnionType):
        kinds = [k for a in args if a is not type(None) for k in [_numeric_kind(a)]]
        return kinds[0] if len(kinds) == 1 and kinds[0] is not None else None
    if origin in (list, tuple):
        inner = {_numeric_kind(a) for a in args if a is not Ellipsis}
        if len(inner) == 1 and None not in inner:
            kind = inner.pop()
            return (kind[0], True) if kind is not None and not kind[1] else None
    return None


def _plain_number(value: Any, kind: str) -> None:
    what = "a whole number" if kind == "int" else "a number"
    if isinstance(value, bool):
        raise ValueError(f"expected {what}, got {str(value).lower()}")
    if isinstance(value, str):
        raise ValueError(f"expected {what}, got the text {value!r} (write numbers without quotes)")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _strict_numbers(cls, value: Any, info: Any) -> Any:
        """Counts, lengths and numbers are numbers: YAML's true/false and quoted text are refused
        (pydantic's lax mode would read ``period_days: true`` as 1)."""
        field = cls.model_fields.get(info.field_name) if info.field_name else None
        kind = _numeric_kind(field.annotation) if field is not None else None
        if kind is not None:
            items = value if kind[1] and isinstance(value, list | tuple) else [value] if not kind[1] else []
            for item in items:
                _plain_number(item, kind[0])
        return value


# --------------------------------------------------------------------------- conditions
class Condition(_Model):
    """One arm of the trial (e.g. placebo juice, beetroot juice)."""

    label: str = Field(min_length=1, description="Short human-readable name.")
    role: Literal["control", "treatment"] = Field(description="Exactly one condition is the control.")
    description: str | None = Field(default=None, description="What is taken, how much, when.")
    code: str | None = Field(
        default=None,
        description="Blinded code printed on schedules and log sheets (e.g. 'bottle X'). "
        "Generated from the randomisation seed when the trial is blinded and none is given.",
    )


# --------------------------------------------------------------------------- design
class Randomization(_Model):
    """How the order of periods was (or will be) drawn."""

    scheme: Literal["fixed", "pairs", "blocks", "start_points"] = Field(
        description="fixed: the given sequence; pairs: each pair AB or BA at random; blocks: each "
        "block of all conditions in random order; start_points: phase change days drawn at random "
        "with a minimum phase length (Onghena & Edgington)."
    )
    pairs: int | None = Field(default=None, ge=1, le=64, description="Number of pairs (scheme pairs).")
    blocks: int | None = Field(default=None, ge=1, le=64, description="Number of blocks (scheme blocks).")
    seed: int | None = Field(default=None, ge=0, description="Seed of the draw; same seed, same schedule.")
    min_phase_days: int | None = Field(
        default=None, ge=1, description="Minimum phase length (scheme start_points)."
    )


class Design(_Model):
    """Periods, their order, run-in, washout and blinding."""

    period_days: int | None = Field(default=None, ge=1, le=366, description="Length of each period in days.")
    sequence: list[str] | None = Field(
        default=None,
        description="The allocation actually used, period by period (for start_points: the phase order).",
    )
    randomization: Randomization | None = None
    run_in_days: int = Field(default=0, ge=0, le=366, description="Baseline days before period 1.")
    washout_days: int = Field(
        default=0, ge=0, description="First days of each period treated as washout by 'exclude' analyses."
    )
    start_date: dt.date | None = Field(default=None, description="First day (of the run-in, if any).")
    blinding: Literal["none", "single", "double"] = "none"
    key_holder: str | None = Field(
        default=None, description="Who holds the blinding key (prepares the bottles or capsules)."
    )
    total_days: int | None = Field(
        default=None, ge=2, description="Trial days excluding run-in (scheme start_points)."
    )
    phase_starts: list[int] | None = Field(
        default=None,
        description="Realised start day (1-based trial day) of phases 2..k (scheme start_points).",
    )


# --------------------------------------------------------------------------- outcomes
class Alert(_Model):
    """Safety thresholds checked day by day."""

    below: float | None = Field(default=None, description="Alert when a value is below this.")
    above: float | None = Field(default=None, description="Alert when a value is above this.")
    at_least: float | None = Field(default=None, description="Alert when a value is at least this.")
    consecutive_days: int = Field(
        default=1, ge=1, description="Alert only after this many consecutive days past a threshold."
    )

    @model_validator(mode="after")
    def _one_threshold(self) -> Alert:
        if self.below is None and self.above is None and self.at_least is None:
            raise ValueError("an alert needs at least one threshold: below, above or at_least")
        return self


class Outcome(_Model):
    """One measured outcome (a column of the log)."""

    name: Annotated[str, Field(pattern=_NAME_RE, max_length=64)] = Field(
        description="Column name in the log (letters, digits, underscore)."
    )
    label: str | None = None
    type: Literal["continuous", "ordinal", "count", "binary"] = "continuous"
    range: tuple[float, float] | None = Field(default=None, description="[lowest, highest] possible value.")
    better: Literal["lower", "higher"] | None = Field(
        default=None, description="Direction of improvement (required except for covariates).")
    mcid: float | None = Field(
        default=None, gt=0, description="Minimal clinically important difference, outcome units."
    )
    schedule: Literal["daily", "weekly"] = "daily"
    measure_days: list[int] | None = Field(
        default=None,
        description="Days within each period when a weekly outcome is measured (default 7, 14, ...).",
    )
    role: Literal["primary", "secondary", "safety", "covariate", "manipulation_check"] = Field(
        default="secondary",
        description="covariate: measured to adjust for (analysis.adjust_for), not an outcome; "
        "manipulation_check: did the intervention do what it should biologically (shown first).")
    unit: str | None = None
    alert: Alert | None = None

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v in _RESERVED_COLUMNS:
            raise ValueError(f"'{v}' is a reserved log column; choose another outcome name")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Outcome:
        r = self.range
        if r is not None and not r[0] < r[1]:
            raise ValueError(f"range must be [low, high] with low < high, got {list(r)}")
        if self.type == "ordinal":
            if r is None:
                raise ValueError("an ordinal outcome needs a range, e.g. [0, 10]")
            if not (float(r[0]).is_integer() and float(r[1]).is_integer()):
                raise ValueError("an ordinal outcome's range must be whole numbers")
            if r[1] - r[0] > 100:
                raise ValueError("an ordinal outcome may have at most 101 categories")
        if self.type == "count" and r is not None and (r[0] < 0 or not float(r[0]).is_integer()):
            raise ValueError("a count outcome's range must start at a whole number >= 0")
        if self.type == "binary" and r is not None and tuple(r) != (0.0, 1.0):
            raise ValueError("a binary outcome's range is [0, 1] (leave it out)")
        if self.alert is not None and self.role != "safety":
            raise ValueError("alert thresholds belong to safety outcomes (role: safety)")
        if self.better is None and self.role != "covariate":
            raise ValueError("better (lower or higher) is required for every outcome except covariates")
        if self.alert is not None:
            low = self.alert.below is not None
            high = self.alert.above is not None or self.alert.at_least is not None
            # one-sided alerts say which way is the risk; `better` must name the other, safe way
            if low != high and self.better != ("higher" if low else "lower"):
                rule = f"below: {self.alert.below:g}" if low else (
                    f"above: {self.alert.above:g}" if self.alert.above is not None
                    else f"at_least: {self.alert.at_least:g}")
                safe = "higher" if low else "lower"
                raise ValueError(
                    f"better: {self.better} contradicts alert {{{rule}}}: the alert treats "
                    f"{'low' if low else 'high'} values as the risk, so the safe direction is "
                    f"better: {safe} (for a safety outcome, 'better' names the safe direction)")
        if self.role == "primary" and self.mcid is None:
            raise ValueError("the primary outcome needs an mcid (minimal clinically important difference)")
        if self.measure_days is not None:
            if self.schedule != "weekly":
                raise ValueError("measure_days applies to weekly outcomes only")
            if not self.measure_days or any(d < 1 for d in self.measure_days):
                raise ValueError("measure_days must be a non-empty list of days >= 1")
        return self

    @property
    def value_range(self) -> tuple[float, float] | None:
        """The range, with the natural default for binary and count outcomes."""
        if self.range is not None:
            return (float(self.range[0]), float(self.range[1]))
        if self.type == "binary":
            return (0.0, 1.0)
        if self.type == "count":
            return (0.0, math.inf)
        return None

    @property
    def display(self) -> str:
        return self.label or self.name


# --------------------------------------------------------------------------- analysis
class TauPrior(_Model):
    """Log-normal prior on the carryover time constant (days)."""

    median: float = Field(default=TAU_PRIOR_MEDIAN, gt=0)
    sigma: float = Field(default=TAU_PRIOR_SIGMA, gt=0, description="sd of log(tau)")


class Prior(_Model):
    """Priors of the Bayesian models, scaled to the outcome's range unless given."""

    kind: Literal["weakly_informative", "sceptical"] = Field(
        default="weakly_informative",
        description="weakly_informative: effect ~ Normal(0, range/4); sceptical: Normal(0, mcid) "
        "(centred on no effect, small effects a priori).",
    )
    effect_mean: float = 0.0
    effect_sd: float | None = Field(default=None, gt=0, description="Overrides the effect prior's sd.")
    sigma_scale: float | None = Field(default=None, gt=0, description="Scale of the residual-sd prior.")
    evidence: dict[str, EvidencePrior] = Field(
        default_factory=dict, description="Per outcome: an informative normal prior on the effect "
        "from published evidence (effect_mean, effect_sd, source); used by that outcome's analysis.")


class Decision(_Model):
    """Rules that turn posterior probabilities into a verdict (fixed before unblinding)."""

    benefit_prob: float = Field(default=DECISION_BENEFIT_PROB, gt=0, lt=1)
    harm_prob_max: float = Field(default=DECISION_HARM_PROB_MAX, gt=0, lt=1)
    no_effect_prob: float = Field(default=DECISION_NO_EFFECT_PROB, gt=0, lt=1)
    possible_harm_prob: float = Field(default=DECISION_POSSIBLE_HARM_PROB, gt=0, lt=1)


class Analysis(_Model):
    """The pre-registered analysis plan."""

    carryover: Literal["model", "exclude", "none"] = Field(
        default="model",
        description="model: estimate onset/decay; exclude: drop washout days; none: instant switch.",
    )
    ci_level: float = Field(default=CI_LEVEL, gt=0.5, lt=1)
    trend: Literal["auto"] | bool = Field(default="auto", description="Linear trend term (auto: > 12 weeks).")
    tau_prior: TauPrior = TauPrior()
    prior: Prior = Prior()
    decision: Decision = Decision()
    washout_sensitivity: list[int] = Field(default_factory=lambda: list(WASHOUT_SENSITIVITY_DAYS))
    methods: list[str] | None = Field(default=None, description="Methods to run (default: all that apply).")
    contrasts: list[tuple[str, str]] = Field(
        default_factory=list, description="Extra pairwise contrasts [X, Y] meaning X minus Y."
    )
    adjust_for: list[str] = Field(
        default_factory=list,
        description="Covariates (outcomes with role: covariate) adjusted for in bayes, gls_ar1 and "
        "the discrete models; the unadjusted effect is shown next to the adjusted one.",
    )
    monitoring: Monitoring | None = Field(
        default=None, description="Interim looks and stopping rules (nof1 status, nof1 design --monitoring).")


_LOG_TARGETS = ("condition", "adherence", "note", "guess", "period", "participant")
_AGGREGATES = ("mean", "max", "min", "sum", "first", "last")


class LogFormat(_Model):
    """How the log file is laid out (protocol section ``log:``): an app export in long format
    (one row per entry) or a daily sheet with its own column names."""

    format: Literal["wide", "long"] = Field(
        default="wide", description="wide: one row per day; long: one row per entry (date or time "
        "stamp, variable, value).")
    date_column: str | None = Field(default=None, description="Column with the date or time stamp "
                                    "(long format; default: date, timestamp, datetime or time).")
    variable_column: str = Field(default="variable", description="Column naming the variable (long).")
    value_column: str = Field(default="value", description="Column with the value (long).")
    names: dict[str, str] = Field(
        default_factory=dict,
        description="The file's column (wide) or variable (long) names -> outcome names or log "
        "columns (condition, adherence, note, guess, period, participant).")
    aggregate: dict[str, Literal["mean", "max", "min", "sum", "first", "last"]] = Field(
        default_factory=dict,
        description="How several entries of one day become one value, per outcome (or adherence); "
        "default: mean for continuous outcomes, last otherwise.")
    day_starts: str = Field(default="04:00", pattern=r"^\d{1,2}:\d{2}$",
                            description="Entries time-stamped before this hour count for the previous day.")


# --------------------------------------------------------------------------- protocol
class Protocol(_Model):
    """A validated N-of-1 trial protocol.

    Load one with :func:`load_protocol`; build one in code with ``Protocol.model_validate(dict)``.

    Example:
        >>> p = Protocol.model_validate({
        ...     "schema_version": 1, "id": "demo", "title": "Demo",
        ...     "conditions": {"A": {"label": "Placebo", "role": "control"},
        ...                    "B": {"label": "Juice", "role": "treatment"}},
        ...     "design": {"period_days": 7, "sequence": ["A", "B", "A", "B"]},
        ...     "outcomes": [{"name": "severity", "type": "continuous", "range": [0, 10],
        ...                   "better": "lower", "mcid": 1, "role": "primary"}]})
        >>> p.total_days
        28
    """

    schema_version: Literal[1] = Field(description="Version of the protocol format (1).")
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-_]*$", max_length=80)] = Field(
        description="Slug used in file names."
    )
    title: str = Field(min_length=1)
    version: str = "1.0"
    description: str | None = None
    author: str | None = None
    conditions: dict[str, Condition]
    design: Design
    outcomes: list[Outcome] = Field(min_length=1)
    analysis: Analysis = Analysis()
    log: LogFormat | None = Field(default=None, description="Layout of the log file (app exports).")
    safety: list[str] = Field(
        default_factory=list, description="Safety notes shown on schedules and log sheets."
    )

    # ------------------------------------------------------------------ validation
    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) else v

    @model_validator(mode="after")
    def _rules(self) -> Protocol:
        problems: list[str] = []
        conds = self.conditions
        for key in conds:
            if not re.match(r"^[A-Za-z][A-Za-z0-9_]{0,15}$", key):
                problems.append(f"conditions: key '{key}' must be a short name like A, B or placebo")
        if len(conds) < 2:
            problems.append(f"conditions: at least two are needed, got {len(conds)}")
        controls = [k for k, c in conds.items() if c.role == "control"]
        if len(controls) != 1:
            problems.append(
                f"conditions: exactly one must have role: control, got {len(controls)}"
                + (f" ({', '.join(controls)})" if controls else "")
            )
        codes = [c.code for c in conds.values() if c.code is not None]
        if len(codes) != len(set(codes)):
            problems.append("conditions: blinded codes must differ")
        names = [o.name for o in self.outcomes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"outcomes: duplicate outcome names {dupes}")
        n_primary = sum(o.role == "primary" for o in self.outcomes)
        if n_primary != 1:
            problems.append(f"outcomes: exactly one outcome must have role: primary, got {n_primary}")
        for x, y in self.analysis.contrasts:
            for c in (x, y):
                if c not in conds:
                    problems.append(f"analysis.contrasts: '{c}' is not a declared condition")
        for name in self.analysis.prior.evidence:
            match = [o for o in self.outcomes if o.name == name]
            if not match:
                problems.append(f"analysis.prior.evidence: '{name}' is not an outcome of this protocol")
            elif match[0].type != "continuous":
                problems.append(f"analysis.prior.evidence: '{name}' is {match[0].type}; evidence priors "
                                "are for continuous outcomes (effect in outcome units)")
        problems.extend(self._design_problems())
        problems.extend(self._covariate_log_problems())
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _covariate_log_problems(self) -> list[str]:
        out: list[str] = []
        by_name = {o.name: o for o in self.outcomes}
        for name in self.analysis.adjust_for:
            o = by_name.get(name)
            if o is None or o.role != "covariate":
                out.append(f"analysis.adjust_for: '{name}' is not an outcome with role: covariate")
            elif o.schedule != "daily":
                out.append(f"analysis.adjust_for: '{name}' is weekly; only daily covariates can be "
                           "adjusted for")
        if self.log is not None:
            targets = set(by_name) | set(_LOG_TARGETS)
            for src, dst in self.log.names.items():
                if dst not in targets:
                    out.append(f"log.names: '{src}' maps to '{dst}', which is neither an outcome nor "
                               f"a log column ({', '.join(_LOG_TARGETS)})")
            for name, how in self.log.aggregate.items():
                if name == "adherence":
                    continue
                o = by_name.get(name)
                if o is None:
                    out.append(f"log.aggregate: '{name}' is not an outcome (or adherence)")
                elif how == "mean" and o.type != "continuous":
                    out.append(f"log.aggregate: '{name}' is {o.type}: 'mean' would give values that "
                               "are not whole numbers; use max, min, sum, first or last")
            h, m = (int(x) for x in self.log.day_starts.split(":"))
            if h > 23 or m > 59:
                out.append(f"log.day_starts: '{self.log.day_starts}' is not a time of day (HH:MM)")
        return out

    def _design_problems(self) -> list[str]:
        d, r, conds = self.design, self.design.randomization, self.conditions
        out: list[str] = []
        scheme = r.scheme if r is not None else "fixed"
        if d.sequence is not None:
            bad = [s for s in d.sequence if s not in conds]
            if bad:
                # a condition key spelt with the wrong case, or a label used for a key
                hints = [f"'{b}' → '{k}'" for b in sorted(set(bad)) for k, c in conds.items()
                         if b.lower() in (k.lower(), c.label.lower())]
                out.append(
                    f"design.sequence: {sorted(set(bad))} not declared conditions "
                    f"(declared: {', '.join(conds)}; keys are case-sensitive)"
                    + (f"; did you mean {', '.join(hints)}?" if hints else "")
                )
                return out
            if len(d.sequence) == 0:
                out.append("design.sequence: must list at least one period")
                return out
        if scheme != "start_points":
            if d.period_days is None:
                out.append("design.period_days: required (days per period)")
                return out
            if d.washout_days >= d.period_days:
                out.append(
                    f"design.washout_days: must be less than period_days (got {d.washout_days} washout "
                    f"days in {d.period_days}-day periods)"
                )
            if d.total_days is not None or d.phase_starts is not None:
                out.append("design.total_days: total_days and phase_starts apply to scheme start_points only")
        if scheme == "fixed":
            if d.sequence is None:
                out.append("design.sequence: required when there is no randomization scheme")
        elif scheme == "pairs":
            if len(conds) != 2:
                out.append("design.randomization.scheme: pairs needs exactly two conditions (use blocks)")
            if r.pairs is None:
                if d.sequence is None:
                    out.append("design.randomization.pairs: required (number of pairs)")
            elif d.sequence is not None and len(d.sequence) != 2 * r.pairs:
                out.append(
                    f"design.sequence: has {len(d.sequence)} periods but {r.pairs} pairs need {2 * r.pairs}"
                )
        elif scheme == "blocks":
            k = len(conds)
            if r.blocks is None:
                if d.sequence is None:
                    out.append("design.randomization.blocks: required (number of blocks)")
            elif d.sequence is not None and len(d.sequence) != k * r.blocks:
                out.append(
                    f"design.sequence: has {len(d.sequence)} periods but {r.blocks} blocks of {k} need "
                    f"{k * r.blocks}"
                )
        elif scheme == "start_points":
            if d.sequence is None:
                out.append("design.sequence: required for start_points (the phase order, e.g. [A, B, A, B])")
            if r.min_phase_days is None:
                out.append("design.randomization.min_phase_days: required for start_points")
            n_total = d.total_days or (
                (d.period_days or 0) * len(d.sequence) if d.sequence else 0
            )
            if n_total <= 0:
                out.append("design.total_days: required for start_points (trial days)")
            elif d.sequence is not None and r.min_phase_days is not None:
                if r.min_phase_days * len(d.sequence) > n_total:
                    out.append(
                        f"design: {len(d.sequence)} phases of at least {r.min_phase_days} days do not fit "
                        f"in {n_total} days"
                    )
                if d.washout_days >= r.min_phase_days:
                    out.append("design.washout_days: must be less than min_phase_days")
            if (d.phase_starts is not None and d.sequence is not None
                    and len(d.phase_starts) != len(d.sequence) - 1):
                    out.append(
                        f"design.phase_starts: {len(d.sequence) - 1} start days expected (phases 2..k)"
                    )
        if r is not None and scheme != "fixed" and r.seed is None and d.sequence is None:
            out.append("design.randomization.seed: required to draw the sequence (or give the sequence)")
        if (scheme in ("pairs", "blocks") and d.sequence is not None and not out
                and tuple(d.sequence) not in set(self._iter_period_allocations())):
                out.append(
                    f"design.sequence: {d.sequence} is not one the '{scheme}' scheme could have produced"
                )
        if scheme == "start_points" and d.phase_starts is not None and not out:
            ok = self._admissible_starts(tuple(d.phase_starts))
            if not ok:
                out.append(
                    f"design.phase_starts: {d.phase_starts} is not admissible (increasing, every phase "
                    f"at least {r.min_phase_days} days)"
                )
        return out

    # ------------------------------------------------------------------ identity
    def canonical_json(self) -> str:
        """Canonical serialisation (sorted keys, no whitespace, defaults left out)."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @cached_property
    def fingerprint(self) -> str:
        """``sha256:<hex>`` of the canonical serialisation.

        Unchanged by comments, key order, whitespace and YAML/JSON form; changed by any value.
        """
        return "sha256:" + hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def to_yaml(self) -> str:
        """The protocol as YAML (defaults left out); loads back to an equal protocol."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        data = {"schema_version": SCHEMA_VERSION, **data}
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    # ------------------------------------------------------------------ convenience
    @property
    def control(self) -> str:
        """Key of the control condition."""
        return next(k for k, c in self.conditions.items() if c.role == "control")

    @property
    def treatments(self) -> list[str]:
        """Keys of the non-control conditions, in declared order."""
        return [k for k, c in self.conditions.items() if c.role != "control"]

    @property
    def primary(self) -> Outcome:
        return next(o for o in self.outcomes if o.role == "primary")

    def outcome(self, name: str) -> Outcome:
        for o in self.outcomes:
            if o.name == name:
                return o
        raise KeyError(f"no outcome named '{name}' (outcomes: {', '.join(o.name for o in self.outcomes)})")

    @property
    def ordered_outcomes(self) -> list[Outcome]:
        """Manipulation checks first, then primary, secondary, safety outcomes and covariates
        (declared order within each)."""
        rank = {"manipulation_check": -1, "primary": 0, "secondary": 1, "safety": 2, "covariate": 3}
        return sorted(self.outcomes, key=lambda o: rank[o.role])

    @property
    def scheme(self) -> str:
        r = self.design.randomization
        return r.scheme if r is not None else "fixed"

    @property
    def is_randomized(self) -> bool:
        return self.scheme != "fixed"

    @property
    def is_blinded(self) -> bool:
        return self.design.blinding != "none"

    @cached_property
    def blinded_codes(self) -> dict[str, str]:
        """Condition key → code printed on schedules (the key itself when not blinded)."""
        if not self.is_blinded:
            return {k: (c.code or k) for k, c in self.conditions.items()}
        seed = (self.design.randomization.seed if self.design.randomization else None) or 0
        free = [c for c in _BLIND_CODES if c not in {x.code for x in self.conditions.values()}]
        order = sorted(free[: max(len(self.conditions), 1) + 2], key=lambda c: task_seed(seed, "code", c, bits=64))
        out, i = {}, 0
        for k, c in self.conditions.items():
            if c.code is not None:
                out[k] = c.code
            else:
                out[k] = order[i] if i < len(order) else f"K{i}"
                i += 1
        return out

    # ------------------------------------------------------------------ allocations
    def _iter_period_allocations(self) -> Iterator[tuple[str, ...]]:
        keys = list(self.conditions)
        r, d = self.design.randomization, self.design
        if self.scheme == "pairs":
            k = r.pairs if r.pairs is not None else len(d.sequence) // 2
            orders = [tuple(keys), tuple(reversed(keys))]
            for combo in itertools.product(orders, repeat=k):
                yield tuple(itertools.chain.from_iterable(combo))
        elif self.scheme == "blocks":
            b = r.blocks if r.blocks is not None else len(d.sequence) // len(keys)
            perms = list(itertools.permutations(keys))
            for combo in itertools.product(perms, repeat=b):
                yield tuple(itertools.chain.from_iterable(combo))
        else:
            yield tuple(d.sequence)

    def _iter_start_allocations(self) -> Iterator[tuple[int, ...]]:
        n_total, k, m = self.trial_days, len(self.design.sequence), self.design.randomization.min_phase_days
        # phase j (0-based) starts at s_j; s_0 = 1; lengths >= m; last phase ends at n_total
        def rec(prefix: tuple[int, ...], last_start: int, remaining: int) -> Iterator[tuple[int, ...]]:
            if remaining == 0:
                if n_total - last_start + 1 >= m:
                    yield prefix
                return
            lo = last_start + m
            hi = n_total - m * remaining + 1
            for s in range(lo, hi + 1):
                yield from rec(prefix + (s,), s, remaining - 1)

        yield from rec((), 1, k - 1)

    def _admissible_starts(self, starts: tuple[int, ...]) -> bool:
        """Whether phase start days (phases 2..k) are increasing with every phase >= min_phase_days."""
        m = self.design.randomization.min_phase_days
        bounds = (1, *starts, self.trial_days + 1)
        return len(starts) == len(self.design.sequence) - 1 and all(
            bounds[i + 1] - bounds[i] >= m for i in range(len(bounds) - 1)
        )

    def _n_start_completions(self, start: int, remaining: int) -> int:
        """Ways to place ``remaining`` further phases after a phase starting on ``start``."""
        m = self.design.randomization.min_phase_days
        free = self.trial_days - start + 1 - (remaining + 1) * m
        return math.comb(free + remaining, remaining) if free >= 0 else 0

    def _start_allocation_at(self, index: int) -> tuple[int, ...]:
        """The ``index``-th start_points allocation in the order of :meth:`allocations` (no enumeration)."""
        m = self.design.randomization.min_phase_days
        k = len(self.design.sequence)
        out: list[int] = []
        last = 1
        for remaining in range(k - 1, 0, -1):
            s = last + m
            while True:
                count = self._n_start_completions(s, remaining - 1)
                if index < count:
                    break
                index -= count
                s += 1
            out.append(s)
            last = s
        return tuple(out)

    @property
    def n_allocations(self) -> int:
        """How many allocations the randomisation scheme could have produced."""
        k = len(self.conditions)
        r = self.design.randomization
        if self.scheme == "pairs":
            return 2 ** (r.pairs if r.pairs is not None else len(self.design.sequence) // 2)
        if self.scheme == "blocks":
            return math.factorial(k) ** (r.blocks if r.blocks is not None else len(self.design.sequence) // k)
        if self.scheme == "start_points":
            n_phases = len(self.design.sequence)
            free = self.trial_days - n_phases * r.min_phase_days
            return math.comb(free + n_phases - 1, n_phases - 1)
        return 1

    def allocations(self) -> list[tuple]:
        """Every allocation the scheme could have produced.

        For period schemes each allocation is the tuple of conditions period by period (``pairs``
        with k pairs gives 2**k); for ``start_points`` it is the tuple of start days of phases 2..k.
        A fixed sequence has one allocation (itself).

        Example:
            >>> len(p.allocations())   # 4 pairs   # doctest: +SKIP
            16
        """
        if self.scheme == "start_points":
            return list(self._iter_start_allocations())
        return list(self._iter_period_allocations())

    def sample_allocations(self, n: int, seed: int) -> list[tuple]:
        """``n`` allocations drawn uniformly at random (with replacement), reproducibly."""
        import numpy as np

        rng = np.random.default_rng(seed)
        keys = list(self.conditions)
        out: list[tuple] = []
        if self.scheme == "pairs":
            k = self.n_periods // 2
            flips = rng.integers(0, 2, size=(n, k))
            for row in flips:
                out.append(tuple(itertools.chain.from_iterable(
                    (keys[0], keys[1]) if f == 0 else (keys[1], keys[0]) for f in row)))
        elif self.scheme == "blocks":
            b = self.n_periods // len(keys)
            for _ in range(n):
                out.append(tuple(itertools.chain.from_iterable(
                    tuple(rng.permutation(keys)) for _ in range(b))))
        elif self.scheme == "start_points":
            # uniform over admissible start tuples without enumerating them (stars and bars)
            k, m = len(self.design.sequence), self.design.randomization.min_phase_days
            free = self.trial_days - k * m
            if k == 1:
                out = [()] * n
            else:
                bars = np.sort(rng.random((n, free + k - 1)).argsort(axis=1)[:, : k - 1], axis=1)
                extra = np.diff(np.concatenate([np.full((n, 1), -1), bars], axis=1), axis=1) - 1
                starts = 1 + np.cumsum(m + extra, axis=1)
                out = [tuple(int(s) for s in row) for row in starts]
        else:
            out = [tuple(self.design.sequence)] * n
        return [tuple(str(x) if not isinstance(x, int | np.integer) else int(x) for x in a) for a in out]

    @cached_property
    def realised_allocation(self) -> tuple:
        """The allocation used: the given sequence/phase starts, or the seeded draw."""
        d, r = self.design, self.design.randomization
        if self.scheme == "start_points":
            if d.phase_starts is not None:
                return tuple(d.phase_starts)
            return self._start_allocation_at(task_seed(r.seed, "start_points", bits=64) % self.n_allocations)
        if d.sequence is not None:
            return tuple(d.sequence)
        keys = list(self.conditions)
        if self.scheme == "pairs":
            seq: list[str] = []
            for i in range(r.pairs):
                flip = task_seed(r.seed, "pair", i, bits=64) % 2
                seq.extend(keys if flip == 0 else list(reversed(keys)))
            return tuple(seq)
        # blocks
        perms = list(itertools.permutations(keys))
        seq = []
        for i in range(r.blocks):
            seq.extend(perms[task_seed(r.seed, "block", i, bits=64) % len(perms)])
        return tuple(seq)

    def periods_for(self, allocation: Sequence | None = None) -> list[tuple[str, int]]:
        """(condition, length in days) of each period under an allocation (default: the realised one)."""
        a = self.realised_allocation if allocation is None else tuple(allocation)
        if self.scheme == "start_points":
            starts = (1, *a, self.trial_days + 1)
            return [(c, starts[i + 1] - starts[i]) for i, c in enumerate(self.design.sequence)]
        return [(c, int(self.design.period_days)) for c in a]

    def allocation_days(self, allocation: Sequence | None = None) -> list[str]:
        """Condition of each trial day (run-in excluded) under an allocation."""
        out: list[str] = []
        for c, n in self.periods_for(allocation):
            out.extend([c] * n)
        return out

    @property
    def sequence(self) -> tuple[str, ...]:
        """Condition of each period, in order (the realised allocation)."""
        return tuple(c for c, _ in self.periods_for())

    @property
    def n_periods(self) -> int:
        d, r = self.design, self.design.randomization
        if d.sequence is not None:
            return len(d.sequence)
        if self.scheme == "pairs":
            return 2 * r.pairs
        return len(self.conditions) * r.blocks

    @property
    def trial_days(self) -> int:
        """Days of the trial proper (run-in excluded)."""
        d = self.design
        if self.scheme == "start_points":
            return d.total_days or int(d.period_days) * len(d.sequence)
        return int(d.period_days) * self.n_periods

    @property
    def total_days(self) -> int:
        """Run-in plus trial days."""
        return self.design.run_in_days + self.trial_days

    def measure_days(self, outcome: Outcome, period_length: int) -> list[int]:
        """Days within a period (1-based) on which ``outcome`` is measured."""
        if outcome.schedule == "daily":
            return list(range(1, period_length + 1))
        if outcome.measure_days is not None:
            return [d for d in outcome.measure_days if d <= period_length]
        days = list(range(7, period_length + 1, 7))
        return days or [period_length]

    # ------------------------------------------------------------------ schedule
    def schedule(self, start: dt.date | str | None = None):
        """Day-by-day schedule as a DataFrame.

        Columns: ``date`` (NaT when no start is known), ``day`` (1-based, run-in included),
        ``phase`` (``run_in``/``trial``), ``period`` (0 for the run-in), ``pair`` (pair or block
        number, 0 for the run-in, missing when the periods do not form complete pairs),
        ``condition`` (key; missing in the run-in), ``label``, ``code`` (blinded code),
        ``day_in_period`` and ``washout`` (first ``washout_days`` of each period).

        Example:
            >>> p.schedule(start="2026-12-01").head()     # doctest: +SKIP
        """
        from nof1.schedule import build_schedule

        return build_schedule(self, start=start)

    def start_date(self, start: dt.date | str | None = None) -> dt.date | None:
        if start is None:
            return self.design.start_date
        if isinstance(start, dt.datetime):
            return start.date()
        if isinstance(start, dt.date):
            return start
        try:
            return dt.date.fromisoformat(str(start))
        except ValueError as err:
            raise ProtocolError(f"start date '{start}' is not an ISO date (YYYY-MM-DD)") from err

    def summary_lines(self) -> list[str]:
        """A few lines describing the protocol (used by ``nof1 validate``)."""
        conds = ", ".join(
            f"{k} = {c.label} ({c.role})" for k, c in self.conditions.items()
        )
        seq = "".join(self.sequence) if all(len(k) == 1 for k in self.conditions) else " ".join(self.sequence)
        lines = [
            f"{self.title} (id {self.id}, version {self.version})",
            f"conditions: {conds}",
            f"design: {self.scheme}, {self.n_periods} periods"
            + (f" of {self.design.period_days} days" if self.scheme != "start_points" else "")
            + f", sequence {seq}, run-in {self.design.run_in_days} days, washout {self.design.washout_days} days, "
            f"blinding {self.design.blinding}",
            f"total days: {self.total_days} ({self.trial_days} trial days); allocations: {self.n_allocations}",
            "outcomes: " + ", ".join(f"{o.name} ({o.role}, {o.type}, {o.schedule})" for o in self.ordered_outcomes),
        ]
        return lines


# --------------------------------------------------------------------------- loading
class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML loader that refuses duplicate keys (which plain YAML silently overwrites)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None,
                f"duplicate key '{key}' (first at line {seen[key] + 1})", key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _parse_text(text: str, source: str, suffix: str) -> Any:
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise ProtocolError(
                f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}", source=source
            ) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.constructor.ConstructorError as err:
        mark = err.problem_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = err.problem or str(err)
        if "could not determine a constructor" in problem or "tag" in problem:
            problem = (
                f"{problem.split(' for the tag')[0]} — tags such as !!python/object are not allowed: "
                "a protocol is plain data and can never run code"
            )
        raise ProtocolError(f"invalid YAML{where}: {problem}", source=source) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ProtocolError(f"malformed YAML{where}: {problem}", source=source) from None


#: Largest protocol file read (a protocol is a page of text; a 60 MB file took 15 s to refuse).
MAX_PROTOCOL_BYTES = 4 * 1024 * 1024


def _looks_like_text(path: str) -> bool:
    """Whether a str given as a file name is rather a protocol's text."""
    if "\n" in path or path.lstrip().startswith(("{", "schema_version:", "---")):
        return True
    try:
        return len(path) > 1024 and not Path(path).exists()
    except (OSError, ValueError):
        return True


def _decode_utf16(raw: bytes, source: str) -> str | None:
    """UTF-16 text with a byte-order mark, decoded; None when ``raw`` is not UTF-16."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise ProtocolError("starts like UTF-16 text but cannot be decoded; save the protocol as "
                                "UTF-8 YAML or JSON", source=source) from None
    head = raw[:4096]
    even, odd = head[0::2], head[1::2]
    half = len(head) / 2

    def mostly_zero(b: bytes) -> bool:
        return b.count(0) > 0.6 * half

    def mostly_text(b: bytes) -> bool:
        return sum(32 <= c < 127 or c in (9, 10, 13) for c in b) > 0.9 * half

    if len(head) >= 8 and ((mostly_zero(odd) and mostly_text(even)) or (mostly_zero(even) and mostly_text(odd))):
        raise ProtocolError("looks like UTF-16 text without a byte-order mark; save it as UTF-8 (in most "
                            "editors: Save as... > Encoding: UTF-8)", source=source)
    return None


def _read_text(path: Path) -> str:
    source = str(path)
    try:
        if not path.exists():
            raise ProtocolError("no such file", source=source)
        if path.is_dir():
            raise ProtocolError("is a directory, expected a protocol file (.yaml, .yml or .json)",
                                source=source)
        size = path.stat().st_size
        if size > MAX_PROTOCOL_BYTES:
            raise ProtocolError(
                f"is {size / 1024 / 1024:.0f} MB; a protocol is a small text file (at most "
                f"{MAX_PROTOCOL_BYTES // (1024 * 1024)} MB): is this the right file?", source=source)
        raw = path.read_bytes()
    except OSError as err:
        raise ProtocolError(f"cannot be read ({err.strerror or err})", source=source) from None
    if not raw.strip():
        raise ProtocolError("the file is empty; expected a protocol (see protocols/README.md)", source=source)
    text = _decode_utf16(raw, source)
    if text is not None:
        return text
    if b"\x00" in raw[:8192]:
        raise ProtocolError("is a binary file, expected a YAML or JSON text protocol", source=source)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProtocolError(
            "is not UTF-8 text; save the protocol as UTF-8 YAML or JSON", source=source
        ) from None


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate a protocol file (YAML or JSON).

    Raises :class:`~nof1.errors.ProtocolError` listing every problem found, each with its field path.
    ``path`` is a file name; to read a protocol from a string use :func:`protocol_from_text`
    (given such a string, this raises ProtocolError saying so). Files over
    :data:`MAX_PROTOCOL_BYTES` are refused unread; UTF-16 with a byte-order mark is decoded.

    Example:
        >>> p = load_protocol("protocols/beetroot-juice-rls.yaml")   # doctest: +SKIP
        >>> p.primary.name                                            # doctest: +SKIP
        'severity'
    """
    if isinstance(path, str) and _looks_like_text(path):
        raise ProtocolError(
            "load_protocol takes a file name, and this looks like the text of a protocol, not a file "
            "name; use nof1.protocol_from_text(text) to read a protocol from a string")
    path = Path(path)
    text = _read_text(path)
    data = _parse_text(text, str(path), path.suffix.lower())
    return protocol_from_dict(data, source=str(path))


def protocol_from_text(text: str, *, source: str | None = None) -> Protocol:
    """Read and validate a protocol given as YAML or JSON text (not a file name).

    JSON is YAML, so either form is accepted; errors name ``source`` (default ``<text>``).

    Example:
        >>> p = protocol_from_text(Path("protocols/beetroot-juice-rls.yaml").read_text())   # doctest: +SKIP
        >>> p.id                                                                           # doctest: +SKIP
        'beetroot-juice-rls'
    """
    name = source or "<text>"
    if not isinstance(text, str):
        raise ProtocolError(f"expected the protocol's text as a str, got {type(text).__name__}", source=name)
    if len(text.encode("utf-8")) > MAX_PROTOCOL_BYTES:
        raise ProtocolError(f"the text is larger than {MAX_PROTOCOL_BYTES // (1024 * 1024)} MB; a protocol "
                            "is a small text file", source=name)
    suffix = ".json" if text.lstrip().startswith(("{", "[")) else ".yaml"
    return protocol_from_dict(_parse_text(text.lstrip("\ufeff"), name, suffix), source=name)


_MAPPING_EXPECTED = "expected a mapping of protocol keys (schema_version: 1, id: ..., title: ...)"


def protocol_from_dict(data: Any, *, source: str | None = None) -> Protocol:
    """Validate an already parsed protocol mapping."""
    if data is None:
        raise ProtocolError("the file has no protocol in it (only comments or blank lines); a protocol is "
                            "a mapping of keys (schema_version: 1, id: ..., title: ...)", source=source)
    if not isinstance(data, dict):
        if isinstance(data, list):
            got = "a list"
        elif isinstance(data, str | int | float | bool | dt.date):
            shown = data if not isinstance(data, str) or len(data) <= 40 else data[:37] + "..."
            got = f"the single value {shown!r}"
        else:
            got = type(data).__name__
        raise ProtocolError(f"{_MAPPING_EXPECTED}, got {got}", source=source)
    try:
        return Protocol.model_validate(data)
    except ValidationError as err:
        raise ProtocolError(
            "invalid protocol", source=source, problems=_name_outcomes(_problems_from_validation(err), data)
        ) from None


def _name_outcomes(problems: list[Problem], data: dict[str, Any]) -> list[Problem]:
    """Say which outcome ``outcomes[2]...`` is: ``(outcome 'saliva_nitrite')`` after the message
    (the field path itself stays as it is)."""
    outcomes = data.get("outcomes")
    if not isinstance(outcomes, list):
        return problems
    out = []
    for pr in problems:
        m = re.match(r"^outcomes\[(\d+)\]", pr.location)
        i = int(m.group(1)) if m else -1
        if m and i < len(outcomes) and isinstance(outcomes[i], dict) and isinstance(outcomes[i].get("name"), str):
            pr = Problem(pr.location, f"{pr.message} (outcome '{outcomes[i]['name']}')")
        out.append(pr)
    return out


def _problems_from_validation(err: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        path = _loc_to_path(loc)
        etype = e["type"]
        if etype == "extra_forbidden":
            key = str(loc[-1])
            fields = _fields_at(loc[:-1])
            hint = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
            msg = f"unknown key '{key}'"
            msg += f"; did you mean '{hint[0]}'?" if hint else (
                f"; expected one of: {', '.join(sorted(fields))}" if fields else "")
            problems.append(Problem(path, msg))
            continue
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if etype == "missing":
            msg = "required key is missing"
        elif etype == "literal_error":
            inp = e.get("input")
            msg = f"got {inp!r}; {msg[0].lower() + msg[1:]}"
        elif etype == "finite_number":
            msg = f"must be a finite number (got {e.get('input')!r})"
            if "range" in loc:
                msg += "; for an outcome with no upper (or lower) limit, leave the range out"
        elif "input" in e and etype not in ("value_error", "assertion_error") and not isinstance(e["input"], dict):
            msg = f"{msg} (got {e['input']!r})"
        if etype == "value_error" and not loc:
            for part in msg.split("\n"):
                field, _, rest = part.partition(": ")
                if rest and re.match(r"^[A-Za-z_.\[\]0-9]+$", field):
                    problems.append(Problem(field, rest))
                else:
                    problems.append(Problem("protocol", part))
            continue
        problems.append(Problem(path or "protocol", msg))
    return problems


def _loc_to_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _unwrap_models(annotation: Any) -> list[type[BaseModel]]:
    """BaseModel classes reachable in a type annotation (through Optional, list, dict)."""
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap_models(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, dict, tuple):
        for arg in typing.get_args(annotation):
            found.extend(_unwrap_models(arg))
    return found


def _fields_at(loc: tuple) -> list[str]:
    model: type[BaseModel] = Protocol
    for part in loc:
        if isinstance(part, str) and part in model.model_fields:
            models = _unwrap_models(model.model_fields[part].annotation)
            if not models:
                return []
            model = models[0]
        # list indices and dict keys (condition names) keep the current element model
    return list(model.model_fields)


def protocol_json_schema() -> dict[str, Any]:
    """JSON Schema of the protocol format (for editors that autocomplete YAML)."""
    schema = Protocol.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "nof1 protocol"
    return schema
