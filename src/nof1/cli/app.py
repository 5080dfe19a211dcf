"""The Typer application and the error handling every command shares."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import typer
from rich.console import Console

from nof1.errors import Nof1Error

app = typer.Typer(
    name="nof1",
    help="N-of-1 self-experiments: design a trial, log it, analyse it honestly, share the result.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> None:
    """Print a readable error to stderr and exit."""
    for line in message.splitlines():
        err_console.print(f"error: {line}" if line and not line.startswith("  ") else line, markup=False)
    raise typer.Exit(code)


def handles_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the project's errors (and unreadable files) into stderr messages with exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Nof1Error as err:
            fail(str(err), 1)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as err:
            fail(f"{err.filename}: {err.strerror}", 1)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper


def run_app(argv: list[str]) -> int:
    try:
        app(args=argv, prog_name="nof1", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def write_output(text: str, output: str | None, *, force: bool = False) -> None:
    """Print ``text`` or write it to a new file (never overwriting unless ``force``)."""
    from pathlib import Path

    if output is None or output == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    path = Path(output)
    if path.exists() and not force:
        raise Nof1Error(f"{path} already exists; choose another name or pass --force to overwrite")
    if path.parent and not path.parent.exists():
        raise Nof1Error(f"{path.parent} does not exist")
    path.write_text(text, encoding="utf-8", newline="")
    err_console.print(f"wrote {path}")
