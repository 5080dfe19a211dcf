"""Writing the user's files safely: never over an input, never half-written.

Every file nof1 writes (CLI outputs, the HTML report, plots, posterior files) goes through
:func:`write_atomic`:

* an output that *is* one of the inputs of the same call — the same path after ``resolve()``, a
  symlink to it or a hard link (same device and inode, :func:`os.path.samefile`) — is refused
  with :class:`~nof1.errors.OutputError`, whatever ``force`` says;
* an existing file is replaced only with ``force=True``;
* the bytes go to a temporary file in the target's folder, which is then renamed over the target
  (:func:`os.replace`, atomic on one file system): a failed write (disk full, a writer that
  raises) leaves the old file exactly as it was and no temporary file behind. A symlinked target
  is written where the link points (the link stays a link). Special files (``/dev/null``, a
  FIFO) are written in place — renaming over them would replace the device;
* every I/O error becomes one :class:`~nof1.errors.OutputError` naming the path.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> log = folder / "log.csv"; _ = log.write_text("date,severity\\n")
    >>> write_atomic(folder / "out.txt", "hello", inputs=[log]).name
    'out.txt'
    >>> write_atomic(log, "oops", inputs=[log], force=True)
    Traceback (most recent call last):
    ...
    nof1.errors.OutputError: ... is the input file ...; nof1 never writes over its own input (not even with --force): choose another output name
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from nof1.errors import OutputError

#: What :func:`write_atomic` writes: text (UTF-8), bytes, or a function writing to a given path.
Payload = str | bytes | Callable[[Path], object]


def _file_paths(values: Iterable[object]) -> list[Path]:
    out: list[Path] = []
    for v in values:
        if isinstance(v, str | os.PathLike) and str(v) not in ("", "-"):
            p = Path(v)
            with contextlib.suppress(OSError, ValueError):
                if p.is_file():
                    out.append(p)
    return out


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name the same file (symlinks followed, hard links included).

    Example:
        >>> same_file(__file__, __file__)
        True
    """
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        try:
            return Path(a).resolve() == Path(b).resolve()
        except (OSError, RuntimeError, ValueError):
            return False


def input_clash(path: str | os.PathLike[str], inputs: Iterable[object]) -> Path | None:
    """The input that ``path`` would overwrite (same file), else None.

    Example:
        >>> input_clash(__file__, [__file__]) is not None
        True
    """
    for inp in _file_paths(inputs):
        if same_file(path, inp):
            return inp
    return None


def check_output(path: str | os.PathLike[str], *, inputs: Iterable[object] = (), force: bool = False) -> Path:
    """Refuse an output path before any work is done: an input, a folder, an existing file
    without ``force``, or a missing parent folder. Returns the path.

    Example:
        >>> check_output("no-such-folder/report.html")
        Traceback (most recent call last):
        ...
        nof1.errors.OutputError: no-such-folder does not exist (the folder of no-such-folder/report.html)
    """
    p = Path(path)
    clash = input_clash(p, inputs)
    if clash is not None:
        how = "" if str(clash) == str(p) else f" (it is the same file as {clash})"
        raise OutputError(f"{p} is the input file {clash}{how}; nof1 never writes over its own input "
                          "(not even with --force): choose another output name")
    try:
        if p.is_dir():
            raise OutputError(f"{p} is a folder; give the name of a file to write")
        exists = p.exists() or p.is_symlink()
    except OSError as err:
        raise OutputError(f"cannot write {p}: {err.strerror or err}") from None
    if exists and not force:
        raise OutputError(f"{p} already exists; choose another name or pass --force to overwrite "
                          "(force=True in Python)")
    parent = p.parent
    if not parent.exists():
        raise OutputError(f"{parent} does not exist (the folder of {p})")
    return p


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: str | os.PathLike[str], payload: Payload, *, inputs: Iterable[object] = (),
                 force: bool = False) -> Path:
    """Write ``payload`` (text, bytes, or a function ``writer(tmp_path)``) to ``path`` safely.

    See the module docstring: inputs are never overwritten, existing files only with ``force``,
    the write is atomic, and I/O errors raise :class:`~nof1.errors.OutputError` with the path.
    Returns ``path``.

    Example:
        >>> write_atomic("fig.png", lambda tmp: fig.savefig(tmp), force=True)   # doctest: +SKIP
        PosixPath('fig.png')
    """
    p = check_output(path, inputs=inputs, force=force)
    try:
        target = Path(os.path.realpath(p))
        existing = target.stat() if target.exists() else None
    except OSError as err:
        raise OutputError(f"cannot write {p}: {err.strerror or err}") from None
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        _write_in_place(p, target, data)
        return p
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}",
                                   dir=target.parent)
        if callable(data):
            os.close(fd)
            data(Path(tmp))
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(existing.st_mode) if existing is not None else _new_file_mode())
        os.replace(tmp, target)
        tmp = None
    except OSError as err:
        raise OutputError(f"cannot write {p}: {err.strerror or err}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return p


def _write_in_place(p: Path, target: Path, data: bytes | Callable[[Path], object]) -> None:
    """A device or FIFO: write straight to it (there is no old content to keep)."""
    try:
        if callable(data):
            data(target)
        else:
            with open(target, "wb") as fh:
                fh.write(data)
                fh.flush()
    except OSError as err:
        raise OutputError(f"cannot write {p}: {err.strerror or err}") from None


__all__ = ["Payload", "check_output", "input_clash", "same_file", "write_atomic"]
