"""Commands that live in their own modules (analyze, design, pool, demo)."""

from __future__ import annotations

import importlib

for _name in ("nof1.cli.analyze_cmd", "nof1.cli.design_cmd", "nof1.cli.pool_cmd", "nof1.cli.demo_cmd"):
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as _err:  # a command module not written yet
        if _err.name != _name:
            raise
