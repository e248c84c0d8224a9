"""How long `tfvisrec.data.images.decode_to_uint8` takes per photo, by kind of photo, beside the
bare decode + resize it wraps.

    python bench/image_decoding.py [--hm_dir ../shared/data/hm] [--count 2000] [--image_size 64] [--rounds 5]

Every training pipeline that decodes photos (`--image_cache decode`, or the in-memory cache's
one pass) and every `score_images` / `explain_images` request runs `decode_to_uint8`: it
turns a photo by its EXIF orientation, composites transparent pixels on white and widens a
banner thinner than one output pixel, each behind a branch that an upright opaque RGB photo
skips. The H&M photos (120 × 180 JPEGs) are read from the archive and also re-encoded with
Pillow as grey JPEGs, as phone JPEGs (EXIF orientation 6) and as RGBA PNGs (the alpha of a
cut-out: opaque garment, transparent margin). Each row is timed through a one-thread
`tf.data` map, the same photos in every row, and the table gives the median of `--rounds`
runs (bare and ours in turn); "bare" is `tf.io.decode_image(channels=3)` + `tf.image.resize_with_pad` alone.
"""
import io
import os
import statistics
import sys
import tarfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)

from bench.hm_common import DEFAULT_HM_DIR  # noqa: E402

flags.DEFINE_string("hm_dir", DEFAULT_HM_DIR, "Folder with H&M's images_120x180.tar.")
flags.DEFINE_integer("count", 2000, "Photos to decode in each row.")
flags.DEFINE_integer("image_size", 64, "Output size (the models' input).")
flags.DEFINE_integer("rounds", 5, "Timed passes per row (the median is printed).")
FLAGS = flags.FLAGS


def read_photos(archive: str, count: int):
    """The first `count` JPEG files of the archive, as bytes."""
    photos = []
    with tarfile.open(archive) as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".jpg"):
                photos.append(tar.extractfile(member).read())
                if len(photos) == count:
                    break
    return photos


def reencoded(photos, kind: str):
    """The photos as grey JPEGs, as phone JPEGs (EXIF orientation 6: turn 90° to view) or as
    RGBA PNGs whose near-white margin is transparent."""
    from PIL import Image
    out = []
    for data in photos:
        with Image.open(io.BytesIO(data)) as image:
            buffer = io.BytesIO()
            if kind == "grey":
                image.convert("L").save(buffer, "JPEG", quality=95)
            elif kind == "phone":
                exif = Image.Exif()
                exif[0x0112] = 6
                image.save(buffer, "JPEG", quality=95, exif=exif)
            else:
                rgba = image.convert("RGBA")
                alpha = image.convert("L").point(lambda v: 0 if v > 240 else 255)
                rgba.putalpha(alpha)
                rgba.save(buffer, "PNG")
            out.append(buffer.getvalue())
    return out


def median_seconds(photos, decodes, rounds: int):
    """Median seconds of a pass over `photos` for each of `decodes`, their passes taken in
    turn (one of each per round), so a machine that speeds up or slows down meanwhile weighs
    on all of them alike."""
    import tensorflow as tf
    passes = [tf.data.Dataset.from_tensor_slices(photos).map(decode, num_parallel_calls=1).batch(256)
              for decode in decodes]
    times = [[] for _ in decodes]
    for _ in range(rounds):
        for data, took in zip(passes, times):
            started = time.perf_counter()
            for _ in data:
                pass
            took.append(time.perf_counter() - started)
    return [statistics.median(took) for took in times]


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    archive = os.path.join(FLAGS.hm_dir, "images_120x180.tar")
    if not os.path.exists(archive):
        raise app.UsageError(f"{archive} not found: pass --hm_dir (see ../shared/data/README.md)")
    import tensorflow as tf
    from tfvisrec.data.images import decode_to_uint8
    size = FLAGS.image_size

    def bare(data):
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
        image.set_shape([None, None, 3])
        resized = tf.image.resize_with_pad(tf.cast(image, tf.float32), size, size, antialias=True)
        return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)

    photos = read_photos(archive, FLAGS.count)
    kinds = {"RGB JPEG (as stored)": photos, "grey JPEG": reencoded(photos, "grey"),
             "phone JPEG (EXIF orientation 6)": reencoded(photos, "phone"), "RGBA PNG": reencoded(photos, "rgba")}
    print(f"{len(photos)} H&M photos at {size} px, median of {FLAGS.rounds} passes, one thread\n")
    print("| photos | decode | seconds | ms / photo | × bare |")
    print("|---|---|---:|---:|---:|")
    for kind, encoded in kinds.items():
        reference, ours = median_seconds(encoded, [bare, lambda b: decode_to_uint8(b, size)], FLAGS.rounds)
        for name, seconds in (("bare", reference), ("decode_to_uint8", ours)):
            print(f"| {kind} | {name} | {seconds:.2f} | {1000 * seconds / len(encoded):.2f} | "
                  f"{seconds / reference:.2f} |", flush=True)


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
