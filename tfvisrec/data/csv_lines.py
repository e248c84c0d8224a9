"""A CSV file → its header and records, each record with the row it starts on.

Rows are the file's lines as a text editor numbers them: the header is row 1, blank lines
and lines of empty cells (`,,`, which a spreadsheet writes for rows it once formatted) keep
their numbers (and are skipped), and a record whose quoted value spans several lines
is at the row it starts on. (pandas renumbers records past blank lines, so its indices
cannot name rows.) Every failure is a DataError naming the row and the offending text.
"""
import codecs
import csv
import io
import os
import shlex
from typing import List, Tuple

from tfvisrec.data.errors import DataError

HEADER_ROW = 1
_SHOWN_CHARS = 80  # of a row quoted in a message


def read_records(path: str, what: str) -> Tuple[List[str], List[List[str]], List[int]]:
    """(header names, records, row of each record); records shorter than the header are
    padded with "" (missing trailing cells are unknown), longer ones are an error."""
    text = _decode(path, what)
    has_nul = "\x00" in text
    if has_nul and text.count("\x00") * 3 >= len(text):   # one every other character
        raise DataError(f"the {what} file holds a NUL character (\\x00) every other character: it "
                        "is UTF-16 text without a byte-order mark; save it as UTF-8", path)
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True, strict=True)
    header, records, rows = None, [], []
    next_row = 1
    try:
        for record in reader:
            row, next_row = next_row, reader.line_num + 1
            if has_nul:
                _refuse_nul(record, header, path, row)
            if not any(cell.strip() for cell in record):
                continue  # a blank line, or one of separators only (",,", as spreadsheets leave)
            if header is None:
                if row != HEADER_ROW:
                    raise DataError(f"the first line of the {what} file is blank; it must "
                                    "be the header naming the columns", path, HEADER_ROW)
                header = _column_names(record)
                continue
            if len(record) > len(header):
                raise DataError(f"{len(record)} values but the header has {len(header)} "
                                f"columns: {_shown(text, row)!r}", path, row)
            if len(record) < len(header):
                record = record + [""] * (len(header) - len(record))
            records.append(record)
            rows.append(row)
    except csv.Error as e:
        raise DataError(f"cannot parse the {what} file as CSV ({e}): the quoted value "
                        f"opened here is not closed properly: {_shown(text, next_row)!r}",
                        path, next_row) from None
    if header is None:
        raise DataError(f"{what} file is empty: expected a header row naming its columns", path)
    return header, records, rows


def _decode(path: str, what: str) -> str:
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_utf16(data, path, what)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        row = data.count(b"\n", 0, e.start) + 1
        start = data.rfind(b"\n", 0, e.start) + 1
        end = data.find(b"\n", e.start)
        line = data[start:end if end >= 0 else len(data)].rstrip(b"\r")
        raise DataError(f"the {what} file is not UTF-8 text: byte {data[e.start:e.end]!r} at "
                        f"character {e.start - start + 1} of {line[:_SHOWN_CHARS]!r}; "
                        f"{_utf8_fix(path)}", path, row) from None


def _utf8_fix(path: str) -> str:
    """How to convert `path` to UTF-8. The encoding is not guessed: Latin-1, Windows-1252 and
    others read the same bytes as different letters, so a guess could change names silently."""
    root, ext = os.path.splitext(path)
    return ("save it as UTF-8 (Excel: \"CSV UTF-8\"; a Windows-1252 or Latin-1 export: "
            f"iconv -f cp1252 -t utf-8 {shlex.quote(path)} > {shlex.quote(root + '.utf8' + ext)})")


def _refuse_nul(record: List[str], header, path: str, row: int) -> None:
    """DataError naming the column of the first NUL character (\\x00) in `record` (of `row`;
    `header`: the column names, None while reading the header): not text, and an id holding one
    does not round-trip (NumPy's string arrays drop it at a value's end, a command line cannot
    pass it), so a SavedModel lookup of it may never match."""
    for k, cell in enumerate(record):
        if "\x00" in cell:
            column = "the header" if header is None else (
                f"column {header[k]!r}" if k < len(header) else f"column {k + 1}")
            raise DataError(f"{column} holds a NUL character (\\x00) in {cell!r}: values "
                            "cannot hold one (an id with one would not match when asked "
                            "for); remove it", path, row)


def _decode_utf16(data: bytes, path: str, what: str) -> str:
    """A file that opens with a UTF-16 byte-order mark (PowerShell's `>`, Excel's "Unicode
    Text") is read as UTF-16."""
    try:
        return data.decode("utf-16")
    except UnicodeDecodeError as e:
        row = data[:e.start].decode("utf-16", errors="replace").count("\n") + 1
        raise DataError(f"the {what} file opens with a UTF-16 byte-order mark but is not UTF-16 "
                        f"text ({e.reason}): save it as UTF-8", path, row) from None


def _column_names(record: List[str]) -> List[str]:
    """Stripped header names; unnamed columns get a name, repeated ones `.1`, `.2` (as pandas)."""
    names, seen = [], {}
    for k, name in enumerate(record):
        name = name.strip() or f"unnamed: {k}"
        base, n = name, seen.get(name, 0)
        while name in seen:
            n += 1
            name = f"{base}.{n}"
        seen[base] = n
        seen[name] = 0
        names.append(name)
    return names


def _shown(text: str, row: int) -> str:
    """Line `row` of `text`, cut to a readable length."""
    line = text.split("\n", row)[row - 1] if row >= 1 else ""
    line = line.rstrip("\r")
    return line if len(line) <= _SHOWN_CHARS else line[:_SHOWN_CHARS] + "…"
