"""The ``nof1`` command line. Each command lives in its own module; none does statistics.

Errors the user can cause (:class:`nof1.errors.Nof1Error`) are printed to stderr as one readable
line per problem with exit code 1; wrong usage exits with 2. No traceback is ever shown for them.
"""

from __future__ import annotations

import sys

# Importing the command modules registers their commands on ``app``.
from nof1.cli import (
    init_cmd,  # noqa: E402,F401
    optional_cmds,  # noqa: E402,F401
    protocol_cmds,  # noqa: E402,F401  (side effect: commands)
    simulate_cmd,  # noqa: E402,F401
    status_cmd,  # noqa: E402,F401
)
from nof1.cli.app import app, run_app


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    return run_app(argv if argv is not None else sys.argv[1:])


__all__ = ["app", "main"]
