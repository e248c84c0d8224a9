"""The one exception bad input raises, with the file and row it concerns."""


class DataError(ValueError):
    """Bad input data: the message names the file (and row, where there is one).

    The CLIs catch it, print `error: <message>` and exit with status 2, having left
    nothing half-written behind.
    """

    def __init__(self, message, path=None, row=None):
        where = ""
        if path is not None:
            where = f"{path}"
            if row is not None:
                where += f", row {row}"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.row = row
