"""The analysis interface shared by every method (classical and Bayesian).

A *method* is a function ``fit(trial_data, outcome, contrast, *, options) -> MethodResult``
registered under a name. :func:`nof1.analyze` runs every applicable method on every outcome and
every treatment-vs-control contrast and returns an :class:`AnalysisResult`.

Example:
    >>> from nof1.analysis.base import MethodResult
    >>> r = MethodResult(method="welch_naive", outcome="severity", contrast=("B", "A"),
    ...                  estimate=-1.0, ci_low=-1.7, ci_high=-0.3, ci_level=0.95, p_value=0.01)
    >>> r.to_dict()["estimate"]
    -1.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from nof1.errors import AnalysisError
from nof1.jsonsafe import json_safe

if TYPE_CHECKING:
    from nof1.protocol import Protocol

Contrast = tuple[str, str]  # (treatment key, control key): effect = treatment minus control


def contrasts_for(protocol: Protocol) -> list[Contrast]:
    """Each treatment against control, then any pairwise contrasts the protocol requests."""
    out: list[Contrast] = [(t, protocol.control) for t in protocol.treatments]
    for x, y in protocol.analysis.contrasts:
        if (x, y) not in out:
            out.append((x, y))
    return out


@dataclass(frozen=True)
class MethodResult:
    """The result of one method on one outcome for one contrast.

    ``estimate``, ``ci_low`` and ``ci_high`` are effects on the sign convention (treatment minus
    control) on the scale ``extras['scale']`` names, one of the closed set
    :data:`nof1.analysis.effect.SCALES` (any other word is refused; every registered method sets
    one — see :mod:`nof1.analysis.effect`). :attr:`effect` is that effect with its scale,
    :meth:`outcome_effect` its conversion to the outcome's own scale. A method that cannot run has
    ``available=False`` and a ``reason``, and no numbers.
    """

    method: str
    outcome: str
    contrast: Contrast
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float | None = None
    p_value: float | None = None
    available: bool = True
    reason: str | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: Non-serialised payload (e.g. a posterior DataTree or a fitted model); never in to_dict().
    fit: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extras", MappingProxyType(dict(self.extras)))
        if "scale" in self.extras:
            from nof1.analysis.effect import get_scale

            try:
                get_scale(self.extras["scale"])
            except ValueError as err:
                raise ValueError(f"{self.method}: {err}") from None
        if self.available:
            for name in ("estimate", "ci_low", "ci_high", "p_value"):
                v = getattr(self, name)
                if v is not None and not math.isfinite(float(v)):
                    raise ValueError(f"{self.method}: {name} is {v}; return available=False with a reason")

    @classmethod
    def unavailable(cls, method: str, outcome: str, contrast: Contrast, reason: str, **extras: Any) -> MethodResult:
        """A result saying why the method could not run."""
        return cls(method=method, outcome=outcome, contrast=contrast, available=False, reason=reason,
                   extras=extras)

    @property
    def contrast_label(self) -> str:
        return f"{self.contrast[0]}-{self.contrast[1]}"

    @property
    def scale(self) -> Scale:
        """The :class:`~nof1.analysis.effect.Scale` of ``estimate`` (``outcome`` when not given).

        Example:
            >>> MethodResult("nap", "pain", ("B", "A"), estimate=0.8, extras={"scale": "nap"}).scale.kind
            'index'
        """
        from nof1.analysis.effect import get_scale

        return get_scale(self.extras.get("scale", "outcome"))

    @property
    def effect(self) -> Effect:
        """The method's effect (estimate and interval) on its own scale.

        Example:
            >>> r = MethodResult("welch_naive", "pain", ("B", "A"), estimate=-1.0, ci_low=-1.7,
            ...                  ci_high=-0.3, ci_level=0.95, extras={"scale": "outcome"})
            >>> r.effect.scale.name, r.effect.excludes_null
            ('outcome', True)
        """
        from nof1.analysis.effect import Effect

        def f(v: Any) -> float | None:
            return None if v is None else float(v)

        return Effect(f(self.estimate), f(self.ci_low), f(self.ci_high), self.ci_level, self.scale)

    def outcome_effect(self) -> Effect | None:
        """The effect on the outcome's own scale: the estimate itself on the ``outcome`` scale,
        the reported outcome-scale difference of a model-scale result (the one the MCID applies
        to first), None for an index or when the result has none or is unavailable.

        Example:
            >>> r = MethodResult("bayes", "pain", ("B", "A"), estimate=-0.9, ci_low=-1.6, ci_high=-0.2,
            ...     extras={"scale": "logit", "mcid_scale": "rating_difference",
            ...             "rating_difference": {"estimate": -0.8, "ci_low": -1.5, "ci_high": -0.1}})
            >>> e = r.outcome_effect(); e.name, e.estimate
            ('rating_difference', -0.8)
        """
        if not self.available:
            return None
        from nof1.analysis.effect import outcome_effect

        return outcome_effect(self.estimate, self.ci_low, self.ci_high, self.ci_level, self.extras)

    def to_dict(self) -> dict[str, Any]:
        """The method's entry in the interface JSON."""
        if not self.available:
            out: dict[str, Any] = {"available": False, "reason": self.reason}
            out.update(json_safe(dict(self.extras)))
            return out
        out = {}
        for name in ("estimate", "ci_low", "ci_high", "ci_level", "p_value"):
            v = getattr(self, name)
            if v is not None:
                out[name] = json_safe(float(v))
        out.update(json_safe(dict(self.extras)))
        if self.notes:
            out["notes"] = list(self.notes)
        return out


