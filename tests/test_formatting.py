"""The shared number formatting of the terminal, the CLI tables and the HTML report."""

from __future__ import annotations

import doctest

import nof1.formatting as fm
from nof1.formatting import fmt_number, fmt_p, fmt_prob


def test_probabilities_never_round_to_false_certainty() -> None:
    assert [fmt_prob(x) for x in (0.0, 1e-9, 0.0049, 0.01, 0.5, 0.99, 0.9951, 1.0)] == [
        "0%", "<1%", "<1%", "1%", "50%", "99%", ">99%", "100%"]
    assert fmt_prob(None) == fmt_prob(float("nan")) == "–"


def test_p_values_and_numbers() -> None:
    assert [fmt_p(x) for x in (1e-6, 0.001, 0.0132, 0.0999, 0.125, 1.0)] == [
        "<0.001", "0.001", "0.013", "0.100", "0.12", "1.00"]
    assert fmt_number(-1.005, 1) == "-1.0" and fmt_number(2, 0) == "2"
    assert fmt_number(-1.25, minus="−") == "−1.25" and fmt_number(float("inf")) == "–"
    assert fmt_number("not a number") == "not a number"


def test_docstring_examples() -> None:
    assert doctest.testmod(fm).failed == 0
