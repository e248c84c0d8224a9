"""EXIF orientation in TensorFlow ops, against Pillow's `ImageOps.exif_transpose` (what ingest
applies): a phone photo sent to a served model is turned as the catalogue's photos were."""
import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageOps

import tfvisrec  # noqa: F401
import tensorflow as tf

from tfvisrec.data import exif_orientation, images
from tfvisrec.data.image_reader import to_jpeg

# 5 × 8 blocks of 8 px: every one of the 8 orientations gives another array
PIXELS = np.kron(np.random.default_rng(0).integers(0, 256, (5, 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)


def _encoded(fmt: str, orientation=None, exif: bytes = None) -> bytes:
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
    out = io.BytesIO()
    Image.fromarray(PIXELS).save(out, format=fmt, quality=95, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def _tiff(orientation: int, little_endian: bool) -> bytes:
    """A TIFF header and an IFD0 of two entries, the orientation second."""
    order = "<" if little_endian else ">"
    entries = struct.pack(order + "HHIHH", 0x010F, 2, 1, 0, 0) + struct.pack(order + "HHIHH", 0x0112, 3, 1, orientation, 0)
    return (b"II" if little_endian else b"MM") + struct.pack(order + "HI", 42, 8) + struct.pack(order + "H", 2) \
        + entries + struct.pack(order + "I", 0)


def _app1_first(jpeg: bytes, tiff: bytes) -> bytes:
    """A JPEG whose first segment is APP1 with EXIF (as phones write), JFIF's APP0 dropped."""
    assert jpeg[2:4] == b"\xff\xe0"
    rest = jpeg[4 + int.from_bytes(jpeg[4:6], "big"):]
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xd8\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + rest


@pytest.mark.parametrize("orientation", range(1, 9))
def test_each_orientation_is_turned_as_pillow_turns_it(orientation):
    png = _encoded("PNG", orientation)   # eXIf chunk, lossless: the pixels compare exactly
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(png))))
    decoded = tf.io.decode_image(png, channels=3)
    np.testing.assert_array_equal(exif_orientation.upright(decoded, tf.constant(png)).numpy(), expected)
    jpeg = _encoded("JPEG", orientation)   # Pillow: JFIF's APP0, then APP1, big-endian TIFF
    assert int(exif_orientation.orientation(tf.constant(jpeg))) == orientation


@pytest.mark.parametrize("little_endian", [True, False])
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_phones_jpeg_with_exif_first_in_either_byte_order(orientation, little_endian):
    jpeg = _app1_first(_encoded("JPEG"), _tiff(orientation, little_endian))
    assert Image.open(io.BytesIO(jpeg)).getexif().get(0x0112) == orientation   # Pillow reads it too
    assert int(exif_orientation.orientation(tf.constant(jpeg))) == orientation


@pytest.mark.parametrize("data", [
    b"", b"\xff\xd8", b"\xff\xd8\xff\xe1\x00\x08Exif",                  # cut short
    b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00XX\x00\x2a\x00\x00\x00\x08",   # no byte order
    b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00II\x2a\x00\xff\xff\xff\x7f",   # IFD0 far past the end
    _app1_first(_encoded("JPEG"), _tiff(9, True)),                     # no such orientation
    _encoded("JPEG"), _encoded("PNG")])                                # no EXIF at all
def test_absent_or_malformed_exif_reads_as_upright_and_never_fails(data):
    assert int(exif_orientation.orientation(tf.constant(data))) == 1


def test_a_served_photo_decodes_as_ingest_stored_it():
    """decode_to_uint8 (every serving signature's decode) of a phone photo, EXIF orientation 6,
    against the same photo turned and stored by ingest (Pillow), through the same decode."""
    phone = _app1_first(_encoded("JPEG"), _tiff(6, little_endian=True))
    stored = to_jpeg(phone)
    assert Image.open(io.BytesIO(stored)).size == (40, 64)   # turned: portrait
    served = images.decode_to_uint8(tf.constant(phone), 32).numpy().astype(int)
    catalogue = images.decode_to_uint8(tf.constant(stored), 32).numpy().astype(int)
    assert np.abs(served - catalogue).mean() < 3   # two JPEG encodings of one picture
    sideways = images.decode_to_uint8(tf.constant(_encoded("JPEG")), 32).numpy().astype(int)
    assert np.abs(sideways - catalogue).mean() > 20   # what ignoring EXIF gave
