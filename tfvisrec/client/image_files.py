"""Image files read by the client, checked before they are sent.

The server decodes JPEG, PNG, GIF, BMP and WebP (`tf.io.decode_image`); any other file would
come back as an INVALID_ARGUMENT that does not say which of a request's images it was, so the
client refuses it first, naming the file: by its leading bytes, then (JPEG, PNG, GIF, BMP: the
formats Pillow always reads) by decoding it whole with Pillow, so a file cut short or damaged
is named too, not answered by the server as 'jpeg::Uncompress failed' for the request, with
libjpeg's own line on the server's stderr. No TensorFlow.
"""
import io
import os

from tfvisrec.client.status import NotAnImage

FORMATS = "JPEG, PNG, GIF, BMP or WebP"
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")


def is_image(data: bytes) -> bool:
    """True if `data` begins as a JPEG, PNG, GIF, BMP or WebP file does."""
    return data.startswith(_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def decodes_whole(data: bytes) -> bool:
    """False if `data` begins as a JPEG, PNG, GIF or BMP file but Pillow cannot decode it whole
    (cut short, damaged); True otherwise. WebP (Pillow may be built without it) and a photo
    larger than Pillow's decompression-bomb limit are left to the server."""
    if not data.startswith(_MAGIC):
        return True
    import warnings
    from PIL import Image   # here: the client's other calls do not load Pillow
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.draft("RGB", (1, 1))   # a JPEG at 1/8 scale: all its data is still read
                image.load()
    except Image.DecompressionBombError:
        return True
    except (OSError, SyntaxError, ValueError):
        return False
    return True


def read_image(path) -> bytes:
    """The bytes of an image file; NotAnImage naming the file if it is none of `FORMATS`, or
    one that does not decode."""
    with open(path, "rb") as f:
        data = f.read()
    if not is_image(data):
        raise NotAnImage(f"{os.fspath(path)}: not a {FORMATS} file")
    if not decodes_whole(data):
        raise NotAnImage(f"{os.fspath(path)}: cannot be decoded as an image: the file is cut short or damaged")
    return data
