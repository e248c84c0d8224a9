"""What ingest says about dates written with the day or month first (31/12/2020, 12/31/2020,
31.12.2020): which order they are in, and how to write them as the ISO dates it reads.

They are never parsed: 01/02/2020 is the 1st of February day-first and January 2nd month-first,
and a column whose every day is 12 or less does not say which. Only a value with a part above
12 tells; a column of such dates gets the conversion command with its order, an ambiguous one
is left to the user, who knows where the file came from.
"""
import json
import os
import re
import shlex
from typing import Optional, Sequence, Tuple

NUMERIC_DATE = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4})(?:([ T])(\d{1,2}:\d{2}(:\d{2})?))?$")
DAY_FIRST, MONTH_FIRST = "day-first", "month-first"


def numeric_date_problem(values: Sequence[str], k: int, path: str,
                         column: str, whole_column: bool) -> Optional[Tuple[str, str]]:
    """(why `values[k]` is not read, how to fix it) when it is a day- or month-first date, else
    None. `whole_column`: no value of the column is read (then the fix converts the column)."""
    match = NUMERIC_DATE.match(values[k])
    if match is None:
        return None
    order = _order([values[k]]) if not whole_column else _order(values)
    if not whole_column:
        if order is None:
            return ("a date that may be day-first or month-first, not guessed",
                    "write it as an ISO date (YYYY-MM-DD)")
        return f"a {order} date", f"write it as {_iso(match, order)}"
    if order is None:
        return ("a date that may be day-first or month-first (the column's values do not "
                "tell which: none has a part above 12, or they disagree), not guessed",
                "write the dates as ISO dates from where they were exported, or, knowing the "
                f"order, convert the column: {_command(match, DAY_FIRST, path, column)} "
                "(that is day-first; month-first: the same with %m/%d/%Y)")
    return (f"a {order} date, as the column's are",
            f"convert the column to ISO dates: {_command(match, order, path, column)}")


def _order(values: Sequence[str]) -> Optional[str]:
    """DAY_FIRST or MONTH_FIRST when some of `values` (those that are numeric dates) has a
    first or a second part above 12 and none has the other; None otherwise."""
    matches = [m for m in map(NUMERIC_DATE.match, values) if m]
    first = any(int(m.group(1)) > 12 for m in matches)
    second = any(int(m.group(3)) > 12 for m in matches)
    if first != second:
        return DAY_FIRST if first else MONTH_FIRST
    return None


def _iso(match: re.Match, order: str) -> str:
    """The ISO form of one matched date (and its time)."""
    first, second, year = int(match.group(1)), int(match.group(3)), match.group(4)
    day, month = (first, second) if order == DAY_FIRST else (second, first)
    time = f" {match.group(6)}" if match.group(6) else ""
    return f"{year}-{month:02d}-{day:02d}{time}"


def _command(match: re.Match, order: str, path: str, column: str) -> str:
    """A shell command writing a copy of the CSV `path` beside it with `column` in ISO form."""
    sep = match.group(2)
    source = f"%d{sep}%m{sep}%Y" if order == DAY_FIRST else f"%m{sep}%d{sep}%Y"
    target = "%Y-%m-%d"
    if match.group(6):
        seconds = ":%S" if match.group(7) else ""
        source += f"{match.group(5)}%H:%M{seconds}"
        target += f" %H:%M{seconds}"
    root, ext = os.path.splitext(path)
    out = root + ".iso" + ext
    code = (f"import pandas as pd; f = pd.read_csv({json.dumps(path)}, dtype=str, keep_default_na=False); "
            f"f[{json.dumps(column)}] = pd.to_datetime(f[{json.dumps(column)}], format={json.dumps(source)})"
            f".dt.strftime({json.dumps(target)}); f.to_csv({json.dumps(out)}, index=False)")
    return f"python -c {shlex.quote(code)}"
