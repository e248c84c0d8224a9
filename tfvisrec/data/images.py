"""Image decoding shared by training pipelines and serving signatures (same graph ops in both).

Images keep their aspect ratio: they are resized to fit a square and padded, then scaled to
[-1, 1]. The in-memory cache holds the uint8 result of `decode_to_uint8`.
"""
import tensorflow as tf

from tfvisrec.data import exif_orientation, image_reader
from tfvisrec.map_fn import map_fn


def decode_to_uint8(jpeg_bytes, image_size: int):
    """JPEG/PNG bytes (scalar string) → uint8 [image_size, image_size, 3], aspect kept by padding,
    turned as its EXIF orientation says (as ingest stores a photo: a served model's photo from a
    phone held upright is not scored sideways)."""
    image = exif_orientation.upright(_decode_on_white(jpeg_bytes), jpeg_bytes)
    image = tf.image.resize_with_pad(_widen_thin_side(image, image_size), image_size, image_size, antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)


def _decode_on_white(encoded):
    """Encoded image bytes → float32 RGB [H, W, 3] in 0..255, transparent pixels composited on
    white as ingest stores a photo with alpha (`image_reader.to_jpeg`): a PNG cut-out sent to a
    served model looks as it did in the catalogue, not on black. Opaque RGB as decoded."""
    image = tf.io.decode_image(encoded, expand_animations=False)   # 1 to 4 channels, as stored
    channels = tf.shape(image)[-1]
    # a branch, not arithmetic on every photo: compositing all of them tripled the decode time
    rgb = tf.cond(tf.equal(channels, 3), lambda: tf.cast(image, tf.float32),
                  lambda: _grey_or_alpha_to_rgb_on_white(image, channels))
    rgb.set_shape([None, None, 3])
    return rgb


def _grey_or_alpha_to_rgb_on_white(image, channels):
    has_alpha = tf.equal(channels % 2, 0)                            # grey + alpha, RGBA
    colour = image[..., :channels - tf.cast(has_alpha, tf.int32)]
    rgb = tf.cast(tf.tile(colour, [1, 1, 3 // tf.shape(colour)[-1]]), tf.float32)
    opacity = tf.where(has_alpha, tf.cast(image[..., channels - 1:], tf.float32) / 255.0, 1.0)
    return rgb * opacity + 255.0 * (1.0 - opacity)


def _widen_thin_side(image, image_size: int):
    """An image whose short side would shrink below one pixel (a 3000 × 2 banner at 64 px),
    on which resize_with_pad fails ("output dimensions must be positive"), stretched (nearest
    neighbour, its colours kept) to the short side that shrinks to one pixel. Others are
    passed through untouched."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    short_min = (tf.maximum(height, width) + image_size - 1) // image_size
    return tf.cond(tf.minimum(height, width) < short_min,
                   lambda: tf.image.resize(image, [tf.maximum(height, short_min), tf.maximum(width, short_min)],
                                           method="nearest"),
                   lambda: image)


def verify_photo(encoded: bytes) -> None:
    """ValueError saying why, unless a photo's bytes decode whole here (a photo named on a command
    line, checked before any model loads). Pillow looks first: for a cut or damaged JPEG,
    TensorFlow's libjpeg writes its own complaint straight to file descriptor 2 ("Improper call
    to JPEG library in state 201"), above the command's one error line; Pillow's says nothing.
    TensorFlow then decodes what Pillow read (a TIFF it does not)."""
    image_reader.verify_decodes(encoded)
    try:
        tf.io.decode_image(encoded, expand_animations=False)
    except tf.errors.InvalidArgumentError:
        raise ValueError("not an image format TensorFlow decodes") from None


def normalise(uint8_images):
    """uint8 images → float32 in [-1, 1] (what every backbone consumes)."""
    return tf.cast(uint8_images, tf.float32) / 127.5 - 1.0


def decode_batch(jpeg_bytes, image_size: int):
    """A batch of encoded images [B] → float32 [B, S, S, 3] in [-1, 1].

    Called eagerly (a catalogue decoded batch by batch), it runs as one traced graph: eager
    `map_fn` dispatches each image's resize ops from Python, ~16 ms an image."""
    if tf.executing_eagerly():
        return _decode_batch_graph(tf.convert_to_tensor(jpeg_bytes, tf.string), image_size)
    return _decode_batch(jpeg_bytes, image_size)


def _decode_batch(jpeg_bytes, image_size: int):
    uint8 = map_fn(lambda b: decode_to_uint8(b, image_size), jpeg_bytes,
                   fn_output_signature=tf.TensorSpec([image_size, image_size, 3], tf.uint8))
    return normalise(uint8)


_decode_batch_graph = tf.function(_decode_batch, reduce_retracing=True)
