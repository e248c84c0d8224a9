"""The one exception bad input raises, with the file and row it concerns."""


class DataError(ValueError):
    """Bad input data: the message names the file (and row, where there is one).

    `row` is a row of a text (CSV) file as an editor numbers its lines: 1-based, the header
    being row 1, which the message says. The CLIs catch it, print `error: <message>` and
    exit with status 2, having left nothing half-written behind.
    """

    def __init__(self, message, path=None, row=None):
        where = ""
        if path is not None:
            where = f"{path}"
            if row is not None:
                where += f", row {row}" + (" (the header)" if row == 1 else
                                           " (the header is row 1)")
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.row = row
