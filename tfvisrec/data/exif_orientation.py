"""A photo's EXIF orientation, read and applied in TensorFlow ops (so inside a SavedModel).

A camera held upright stores its pixels sideways with an EXIF orientation tag (0x0112) that
viewers apply and TensorFlow's decoders ignore. Ingest stores such photos turned
(`image_reader.to_jpeg`, Pillow's `ImageOps.exif_transpose`); a photo sent to a served model
(`score_images`, `explain_images`, `tailor`, …) is turned here the same way, before it is
resized. Malformed or absent EXIF reads as orientation 1 (as stored): this never fails.

Layout read (EXIF 2.3 §4.5-4.6; PNG 1.5's eXIf chunk): "Exif\\0\\0" (JPEG) or the chunk
type "eXIf" (PNG), then a TIFF header (byte order "II" little- or
"MM" big-endian, 42, the offset of IFD0), then IFD0: a 16-bit entry count and 12-byte
entries (tag, type, count, value); the orientation is a SHORT in its entry's value field.
"""
import tensorflow as tf

ORIENTATION_TAG = 0x0112
# Where cameras, phones and Pillow put EXIF: JPEG's APP1 segment first ("Exif\0\0" at byte 6)
# or after JFIF's usual 16-byte APP0 segment (at byte 24); PNG's eXIf chunk right after IHDR
# (its type at byte 37). The TIFF structure follows "Exif\0\0" or "eXIf".
_PLACES, _MARKERS, _TIFF_OFFSETS = [6, 24, 37], [b"Exif", b"Exif", b"eXIf"], [6, 6, 4]
_TIFF_BYTES = 1024
_MAX_ENTRIES = 64   # IFD0 of a camera holds ~10-30 entries


def upright(image, encoded):
    """Decoded [H, W, C] → as a viewer shows it, by the EXIF orientation of its `encoded` bytes.

    Three places in the first bytes are compared (a few small ops a photo: bench/image_decoding.py);
    only a photo with EXIF there is parsed and turned."""
    places = _exif_places(encoded)
    return tf.cond(tf.reduce_any(places), lambda: turned(image, _orientation_at(encoded, places)),
                   lambda: image)


def orientation(encoded):
    """Encoded image bytes (scalar string) → int32 EXIF orientation 1..8 (1: upright as stored,
    and for malformed or absent EXIF: this never fails)."""
    places = _exif_places(encoded)
    return tf.cond(tf.reduce_any(places), lambda: _orientation_at(encoded, places),
                   lambda: tf.constant(1, tf.int32))


def _exif_places(encoded):
    head = tf.strings.substr(encoded, 0, 64) + b"\0" * 64   # at least 64 bytes: no place past the end
    return tf.equal(tf.strings.substr(tf.fill([len(_PLACES)], head), _PLACES, [4] * len(_PLACES)), _MARKERS)


def _orientation_at(encoded, found):
    first = tf.argmax(tf.cast(found, tf.int32), output_type=tf.int32)
    return _orientation_in_tiff(encoded, tf.gather(tf.constant(_PLACES) + _TIFF_OFFSETS, first))


def _orientation_in_tiff(encoded, start):
    tiff = tf.strings.substr(encoded, tf.minimum(start, tf.strings.length(encoded)), _TIFF_BYTES)
    data = tf.cast(tf.io.decode_raw(tiff + b"\0" * 8, tf.uint8), tf.int32)   # never empty
    size = tf.size(data)
    little = tf.equal(data[0], ord("I")) & tf.equal(data[1], ord("I"))
    big = tf.equal(data[0], ord("M")) & tf.equal(data[1], ord("M"))

    def u16(at):   # out-of-range reads give 0, never an error
        at = tf.clip_by_value(at, -2, size)
        pair = tf.gather(tf.pad(data, [[2, 2]]), tf.stack([at + 2, at + 3], -1))
        return tf.where(little, pair[..., 0] + 256 * pair[..., 1], 256 * pair[..., 0] + pair[..., 1])

    ifd = tf.where(little, u16(4) + 65536 * u16(6), 65536 * u16(4) + u16(6))
    entries = ifd + 2 + 12 * tf.range(tf.minimum(u16(ifd), _MAX_ENTRIES))
    found = tf.equal(u16(entries), ORIENTATION_TAG)
    value = tf.reduce_max(tf.where(found, u16(entries + 8), 0))   # a SHORT is left-justified in its field
    valid = (little | big) & tf.equal(u16(2), 42) & (value >= 1) & (value <= 8)
    return tf.where(valid, value, 1)


# orientation → (transpose, flip rows, flip columns) after the transpose
_STEPS = [[0, 0, 0], [0, 0, 1], [0, 1, 1], [0, 1, 0], [1, 0, 0], [1, 0, 1], [1, 1, 1], [1, 1, 0]]


def turned(image, exif_orientation):
    """[H, W, C] as stored → as a viewer shows it (Pillow's `ImageOps.exif_transpose`): 2 mirrored,
    3 turned 180°, 4 mirrored upside down, 5 transposed, 6 turned 90° clockwise, 7 transversed,
    8 turned 90° anticlockwise."""
    steps = tf.gather(tf.constant(_STEPS) > 0, tf.clip_by_value(exif_orientation, 1, 8) - 1)
    transpose, flip_rows, flip_columns = tf.unstack(steps)
    image = tf.transpose(image, tf.where(transpose, [1, 0, 2], [0, 1, 2]))
    return tf.reverse(image, tf.boolean_mask([0, 1], tf.stack([flip_rows, flip_columns])))
