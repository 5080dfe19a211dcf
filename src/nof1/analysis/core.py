"""``analyze``: every applicable method on every outcome and contrast, one result object.

Example:
    >>> import nof1
    >>> p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")            # doctest: +SKIP
    >>> td = nof1.read_log("data/sample/beetroot_log.csv", p)                  # doctest: +SKIP
    >>> res = nof1.analyze(td, methods=["gls_ar1", "paired_periods"], seed=1)  # doctest: +SKIP
    >>> res.summary()[["outcome", "method", "estimate", "ci_low", "ci_high"]]  # doctest: +SKIP
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nof1._version import __version__
from nof1.analysis.base import MethodResult, contrasts_for, registered_methods
from nof1.analysis.decision import verdict
from nof1.constants import DEFAULT_SEED
from nof1.errors import AnalysisError
from nof1.jsonsafe import json_safe
from nof1.seeds import task_seed

if TYPE_CHECKING:
    import pandas as pd

    from nof1.data import TrialData
    from nof1.protocol import Decision, Outcome, Protocol


@dataclass
class AnalysisResult:
    """Every method's result for every outcome and contrast of one trial.

    ``results[outcome][contrast_label][method]`` is a :class:`MethodResult`.
    """

    protocol: Protocol
    trial_data: TrialData
    results: dict[str, dict[str, dict[str, MethodResult]]]
    seed: int
    verdicts: dict[str, dict[str, str | None]] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ access
    def get(self, outcome: str, method: str, contrast: str | None = None) -> MethodResult:
        """One method's result (first contrast by default)."""
        by_contrast = self.results[outcome]
        key = contrast or next(iter(by_contrast))
        return by_contrast[key][method]

    def verdict(self, outcome: str | None = None, contrast: str | None = None) -> str | None:
        outcome = outcome or self.protocol.primary.name
        v = self.verdicts.get(outcome, {})
        return v.get(contrast or next(iter(v), ""), None) if v else None

    # ------------------------------------------------------------------ safety
    def safety_alerts(self) -> list[dict[str, Any]]:
        """Every day a safety outcome crossed its ``alert`` threshold (:func:`nof1.safety.safety_alerts`).

        Example:
            >>> [a["message"] for a in res.safety_alerts()]        # doctest: +SKIP
            ['systolic_bp 88 below 90']
        """
        from nof1.safety import safety_alerts

        return [a.to_dict() for a in safety_alerts(self.trial_data)]

    def benefit_harm(self, contrast: str | None = None) -> dict[str, Any]:
        """P(meaningful benefit on the primary and no meaningful harm) (:func:`nof1.safety.benefit_harm`).

        Example:
            >>> res.benefit_harm()["probability"]                  # doctest: +SKIP
            0.41
        """
        from nof1.safety import benefit_harm

        return benefit_harm(self, contrast=contrast)

    # ------------------------------------------------------------------ assumptions
    def prior_sensitivity(self, outcome: str | None = None, contrast: str | None = None) -> Any:
        """The result under the sceptical, default and evidence priors
        (:func:`nof1.analysis.prior_sensitivity.prior_sensitivity`; cached).

        Example:
            >>> res.prior_sensitivity("severity").sentence          # doctest: +SKIP
        """
        return self._assumption("prior", outcome, contrast)

    def onset_sensitivity(self, outcome: str | None = None, contrast: str | None = None) -> Any:
        """The estimate with the onset time τ fixed at 0, 1, 2, 4 days next to the main one
        (:func:`nof1.analysis.prior_sensitivity.onset_sensitivity`; cached).

        Example:
            >>> res.onset_sensitivity().sentence                    # doctest: +SKIP
        """
        return self._assumption("onset", outcome, contrast)

    def _assumption(self, kind: str, outcome: str | None, contrast: str | None) -> Any:
        from nof1.analysis import prior_sensitivity as ps

        outcome = outcome or self.protocol.primary.name
        label = contrast or next(iter(self.results.get(outcome, {})), None) or \
            "-".join(contrasts_for(self.protocol)[0])
        key = (kind, outcome, label)
        cache = self.extras.setdefault("_assumptions", {})
        if key not in cache:
            t, _, c = label.partition("-")
            from nof1.analysis.adherence import as_randomised

            fn = ps.prior_sensitivity if kind == "prior" else ps.onset_sensitivity
            # the same data as the primary analysis: as randomised
            cache[key] = fn(as_randomised(self.trial_data), outcome, (t, c))
        return cache[key]

    def _assumptions_dict(self, outcome: str, contrast: str, methods: dict[str, MethodResult]
                          ) -> dict[str, Any]:
        """Prior (and, for the primary, onset) sensitivity of an available continuous bayes result."""
        r = methods.get("bayes")
        o = self.protocol.outcome(outcome)
        if r is None or not r.available or o.type != "continuous" or not r.scale.in_outcome_units:
            return {}
        out = {"prior_sensitivity": self.prior_sensitivity(outcome, contrast).to_dict()}
        if o.role == "primary":
            out["onset_sensitivity"] = self.onset_sensitivity(outcome, contrast).to_dict()
        return out

    # ------------------------------------------------------------------ tables
    def summary(self) -> pd.DataFrame:
        """Tidy table: one row per outcome × contrast × method."""
        import pandas as pd

        rows = []
        for outcome, by_contrast in self.results.items():
            o = self.protocol.outcome(outcome)
            for contrast, methods in by_contrast.items():
                for name, r in methods.items():
                    rows.append({
                        "outcome": outcome, "role": o.role, "contrast": contrast, "method": name,
                        "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high,
                        "ci_level": r.ci_level, "p_value": r.p_value,
                        "prob_benefit": r.extras.get("prob_benefit"),
                        "prob_meaningful_benefit": r.extras.get("prob_meaningful_benefit"),
                        "available": r.available, "reason": r.reason,
                    })
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``nof1 analyze --json`` (see the interface page)."""
        td = self.trial_data
        out: dict[str, Any] = {
            "nof1_version": __version__,
            "protocol": {"id": self.protocol.id, "fingerprint": self.protocol.fingerprint},
            "data": td.report.to_dict(brief=True) if td.report is not None else {},
            "seed": self.seed,
            "outcomes": {},
        }
        for outcome, by_contrast in self.results.items():
            o = self.protocol.outcome(outcome)
            contrasts = {}
            for contrast, methods in by_contrast.items():
                contrasts[contrast] = {
                    "verdict": self.verdicts.get(outcome, {}).get(contrast),
                    "methods": {name: r.to_dict() for name, r in methods.items()},
                    **self._assumptions_dict(outcome, contrast, methods),
                }
            first = next(iter(contrasts.values()), {"verdict": None, "methods": {}})
            entry: dict[str, Any] = {
                "type": o.type, "better": o.better, "mcid": o.mcid, "role": o.role,
                "label": o.display,
                "verdict": first["verdict"],
                "methods": first["methods"],
            }
            for extra in ("prior_sensitivity", "onset_sensitivity"):
                if extra in first:
                    entry[extra] = first[extra]
            if len(contrasts) > 1 or any("-" in c for c in contrasts):
                entry["contrast"] = next(iter(contrasts), None)
                entry["contrasts"] = contrasts
            out["outcomes"][outcome] = entry
        out["safety"] = {"alerts": self.safety_alerts(), "benefit_harm": self.benefit_harm()}
        for key, value in self.extras.items():
            if not key.startswith("_"):
                out[key] = value
        out["reproducibility"] = self.reproducibility()
        return json_safe(out)

    def reproducibility(self) -> dict[str, Any]:
        """Versions, seed, protocol fingerprint and data hash needed to repeat the analysis."""
        import importlib.metadata as md

        versions = {"python": platform.python_version(), "nof1": __version__}
        for pkg in ("numpy", "scipy", "pandas", "statsmodels", "pymc", "arviz", "jax", "blackjax"):
            try:
                versions[pkg] = md.version(pkg)
            except md.PackageNotFoundError:  # pragma: no cover
                versions[pkg] = None
        return {
            "seed": self.seed,
            "protocol_fingerprint": self.protocol.fingerprint,
            "data_hash": self.trial_data.data_hash,
            "versions": versions,
        }


def analyze(
    trial_data: TrialData,
    *,
    outcomes: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    seed: int | None = None,
    washout_days: int | None = None,
    progress: Callable[[str], None] | None = None,
    **options: Any,
) -> AnalysisResult:
    """Run the registered methods on the trial's outcomes (primary first).

    Args:
        trial_data: ingested log (:func:`nof1.read_log`) or simulated trial.
        outcomes: outcome names (default: every outcome in the protocol).
        methods: method names (default: the protocol's ``analysis.methods`` or every default
            method that applies to the outcome's type).
        seed: seed for every random step (default: the project's default seed).
        washout_days: overrides the protocol's washout for the methods that exclude washout.
        progress: called with a short message before each fit (for progress displays).
        **options: passed to every method (e.g. ``engine="pymc"``, ``draws=500``).

    Example:
        >>> res = analyze(td, methods=["paired_periods"], seed=1)   # doctest: +SKIP
    """
    protocol = trial_data.protocol
    seed = DEFAULT_SEED if seed is None else int(seed)
    registry = registered_methods()
    if outcomes is None:        # covariates are adjusted for, not analysed as outcomes
        chosen = [o for o in protocol.ordered_outcomes if o.role != "covariate"]
    else:
        chosen = []
        for name in outcomes:
            try:
                chosen.append(protocol.outcome(name))
            except KeyError as err:
                raise AnalysisError(str(err.args[0])) from None
            if chosen[-1].role == "covariate":
                raise AnalysisError(
                    f"'{name}' is a covariate: it is adjusted for (analysis.adjust_for), not analysed "
                    "as an outcome; its difference between conditions is the mediator check of the "
                    "covariate section")
    requested = list(methods) if methods is not None else protocol.analysis.methods
    if requested is not None:
        unknown = [m for m in requested if m not in registry]
        if unknown:
            raise AnalysisError(
                f"unknown method(s) {', '.join(unknown)} (known: {', '.join(registry)})"
            )
    ci_level = protocol.analysis.ci_level
    from nof1.analysis.adherence import as_randomised

    itt = as_randomised(trial_data)   # the primary analysis is as randomised (intention to treat)
    results: dict[str, dict[str, dict[str, MethodResult]]] = {}
    verdicts: dict[str, dict[str, str | None]] = {}
    for o in chosen:
        results[o.name] = {}
        verdicts[o.name] = {}
        names = _methods_for(o, requested, registry)
        for contrast in contrasts_for(protocol):
            label = f"{contrast[0]}-{contrast[1]}"
            by_method: dict[str, MethodResult] = {}
            for name in names:
                spec = registry[name]
                if o.type not in spec.outcome_types:
                    by_method[name] = MethodResult.unavailable(
                        name, o.name, contrast,
                        f"{name} does not apply to {o.type} outcomes "
                        f"(applies to: {', '.join(sorted(spec.outcome_types))})")
                    continue
                if progress is not None:
                    progress(f"{o.name}: {name} ({label})")
                by_method[name] = spec.fit(
                    itt, o, contrast, ci_level=ci_level,
                    seed=task_seed(seed, o.name, label, name), washout_days=washout_days, **options,
                )
            results[o.name][label] = by_method
            verdicts[o.name][label] = _verdict_from(by_method, protocol.analysis.decision)
    result = AnalysisResult(protocol=protocol, trial_data=trial_data, results=results, seed=seed,
                            verdicts=verdicts)
    if outcomes is None or protocol.primary.name in [o.name for o in chosen]:
        from nof1.analysis.sections import add_sections

        add_sections(result, itt, registry=registry, options=options, washout_days=washout_days,
                     seed_for=task_seed)
    return result


def _methods_for(outcome: Outcome, requested: list[str] | None, registry: dict) -> list[str]:
    if requested is not None:
        return list(requested)
    return [n for n, s in registry.items() if s.default and outcome.type in s.outcome_types]


def _verdict_from(by_method: dict[str, MethodResult], decision: Decision) -> str | None:
    """The verdict of the first available result with decision probabilities (``bayes`` first)."""
    from nof1.analysis.effect import VERDICT_KEYS

    for name in ("bayes", *by_method):
        r = by_method.get(name)
        if r is not None and r.available and VERDICT_KEYS[0] in r.extras:
            return verdict(dict(r.extras), decision)
    return None
