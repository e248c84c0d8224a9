"""Read and validate the canonical CSVs: `interactions.csv` and `items.csv`.

Every value is read as a string (H&M article ids have leading zeros); an empty cell means
"unknown". Row numbers in error messages are the file's line numbers, the header being
row 1 (see `csv_lines`), so "row 7" is the sixth record of a file without blank lines.
"""
import dataclasses
import os
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd

from tfvisrec.data import schema
from tfvisrec.data.csv_lines import HEADER_ROW, read_records
from tfvisrec.data.errors import DataError
from tfvisrec.data.numeric_dates import numeric_date_problem

# Unix seconds a datetime64[ns] holds (years 1677..2262), the range of the ISO dates too.
MAX_UNIX_SECONDS = (2 ** 63 - 1) // 10 ** 9
ISO_EXAMPLES = "ISO dates/datetimes such as 2020-09-22 or 2020-09-22T13:45:00"
# Columns of items.csv that hold free text: kept out of the label arrays (see texts.json).
TEXT_COLUMNS = ("text", "title", "description")


@dataclasses.dataclass
class Interactions:
    """(user, item, time) records of one file, one row per record, ids as raw strings.

    `frame` has columns user_id, item_id (str), time (int64 unix seconds, NO_TIME when the
    file has no timestamp column) and row (the record's row number in `path`).
    """

    path: str
    frame: pd.DataFrame
    has_time: bool


@dataclasses.dataclass
class ItemTable:
    """What an item file says about each item, ids as raw strings.

    `frame` has columns item_id, row, image (path/member name, "" = none), category,
    text and one column per name in `attribute_names`; "" = unknown everywhere.
    `category_name` is the source column of `category` ("" when there is none).
    """

    path: str
    frame: pd.DataFrame
    category_name: str
    attribute_names: List[str]
    has_text: bool


def require_file(path: str, what: str) -> str:
    """`path` made absolute; DataError when it is not an existing file."""
    if not path:
        raise DataError(f"no {what} file given")
    if not os.path.exists(path):
        raise DataError(f"{what} file does not exist", path)
    if not os.path.isfile(path):
        raise DataError(f"{what} path is not a file", path)
    return os.path.abspath(path)


