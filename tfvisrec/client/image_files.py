"""Image files read by the client, checked by their leading bytes before they are sent.

The server decodes JPEG, PNG, GIF, BMP and WebP (`tf.io.decode_image`); any other file would
come back as an INVALID_ARGUMENT that does not say which of a request's images it was, so the
client refuses it first, naming the file. Only the magic numbers are read: no TensorFlow, no PIL.
"""
import os

from tfvisrec.client.status import NotAnImage

FORMATS = "JPEG, PNG, GIF, BMP or WebP"
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")


def is_image(data: bytes) -> bool:
    """True if `data` begins as a JPEG, PNG, GIF, BMP or WebP file does."""
    return data.startswith(_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def read_image(path) -> bytes:
    """The bytes of an image file; NotAnImage naming the file if it is none of `FORMATS`."""
    with open(path, "rb") as f:
        data = f.read()
    if not is_image(data):
        raise NotAnImage(f"{os.fspath(path)}: not a {FORMATS} file")
    return data
