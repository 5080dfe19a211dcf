"""Commands that live in their own modules (analyze, design, pool, demo).

Importing them registers their commands on :data:`nof1.cli.app.app`.
"""

from __future__ import annotations

from nof1.cli import analyze_cmd, demo_cmd, design_cmd, pool_cmd

__all__ = ["analyze_cmd", "demo_cmd", "design_cmd", "pool_cmd"]
