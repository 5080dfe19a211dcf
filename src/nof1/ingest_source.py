"""Reading the source of a log (CSV/TSV text in UTF-8, UTF-8 with BOM, UTF-16 or Latin-1; ``.xlsx``;
or a DataFrame) into a header and records, each with its *physical* line number.

Part of reading a log (:mod:`nof1.ingest`).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from nof1.errors import DataError
from nof1.ingest_columns import INFO_COLUMNS, META_COLUMNS
from nof1.ingest_values import is_blank_cell, is_missing, normalised_name

if TYPE_CHECKING:
    pass

@dataclass
class Record:
    """One record of the source below the header: a data row, or a line that carries none."""

    line: int
    cells: list[Any] | None
    kind: Literal["row", "blank", "comment", "malformed"] = "row"
    message: str = ""
    n_lines: int = 1


@dataclass
class Table:
    name: str
    header: list[str]
    header_line: int
    records: list[Record]
    sep: str | None = None
    notes: list[str] = field(default_factory=list)


def read_table(source: Any) -> Table:
    """The source as a header and records with physical line numbers (``.name``, ``.header``,
    ``.header_line``, ``.records`` with ``.line``, ``.cells``, ``.kind``, ``.message``; ``.notes``)."""
    if isinstance(source, pd.DataFrame):
        return _read_frame(source)
    if isinstance(source, str | Path):
        return _read_path(Path(source))
    raise DataError(
        f"cannot read a log from {type(source).__name__}; expected a path to a CSV, TSV or XLSX "
        "file, or a pandas DataFrame"
    )


def _read_frame(frame: pd.DataFrame) -> Table:
    name = "DataFrame"
    df = frame
    names = [normalised_name(c) for c in df.columns]
    if "date" not in names and df.index.name is not None and normalised_name(df.index.name) == "date":
        df = df.reset_index()
    elif "date" not in names and isinstance(df.index, pd.DatetimeIndex):
        df = df.rename_axis("date").reset_index()
    header = [str(c) for c in df.columns]
    records: list[Record] = []
    for i, row in enumerate(df.itertuples(index=False, name=None)):
        records.append(_classify_cells(i + 2, list(row)))
    return Table(name=name, header=header, header_line=1, records=records)


def _classify_cells(line: int, cells: list[Any]) -> Record:
    """Blank, comment or data row (for DataFrame and workbook rows)."""
    filled = [c for c in cells if not (c is None or (isinstance(c, str) and not c.strip())
                                       or (not isinstance(c, str) and is_missing(c)))]
    if not filled:
        return Record(line, None, "blank", "empty row")
    first = filled[0]
    if isinstance(first, str) and first.strip().startswith("#"):
        return Record(line, None, "comment")
    return Record(line, cells)


def _read_path(path: Path) -> Table:
    name = str(path)
    expected = "expected a log: a CSV, TSV or XLSX file with a 'date' column and one column per outcome"
    try:
        if not path.exists():
            raise DataError(f"no such file; {expected}", source=name)
        if path.is_dir():
            raise DataError(f"is a directory; {expected}", source=name)
        raw = path.read_bytes()
    except (OSError, ValueError) as err:   # permissions, name too long, NUL in the name
        reason = getattr(err, "strerror", None) or str(err)
        raise DataError(f"cannot be read ({reason}); {expected}", source=name) from None
    suffix = path.suffix.lower()
    if not raw.strip():
        raise DataError(f"the file is empty; {expected}", source=name)
    if suffix == ".xls" or raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise DataError(
            "is an old Excel .xls workbook, which cannot be read; save it as .xlsx or CSV", source=name
        )
    if suffix == ".ods":
        raise DataError("OpenDocument spreadsheets cannot be read; save the sheet as .xlsx or CSV",
                        source=name)
    if suffix in (".xlsx", ".xlsm") or raw[:4] == b"PK\x03\x04":
        return _read_xlsx(raw, name, suffix)
    return _read_text(raw, name, suffix)


def _read_xlsx(raw: bytes, name: str, suffix: str) -> Table:
    try:
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(raw), data_only=True)
    except Exception as err:  # openpyxl raises many kinds of errors for a damaged file
        what = "an Excel .xlsx workbook" if suffix in (".xlsx", ".xlsm") else "a text log (it is a ZIP archive)"
        raise DataError(
            f"cannot be read as {what}: {type(err).__name__}: {err}; save the log as .xlsx or CSV",
            source=name,
        ) from None
    notes: list[str] = []
    sheets = wb.worksheets
    if not sheets:
        raise DataError("the workbook has no worksheet; expected a sheet with the log", source=name)
    ws = next((s for s in sheets if s.title.strip().lower() in ("log", "data", "diary")), sheets[0])
    if len(sheets) > 1:
        notes.append(f"read worksheet '{ws.title}' (the workbook has {len(sheets)} sheets)")
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    while rows and all(is_blank_cell(c) for c in rows[-1]):
        rows.pop()
    records: list[Record] = []
    header: list[str] | None = None
    header_line = 0
    for i, cells in enumerate(rows, start=1):
        if header is None:
            rec = _classify_cells(i, cells)
            if rec.kind == "row":
                header = ["" if c is None else str(c) for c in cells]
                header_line = i
            else:
                records.append(rec)
            continue
        records.append(_classify_cells(i, cells))
    if header is None:
        raise DataError(f"worksheet '{ws.title}' is empty; expected a header row with 'date' and "
                        "outcome columns, then one row per day", source=name)
    return Table(name=name, header=header, header_line=header_line, records=records, notes=notes)


def _decode(raw: bytes, name: str, notes: list[str]) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError("looks like UTF-16 text but cannot be decoded; save the log as UTF-8 CSV",
                            source=name) from None
        notes.append("the file is UTF-16 text; read it as such")
        return text
    if b"\x00" in raw[:8192]:
        raise DataError("is a binary file, not a text log; expected a CSV/TSV text file or an .xlsx "
                        "workbook", source=name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        notes.append("the file is not UTF-8; read it as Latin-1 (Windows-1252): check accented "
                     "characters in notes, and save as UTF-8 next time")
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\t\r\n\f\v")
    if controls > max(8, len(text[:8192]) // 20):
        raise DataError("is a binary file (many control characters), not a text log; expected a "
                        "CSV/TSV text file or an .xlsx workbook", source=name)
    return text


def _read_text(raw: bytes, name: str, suffix: str) -> Table:
    notes: list[str] = []
    text = _decode(raw, name, notes).lstrip("\ufeff")
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    records: list[Record] = []
    sep: str | None = None
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        m = re.fullmatch(r"sep=(.)", s, flags=re.IGNORECASE)
        if not s:
            records.append(Record(i + 1, None, "blank", "blank line"))
        elif s.startswith("#"):
            records.append(Record(i + 1, None, "comment"))
        elif m and sep is None:
            sep = m.group(1)
            records.append(Record(i + 1, None, "comment", f"separator declaration 'sep={sep}'"))
        else:
            break
        i += 1
    if i >= len(lines):
        raise DataError("has no header line (only blank or comment lines); expected a header with "
                        "'date' and outcome columns, then one row per day", source=name)
    header_line = i + 1
    if sep is None:
        sep = _detect_separator(lines[i], suffix)
    header, n = _split_record(lines, i, sep)
    if header is None:
        raise DataError(f"line {header_line}: the header has an unbalanced quote (\"); expected "
                        "column names separated by commas", source=name)
    records.extend(_parse_records(lines, i + n, sep))
    if sep == ";":
        notes.append("columns are separated by ';' (a European-style export)")
    elif sep == "\t" and suffix not in (".tsv", ".tab"):
        notes.append("columns are separated by tabs")
    return Table(name=name, header=header, header_line=header_line, records=records, sep=sep,
                  notes=notes)


def _detect_separator(header_line: str, suffix: str) -> str:
    """The separator that splits the header into a ``date`` column and the most known columns."""
    preferred = "\t" if suffix in (".tsv", ".tab") else ","
    best: tuple[int, int, int, int] | None = None
    choice = preferred
    for sep in (",", ";", "\t", "|"):
        fields, _ = _split_record([header_line], 0, sep)
        if fields is None:
            continue
        names = [normalised_name(f) for f in fields]
        known = sum(1 for n in names if n in META_COLUMNS or n in INFO_COLUMNS)
        score = (int("date" in names), known, len(fields), int(sep == preferred))
        if best is None or score > best:
            best, choice = score, sep
    return choice


def _split_record(lines: list[str], i: int, sep: str) -> tuple[list[str] | None, int]:
    """Fields of the record starting at ``lines[i]`` (quotes may span lines) and lines used.

    Follows the usual CSV rules: a field that starts with ``"`` is quoted, ``""`` inside it is a
    quote, and it may hold separators and line breaks. Returns ``(None, 0)`` when a quote opened
    here is never closed.
    """
    first = lines[i]
    if '"' not in first:
        return first.split(sep), 1
    fields: list[str] = []
    cur: list[str] = []
    in_quotes = False
    j = i
    while j < len(lines):
        line = lines[j]
        k, n = 0, len(line)
        while k < n:
            ch = line[k]
            if in_quotes:
                if ch == '"':
                    if k + 1 < n and line[k + 1] == '"':
                        cur.append('"')
                        k += 2
                        continue
                    in_quotes = False
                else:
                    cur.append(ch)
                k += 1
                continue
            if ch == sep:
                fields.append("".join(cur))
                cur = []
            elif ch == '"' and not "".join(cur).strip():
                cur = []
                in_quotes = True
            else:
                cur.append(ch)
            k += 1
        if in_quotes:
            cur.append("\n")
            j += 1
            continue
        fields.append("".join(cur))
        return fields, j - i + 1
    return None, 0


def _parse_records(lines: list[str], start: int, sep: str) -> list[Record]:
    out: list[Record] = []
    i = start
    while i < len(lines):
        s = lines[i].strip()
        if not s:
            out.append(Record(i + 1, None, "blank", "blank line"))
            i += 1
            continue
        if s.startswith("#"):
            out.append(Record(i + 1, None, "comment"))
            i += 1
            continue
        fields, n = _split_record(lines, i, sep)
        if fields is None:
            out.append(Record(i + 1, None, "malformed",
                               'unbalanced quote: a field opened with " is never closed; the line '
                               "cannot be split into columns"))
            i += 1
            continue
        if all(not f.strip() for f in fields):
            out.append(Record(i + 1, None, "blank", "empty row (only separators)", n_lines=n))
        else:
            out.append(Record(i + 1, fields, n_lines=n))
        i += n
    return out
