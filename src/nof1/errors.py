"""The project's own exceptions.

Every problem a user can cause (a bad protocol, a bad log, an impossible request) raises a subclass
of :class:`Nof1Error`. The command line turns these into one readable line per problem and exit
code 1; anything else is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in a file: where it is and what was expected.

    ``location`` is a field path (``design.period_days``) for a protocol, or ``line 12, column
    'severity'`` for a log.
    """

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class Nof1Error(Exception):
    """Base class of every error nof1 raises on purpose.

    Example:
        >>> try:
        ...     raise Nof1Error("something went wrong", source="trial.yaml")
        ... except Nof1Error as err:
        ...     print(err)
        trial.yaml: something went wrong
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.problems: list[Problem] = list(problems or [])
        super().__init__(self._format())

    def _format(self) -> str:
        head = f"{self.source}: {self.message}" if self.source else self.message
        if not self.problems:
            return head
        lines = [head] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    def lines(self) -> list[str]:
        """One readable line per problem (for the command line)."""
        return self._format().splitlines()


class ProtocolError(Nof1Error):
    """A protocol file is missing, unreadable or invalid."""


class DataError(Nof1Error):
    """A log cannot be used with its protocol."""


class AnalysisError(Nof1Error):
    """An analysis was asked for something it cannot do (e.g. an unknown method name)."""


class OutputError(Nof1Error):
    """An output file cannot be written: it is an input, it exists (no ``force``), or the write failed."""
