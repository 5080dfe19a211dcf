"""The Typer application and the error handling every command shares.

Writing files: every command writes through :func:`write_output` (text) or :func:`write_file`
(bytes, or a function writing to a path, e.g. ``fig.savefig``), which go through
:func:`nof1.outputs.write_atomic`: an output that is one of the command's inputs (same file
after ``resolve()``, symlink or hard link) is refused whatever ``--force`` says, an existing file
is replaced only with ``--force``, and the write is atomic (a failed write leaves the old file).

A command's inputs are found by :func:`handles_errors`: every argument or option naming an
existing file, except the output options (:data:`OUTPUT_PARAMETERS`, or the names given with
``@handles_errors(outputs=("log_out",))``). A command that reads other files adds them with
:func:`protect_inputs`. Commands that compute before writing call :func:`check_output_path`
first, so a refused output costs nothing.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from functools import wraps
from pathlib import Path
from typing import Any, overload

import typer
from rich.console import Console

from nof1.errors import Nof1Error, OutputError

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

#: Parameter names that are outputs (never recorded as the command's inputs).
OUTPUT_PARAMETERS = frozenset({"output", "report", "plot", "out", "out_dir", "output_dir"})
_INPUTS: ContextVar[tuple[Path, ...]] = ContextVar("nof1_command_inputs", default=())


def fail(message: str, code: int = 1) -> None:
    """Print a readable error to stderr and exit."""
    for line in message.splitlines():
        err_console.print(f"error: {line}" if line and not line.startswith("  ") else line, markup=False)
    raise typer.Exit(code)


def _paths_in(value: Any) -> list[Path]:
    values = value if isinstance(value, list | tuple) else [value]
    out = []
    for v in values:
        if isinstance(v, str | Path) and str(v) not in ("", "-"):
            p = Path(v)
            with contextlib.suppress(OSError, ValueError):
                if p.is_file():
                    out.append(p)
    return out


def command_inputs() -> tuple[Path, ...]:
    """The input files of the running command (see :func:`handles_errors`)."""
    return _INPUTS.get()


def protect_inputs(*paths: str | Path) -> None:
    """Add files the running command reads to its inputs (they will never be written over).

    Example:
        >>> protect_inputs("protocols/beetroot-juice-rls.yaml")   # doctest: +SKIP
    """
    _INPUTS.set(_INPUTS.get() + tuple(p for v in paths for p in _paths_in(v)))


@contextlib.contextmanager
def _command_scope(inputs: Iterable[Path]) -> Iterator[None]:
    token = _INPUTS.set(tuple(inputs))
    try:
        yield
    finally:
        _INPUTS.reset(token)


def _wrap(func: Callable[..., Any], outputs: frozenset[str]) -> Callable[..., Any]:
    signature = inspect.signature(func)

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind_partial(*args, **kwargs)
            inputs = [p for name, v in bound.arguments.items() if name not in outputs for p in _paths_in(v)]
            with _command_scope(inputs):
                return func(*args, **kwargs)
        except Nof1Error as err:
            fail(str(err), 1)
        except BrokenPipeError:
            _silence_stdout()       # `nof1 schedule ... | head`: the reader left; nothing to report
            raise typer.Exit(1) from None
        except OSError as err:
            fail(_os_error_text(err), 1)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper


def _os_error_text(err: OSError) -> str:
    what = err.strerror or str(err)
    if err.filename is None:    # files are opened by name; a nameless error is the terminal's
        return f"cannot write to standard output: {what}"
    return f"{err.filename}: {what}"


def _silence_stdout() -> None:
    import os

    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@overload
def handles_errors(func: Callable[..., Any]) -> Callable[..., Any]: ...
@overload
def handles_errors(*, outputs: Iterable[str] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...


def handles_errors(func: Callable[..., Any] | None = None, *, outputs: Iterable[str] = ()) -> Any:
    """Turn the project's errors (and unreadable or unwritable files) into stderr messages with
    exit code 1, and record the command's input files for :func:`write_output`.

    Use as ``@handles_errors`` or ``@handles_errors(outputs=("log_out",))`` when an output
    option has a name outside :data:`OUTPUT_PARAMETERS`.
    """
    names = OUTPUT_PARAMETERS | frozenset(outputs)
    if func is None:
        return lambda f: _wrap(f, names)
    return _wrap(func, names)


def run_app(argv: list[str]) -> int:
    import warnings

    try:
        with warnings.catch_warnings():
            # numerical warnings of numpy/scipy inside a fit are not messages for the user: a fit
            # that cannot give an answer says so in its reason (nof1.analysis.degenerate)
            warnings.simplefilter("ignore", RuntimeWarning)
            app(args=argv, prog_name="nof1", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        code = code if isinstance(code, int) else (0 if code is None else 1)
        return _flush_stdout(code)
    return _flush_stdout(0)


def _flush_stdout(code: int) -> int:
    """Flush stdout now, so that a full disk or closed pipe is an error message, not a traceback."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return code or 1
    except OSError as err:
        with contextlib.suppress(OSError):
            err_console.print(f"error: cannot write to standard output: {err.strerror or err}", markup=False)
        return code or 1
    return code


def check_output_path(output: str | Path | None, *, force: bool = False,
                      inputs: Iterable[str | Path] = ()) -> None:
    """Refuse an output before the command does any work (see :func:`nof1.outputs.check_output`)."""
    from nof1.outputs import check_output

    if output is None or str(output) == "-":
        return
    check_output(output, inputs=(*command_inputs(), *inputs), force=force)


def write_file(payload: str | bytes | Callable[[Path], object], output: str | Path, *, force: bool = False,
               inputs: Iterable[str | Path] = (), quiet: bool = False) -> Path:
    """Write text, bytes or ``writer(tmp_path)`` to ``output`` (never over an input; atomic).

    Example:
        >>> write_file(lambda tmp: fig.savefig(tmp, dpi=150), "plot.png", force=False)   # doctest: +SKIP
    """
    from nof1.outputs import write_atomic

    path = write_atomic(output, payload, inputs=(*command_inputs(), *inputs), force=force)
    if not quiet:
        err_console.print(f"wrote {path}", markup=False)
    return path


def write_stdout(text: str) -> None:
    """Print ``text`` (a newline added), an unwritable stdout raising :class:`OutputError`."""
    try:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    except OSError as err:
        raise OutputError(f"cannot write to standard output: {err.strerror or err}") from None


def write_output(text: str, output: str | None, *, force: bool = False,
                 inputs: Iterable[str | Path] = ()) -> None:
    """Print ``text`` or write it to a new file (never overwriting unless ``force``, never over
    one of the command's inputs, atomically)."""
    if output is None or output == "-":
        write_stdout(text)
        return
    write_file(text, output, force=force, inputs=inputs)
