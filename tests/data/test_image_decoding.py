"""`decode_to_uint8`: the one decoding of training, features and serving."""
import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfvisrec.data import image_reader, images


def _png(width, height, colour=(200, 30, 30)):
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("width,height", [(3000, 2), (1, 500), (65, 1)])
def test_a_banner_thinner_than_one_output_pixel_decodes(width, height):
    """ingest accepts any photo Pillow reads; resize_with_pad alone failed on these
    ("output dimensions must be positive") deep inside vision.features and training."""
    image = images.decode_to_uint8(_png(width, height), 64).numpy()
    assert image.shape == (64, 64, 3)
    assert (image == (200, 30, 30)).all(axis=-1).any()   # the banner is there, as a thin line


@pytest.mark.parametrize("width,height", [(120, 180), (128, 2), (5, 7)])
def test_other_images_decode_as_resize_with_pad_alone(width, height):
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    expected = tf.image.resize_with_pad(tf.constant(pixels, tf.float32), 64, 64, antialias=True)
    expected = tf.cast(tf.clip_by_value(tf.round(expected), 0.0, 255.0), tf.uint8)
    np.testing.assert_array_equal(images.decode_to_uint8(out.getvalue(), 64).numpy(), expected.numpy())


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_a_transparent_cut_out_decodes_on_white_as_ingest_stores_it(mode):
    """Served photos (score_images) go through this decoding; ingest composites transparent
    pixels on white, so a PNG cut-out must not come out on black here."""
    pixels = np.zeros((40, 30, 4), np.uint8)                 # transparent black around…
    pixels[10:30, 8:22] = (30, 60, 200, 255)                 # …an opaque blue garment
    cut_out = Image.fromarray(pixels, "RGBA")
    cut_out = cut_out.convert("P") if mode == "P" else cut_out.convert(mode)
    out = io.BytesIO()
    cut_out.save(out, format="PNG", **({"transparency": 0} if mode == "P" else {}))
    served = images.decode_to_uint8(out.getvalue(), 64).numpy().astype(np.int32)
    stored = images.decode_to_uint8(image_reader.to_jpeg(out.getvalue()), 64).numpy().astype(np.int32)
    assert (served[:, 32] == 255).all(axis=-1).sum() > 10     # background white, not black
    assert np.abs(served - stored).mean() < 3


def test_verify_photo_refuses_what_either_decoder_refuses_and_passes_a_photo():
    """A photo named on a command line: Pillow refuses a cut JPEG without a word on fd 2 (where
    TensorFlow's libjpeg writes one); a TIFF, which Pillow reads, is refused as TensorFlow's."""
    out = io.BytesIO()
    Image.new("RGB", (20, 14), (200, 30, 30)).save(out, format="JPEG")
    jpeg = out.getvalue()
    images.verify_photo(jpeg)
    images.verify_photo(_png(5, 7))
    with pytest.raises(ValueError, match="(?i)truncated"):
        images.verify_photo(jpeg[:len(jpeg) // 2])
    tiff = io.BytesIO()
    Image.new("RGB", (5, 7)).save(tiff, format="TIFF")
    with pytest.raises(ValueError, match="not an image format TensorFlow decodes"):
        images.verify_photo(tiff.getvalue())