if TYPE_CHECKING:
    from nof1.analysis.effect import Effect, Scale


@dataclass(frozen=True)
class MethodSpec:
    """A registered analysis method."""

    name: str
    fit: Callable[..., MethodResult]
    outcome_types: frozenset[str]
    description: str
    default: bool = True  # run when the user does not name methods
    order: int = 100  # position in tables


_REGISTRY: dict[str, MethodSpec] = {}


def register_method(
    name: str,
    *,
    outcome_types: tuple[str, ...] = ("continuous",),
    description: str = "",
    default: bool = True,
    order: int = 100,
) -> Callable[[Callable[..., MethodResult]], Callable[..., MethodResult]]:
    """Decorator registering ``fit(trial_data, outcome, contrast, **options) -> MethodResult``.

    The registered (and returned) function is the fit behind :func:`guard_fit`: data with no
    variation are refused before the fit, numpy floating-point warnings stay inside it, and a
    zero-width interval is reported as unavailable.
    """

    def deco(func: Callable[..., MethodResult]) -> Callable[..., MethodResult]:
        guarded = guard_fit(name, func)
        _REGISTRY[name] = MethodSpec(name, guarded, frozenset(outcome_types), description, default, order)
        return guarded

    return deco


def guard_fit(name: str, func: Callable[..., MethodResult]) -> Callable[..., MethodResult]:
    """``func`` behind the checks every method shares (see :mod:`nof1.analysis.degenerate`).

    Example:
        >>> safe = guard_fit("my_method", my_fit)      # doctest: +SKIP
    """
    from functools import wraps

    @wraps(func)
    def fit(trial_data: Any, outcome: Any, contrast: Contrast, *args: Any, **options: Any) -> MethodResult:
        import numpy as np

        from nof1.analysis.degenerate import variation_problem
        from nof1.data import TrialData

        if isinstance(trial_data, TrialData):
            problem = variation_problem(trial_data, outcome, contrast,
                                        washout_days=options.get("washout_days"))
            if problem is not None:
                o = outcome if isinstance(outcome, str) else outcome.name
                return MethodResult.unavailable(name, o, contrast, problem)
        with np.errstate(all="ignore"):
            result = func(trial_data, outcome, contrast, *args, **options)
        return _zero_width(_broken_contract(result, outcome, trial_data))

    return fit


def _broken_contract(r: MethodResult, outcome: Any, trial_data: Any) -> MethodResult:
    """An available result that breaks the effect contract (:mod:`nof1.analysis.effect`) — no
    declared scale, or decision probabilities that do not follow the one rule — is not shown."""
    if not r.available:
        return r
    from nof1.analysis.effect import DECISION_KEYS, check_decision_probabilities

    problems = [] if "scale" in r.extras else ["it declares no effect scale (extras['scale'])"]
    if any(k in r.extras for k in DECISION_KEYS):
        o = outcome
        if isinstance(outcome, str):
            try:
                o = trial_data.protocol.outcome(outcome)
            except (AttributeError, KeyError):
                o = None
        problems += check_decision_probabilities(r.extras, has_mcid=getattr(o, "mcid", None) is not None)
    if not problems:
        return r
    return MethodResult.unavailable(
        r.method, r.outcome, r.contrast,
        f"{r.method} broke the effect contract ({'; '.join(problems)}); its numbers are not shown")


def _zero_width(r: MethodResult) -> MethodResult:
    if not r.available or r.ci_low is None or r.ci_high is None or float(r.ci_high) > float(r.ci_low):
        return r
    return MethodResult.unavailable(
        r.method, r.outcome, r.contrast,
        f"the interval has no width ({r.ci_low:.4g} to {r.ci_high:.4g}): the data cannot say how "
        "uncertain the estimate is")


def registered_methods() -> dict[str, MethodSpec]:
    """Every registered method, in table order (importing the method modules first)."""
    _load_builtin_methods()
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (kv[1].order, kv[0])))


def get_method(name: str) -> MethodSpec:
    methods = registered_methods()
    if name not in methods:
        raise AnalysisError(f"unknown method '{name}' (known: {', '.join(methods)})")
    return methods[name]


# Modules that register methods when imported. Each is optional so the interface works while
# methods are being added; a module that fails to import for another reason raises.
BUILTIN_METHOD_MODULES = (
    "nof1.analysis.classical",
    "nof1.analysis.randomization",
    "nof1.analysis.nonoverlap",
    "nof1.analysis.bayes",
    "nof1.analysis.discrete_glm",
)


def _load_builtin_methods() -> None:
    import importlib

    for mod in BUILTIN_METHOD_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as err:
            if err.name != mod:
                raise