def read_csv(path: str, what: str, required: Sequence[str],
             non_empty: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """A CSV as strings with a `row` column; DataError for unreadable files, missing columns
    or empty cells in the `non_empty` columns (default: all `required` columns)."""
    path = require_file(path, what)
    header, records, rows = read_records(path, what)
    columns = list(zip(*records)) if records else [()] * len(header)
    frame = pd.DataFrame({name: pd.Series(values, dtype=object)
                          for name, values in zip(header, columns)})
    for column in required:
        if column not in frame.columns:
            raise DataError(f"missing column {column!r} (the header has: "
                            f"{', '.join(frame.columns)}){_case_hint(column, header)}"
                            f"{_separator_hint(header)}", path, HEADER_ROW)
    if "row" in frame.columns:
        frame = frame.rename(columns={"row": "row_"})
    frame["row"] = np.asarray(rows, dtype=np.int64)
    for column in required:
        frame[column] = frame[column].str.strip()
    for column in required if non_empty is None else non_empty:
        empty = frame[column] == ""
        if empty.any():
            raise DataError(f"empty {column!r}", path, int(frame["row"][empty].iloc[0]))
    return frame


def _case_hint(column: str, header: Sequence[str]) -> str:
    """When the header has `column` in other letter case (`User_ID`), says to rename it, else "".
    Names are not matched case-insensitively: `Category` and `category` may be two columns."""
    same = _in_other_case(column, header)
    return f"; column names are case-sensitive: rename {same!r} to {column!r}" if same else ""


def refuse_other_case(columns: Sequence[str], optional: Sequence[str], path: str) -> None:
    """DataError when an `optional` column is absent but the header has it in other letter
    case (`Timestamp`): read as another column it would be dropped without a word (the times
    ignored, the category kept as a mere attribute)."""
    for name in optional:
        if not name or name in columns:
            continue
        same = _in_other_case(name, columns)
        if same:
            raise DataError(f"column {same!r} would not be read as {name!r} (column names are "
                            f"case-sensitive): rename it to {name!r}", path, HEADER_ROW)


def _in_other_case(name: str, header: Sequence[str]) -> Optional[str]:
    """The first column of `header` that is `name` in other letter case, else None."""
    return next((column for column in header if column.casefold() == name.casefold()), None)


def _separator_hint(header: Sequence[str]) -> str:
    """What to do when the header is one column holding another separator (a spreadsheet
    saved with `;` or tabs), else ""."""
    if len(header) == 1:
        for separator in (";", "\t", "|"):
            if separator in header[0]:
                return f"; its columns are separated by {separator!r}: save the file comma-separated"
    return ""


def refuse_line_breaks(frame: pd.DataFrame, column: str, path: str) -> None:
    """DataError naming the first id of `column` with a line break inside (a quoted value
    spanning lines): the dataset folder keeps its ids one a line (users.txt, items.txt)."""
    broken = frame[column].str.contains("[\r\n]", regex=True)
    if broken.any():
        k = int(np.flatnonzero(broken.to_numpy())[0])
        raise DataError(f"{column} {frame[column].iloc[k]!r} has a line break inside; ids must "
                        "be on one line", path, int(frame["row"].iloc[k]))


def parse_times(values: pd.Series, rows: pd.Series, path: str, column: str) -> np.ndarray:
    """Timestamps (unix seconds, or ISO dates/datetimes) → int64 unix seconds.

    A column holds one format: unix seconds when most of its values are numbers, ISO dates
    otherwise. The first value that is not of the column's format names its row.
    """
    values = values.str.strip().to_numpy(dtype=object)
    rows = np.asarray(rows)
    empty = values == ""
    if empty.any():
        raise DataError(f"empty {column!r}", path, int(rows[empty][0]))
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(np.float64)
    is_number = np.isfinite(numbers) & (np.abs(numbers) <= MAX_UNIX_SECONDS)
    dates = pd.to_datetime(pd.Series(values[~is_number]), errors="coerce", utc=True,
                           format="ISO8601")
    is_date = np.zeros(len(values), bool)
    is_date[~is_number] = dates.notna().to_numpy()
    if not (is_number.any() or is_date.any()):
        expected, wrong = f"unix seconds or {ISO_EXAMPLES}", ~is_number
    elif is_number.sum() >= is_date.sum():
        expected, wrong = "unix seconds", ~is_number
    else:
        expected, wrong = ISO_EXAMPLES, ~is_date
    if wrong.any():
        k = int(np.flatnonzero(wrong)[0])
        fitting = len(values) - int(wrong.sum())
        like_the_rest = f", as {fitting} of the column's {len(values)} values are" if fitting else ""
        why, fix = _why_not(numbers[k], is_date[k]), ""
        day_or_month_first = (numeric_date_problem(values, k, path, column, whole_column=not fitting)
                              if expected != "unix seconds" else None)
        if day_or_month_first:
            why, fix = day_or_month_first[0], f"; {day_or_month_first[1]}"
        raise DataError(f"invalid {column!r} {values[k]!r}: {why}; "
                        f"expected {expected}{like_the_rest}{fix}", path, int(rows[k]))
    if expected == "unix seconds":
        return np.floor(numbers).astype(np.int64)
    epoch = pd.Timestamp("1970-01-01", tz="UTC")  # every value is a date, so `dates` has them all
    return ((dates - epoch) // pd.Timedelta(seconds=1)).to_numpy(np.int64)


def _why_not(number: float, is_date: bool) -> str:
    if is_date:
        return "a date in a column of unix seconds"
    if not np.isfinite(number):
        return "neither a finite number nor an ISO date"
    if abs(number) <= MAX_UNIX_SECONDS:
        return "a number in a column of dates"
    # Milliseconds are not converted: a column of seconds with one typo would be read as them.
    hint = " (milliseconds? divide the column by 1000)" if abs(number) <= MAX_UNIX_SECONDS * 1000 else ""
    return f"beyond the unix seconds of years 1677..2262{hint}"


def read_interactions(path: str, user_column: str = "user_id", item_column: str = "item_id",
                      time_column: str = "timestamp") -> Interactions:
    """`interactions.csv` (user_id, item_id[, timestamp]) → Interactions, one row per record."""
    frame = read_csv(path, "interactions", (user_column, item_column))
    path = os.path.abspath(path)
    refuse_other_case(list(frame.columns), [time_column], path)
    for column in (user_column, item_column):
        refuse_line_breaks(frame, column, path)
    has_time = time_column in frame.columns
    if has_time:
        times = parse_times(frame[time_column], frame["row"], path, time_column)
    else:
        times = np.full(len(frame), schema.NO_TIME, np.int64)
    out = pd.DataFrame({"user_id": frame[user_column].to_numpy(),
                        "item_id": frame[item_column].to_numpy(),
                        "time": times, "row": frame["row"].to_numpy()})
    return Interactions(path=path, frame=out, has_time=has_time)


def read_items(path: str, id_column: str = "item_id", image_column: Optional[str] = "image",
               category_column: Optional[str] = "category",
               attribute_columns: Optional[Sequence[str]] = None,
               text_columns: Sequence[str] = TEXT_COLUMNS) -> ItemTable:
    """`items.csv` → ItemTable.

    `attribute_columns=None` takes every column that is not the id, image, category or a
    text column. A `category_column` absent from the file means "no categories"; listed
    `attribute_columns` must exist. Text columns present are joined into one text per item.
    """
    required = [id_column] + ([image_column] if image_column else [])
    required += list(attribute_columns or [])
    frame = read_csv(path, "items", required, non_empty=[id_column])
    path = os.path.abspath(path)
    refuse_other_case(list(frame.columns), [category_column, *text_columns], path)
    refuse_line_breaks(frame, id_column, path)
    duplicated = frame[id_column].duplicated(keep="first")
    if duplicated.any():
        dup_id = frame[id_column][duplicated].iloc[0]
        rows = frame["row"][frame[id_column] == dup_id].tolist()
        raise DataError(f"duplicate {id_column} {dup_id!r} (rows {rows[0]} and {rows[1]})",
                        path, int(rows[1]))
    texts = [c for c in text_columns if c in frame.columns]
    if category_column and category_column not in frame.columns:
        category_column = None
    if attribute_columns is None:
        taken = {id_column, image_column, category_column, "row", *texts}
        attribute_columns = [c for c in frame.columns if c not in taken]
    else:   # the category may also be an attribute (the H&M catalogue's product type is both)
        reserved = sorted(set(attribute_columns) & ({id_column, image_column, "row", *texts} - {None}))
        if reserved:
            raise DataError(f"column {reserved[0]!r} cannot be an attribute: it is the file's id, "
                            f"image or text column", path)
    out = pd.DataFrame({
        "item_id": frame[id_column].to_numpy(),
        "row": frame["row"].to_numpy(),
        "image": frame[image_column].str.strip().to_numpy() if image_column else "",
        "category": frame[category_column].str.strip().to_numpy() if category_column else "",
        "text": _join_texts(frame, texts),
    })
    for name in attribute_columns:
        out[attribute_column(name)] = frame[name].str.strip().to_numpy()
    return ItemTable(path=path, frame=out, category_name=category_column or "",
                     attribute_names=list(attribute_columns), has_text=bool(texts))


def attribute_column(name: str) -> str:
    """The ItemTable.frame column that holds attribute `name`."""
    return f"attribute:{name}"


def _join_texts(frame, columns):
    if not columns or frame.empty:
        return ""
    parts = frame[list(columns)].apply(lambda col: col.str.strip())
    return parts.apply(lambda r: ". ".join(v for v in r if v), axis=1).to_numpy()
