"""Statistical and practical defaults of nof1 (the project's own, not a library's)."""

from __future__ import annotations

#: Default interval level when the protocol does not set ``analysis.ci_level``.
CI_LEVEL: float = 0.95
#: Kind of every credible/confidence interval reported: equal-tailed (quantiles).
INTERVAL_KIND: str = "equal-tailed"
#: A log entry stamped before this clock time belongs to the previous day (night).
DAY_STARTS_AT: str = "04:00"
#: Washout lengths (days) used by the washout-sensitivity analysis.
WASHOUT_SENSITIVITY_DAYS: tuple[int, ...] = (0, 2, 4, 7)
#: Prior on the carryover time constant tau (days): log-normal with this median ...
TAU_PRIOR_MEDIAN: float = 1.0
#: ... and this log-scale sd (90% of the mass between about 0.2 and 5 days).
TAU_PRIOR_SIGMA: float = 0.98
#: Trials longer than this many days get a linear trend term by default.
TREND_AUTO_DAYS: int = 84
#: Above this many allocations the randomisation test samples allocations (Monte Carlo).
MAX_EXACT_ALLOCATIONS: int = 100_000
#: Number of Monte Carlo allocations when enumeration is too large.
MONTE_CARLO_ALLOCATIONS: int = 20_000
#: Default seed of analyses when the user gives none.
DEFAULT_SEED: int = 20261201

#: Default decision rules (``analysis.decision``).
DECISION_BENEFIT_PROB: float = 0.80
DECISION_HARM_PROB_MAX: float = 0.05
DECISION_NO_EFFECT_PROB: float = 0.80
DECISION_POSSIBLE_HARM_PROB: float = 0.20

#: Verdict wording.
VERDICT_BENEFIT = "likely meaningful benefit"
VERDICT_NO_EFFECT = "likely no meaningful effect"
VERDICT_HARM = "possible harm"
VERDICT_INCONCLUSIVE = "inconclusive — more pairs would help"
