"""A photo file a command line names (explain --image, design --tailor): read and checked whole
before any model loads, so a bad one costs one error line, not the seconds a model takes."""
import os

from tfvisrec.data.errors import DataError
from tfvisrec.data.images import verify_photo


def read_photo(path: str) -> bytes:
    """The bytes of the photo at `path`; DataError naming it unless it is a JPEG or PNG file
    that decodes whole (`images.verify_photo`)."""
    if os.path.isdir(path):
        raise DataError("is a folder, not an image file: give one JPEG or PNG photo", path)
    if not os.path.isfile(path):
        raise DataError("no such image file", path)
    if os.path.getsize(path) == 0:
        raise DataError("is empty (0 bytes), not a JPEG or PNG photo", path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:   # not readable by this user
        raise DataError(f"cannot be read: {err.strerror or err}", path) from None
    if not data.startswith((b"\xff\xd8", b"\x89PNG")):
        raise DataError("not a JPEG or PNG file", path)
    try:
        verify_photo(data)
    except ValueError:
        raise DataError("cannot be decoded as an image: the file is cut short or damaged", path) from None
    return data
