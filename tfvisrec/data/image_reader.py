"""Read item images from a folder or a tar archive, verify they decode, keep them as JPEG.

Images are read as bytes and fully decoded once with Pillow, so a corrupt or truncated
file is reported at ingest time (naming the item's row) instead of deep inside a training
pipeline. JPEG files in RGB or grayscale are kept byte for byte; anything else (PNG, GIF,
CMYK JPEG, …) is re-encoded as an RGB JPEG, transparent pixels composited on white. A photo
longer than MAX_STORED_SIDE pixels (a camera's 4000 × 6000) is stored scaled down to it: the
models read at most 224 px, and every later stage decodes each stored photo again. A photo
whose EXIF orientation says it is to be shown turned (a camera held upright) is turned as
an image viewer shows it, then re-encoded: TensorFlow's decoders ignore EXIF.
"""
import io
import os
import sys
import tarfile
from typing import Callable, Dict, Iterator, Optional, Sequence, Tuple

from PIL import Image, ImageOps, UnidentifiedImageError

from tfvisrec.data.errors import DataError
from tfvisrec.progress import EpochProgress

JPEG_QUALITY = 95
MAX_STORED_SIDE = 1024  # pixels, the longer side of a stored photo
BLANK_SIDE, BLANK_GREY = 64, (238, 238, 238)   # the photo of an item without one (--blank_photos)
_JPEG_MAGIC = b"\xff\xd8\xff"
_EXIF_ORIENTATION = 0x0112
_TURNED = range(2, 9)  # orientations other than 1, upright as stored
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


class ImageNotFound(Exception):
    """An image reference names no file or archive member."""


class FolderImages:
    """Images as files below `root`; references are paths relative to it."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)

    def describe(self) -> str:
        return f"folder {self.root}"

    def read_many(self, refs: Sequence[str]) -> Iterator[Tuple[str, bytes]]:
        for ref in refs:
            path = os.path.join(self.root, ref)
            if not os.path.isfile(path):
                raise ImageNotFound(ref)
            with open(path, "rb") as f:
                yield ref, f.read()


class TarImages:
    """Images as members of a tar archive (optionally compressed), read without extracting.

    The archive is streamed once, in its own order, keeping only the wanted members, so
    compressed archives are never seeked backwards.
    """

    def __init__(self, path: str):
        self.path = os.path.abspath(path)

    def describe(self) -> str:
        return f"archive {self.path}"

    def read_many(self, refs: Sequence[str]) -> Iterator[Tuple[str, bytes]]:
        wanted = {_normalise_member(r) for r in refs}
        found: Dict[str, bytes] = {}
        try:
            with tarfile.open(self.path, mode="r|*") as archive:
                for member in archive:
                    name = _normalise_member(member.name)
                    if member.isfile() and name in wanted and name not in found:
                        found[name] = archive.extractfile(member).read()
                        yield name, found[name]
        except (tarfile.TarError, OSError, EOFError) as e:
            raise DataError(f"cannot read tar archive: {e}", self.path) from None
        missing = wanted - set(found)
        if missing:
            raise ImageNotFound(sorted(missing)[0])


def open_images(path: str):
    """An image source for a folder or a tar archive path; DataError when it does not exist."""
    if not os.path.exists(path):
        raise DataError("images folder/archive does not exist", path)
    if os.path.isdir(path):
        return FolderImages(path)
    if path.endswith(_TAR_SUFFIXES) or tarfile.is_tarfile(path):
        return TarImages(path)
    raise DataError("images path is neither a folder nor a tar archive", path)


_PILLOW_ERRORS = (   # what Pillow raises for bytes that are no image it decodes
    UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def _why_not_decoded(error) -> str:
    """The reason of one of _PILLOW_ERRORS, as a ValueError's text."""
    if isinstance(error, UnidentifiedImageError):
        return "not an image format Pillow can read"
    return str(error) or type(error).__name__


def to_jpeg(data: bytes) -> bytes:
    """Bytes of any image Pillow reads → JPEG bytes; raises ValueError when they do not decode."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            too_big = max(image.size) > MAX_STORED_SIDE
            if too_big:   # a JPEG decodes at 1/2, 1/4 or 1/8 scale, still ≥ MAX_STORED_SIDE: 6x faster
                image.draft(None, (MAX_STORED_SIDE, MAX_STORED_SIDE))
            image.load()
            turned = image.getexif().get(_EXIF_ORIENTATION) in _TURNED
            if (image.format == "JPEG" and image.mode in ("RGB", "L")
                    and data.startswith(_JPEG_MAGIC) and not turned and not too_big):
                return data
            rgb = _to_rgb(ImageOps.exif_transpose(image) if turned else image)
            if too_big:
                rgb.thumbnail((MAX_STORED_SIDE, MAX_STORED_SIDE), Image.LANCZOS)
    except _PILLOW_ERRORS as e:
        raise ValueError(_why_not_decoded(e)) from None
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def verify_decodes(data: bytes) -> None:
    """ValueError saying why, unless Pillow decodes `data` whole as an image (whose libjpeg,
    unlike TensorFlow's, writes nothing to file descriptor 2 about a cut or damaged JPEG)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except _PILLOW_ERRORS as e:
        raise ValueError(_why_not_decoded(e)) from None


def blank_photo() -> bytes:
    """A plain light-grey JPEG (BLANK_SIDE square), stored for an item without a photo when
    ingest is asked to (`--blank_photos`)."""
    out = io.BytesIO()
    Image.new("RGB", (BLANK_SIDE, BLANK_SIDE), BLANK_GREY).save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def read_item_images(refs: Sequence[str], source, where: Callable[[int], Tuple[str, Optional[int]]],
                     progress: bool = False) -> list:
    """JPEG bytes for each reference ("" → None), index-aligned with `refs`.

    `where(k)` gives the (file, row) that names reference k, for error messages.
    """
    wanted = [k for k, ref in enumerate(refs) if ref]
    by_ref: Dict[str, list] = {}
    for k in wanted:
        by_ref.setdefault(_normalise_member(refs[k]), []).append(k)
    images: list = [None] * len(refs)
    counter = Progress(len(by_ref), "reading images") if progress else None
    try:
        for ref, data in source.read_many(list(by_ref)):
            ks = by_ref[_normalise_member(ref)]
            try:
                jpeg = to_jpeg(data)
            except ValueError as e:
                path, row = where(ks[0])
                raise DataError(f"image {refs[ks[0]]!r} does not decode ({e})", path, row) from None
            for k in ks:
                images[k] = jpeg
            if counter:
                counter.step()
    except ImageNotFound as e:
        k = by_ref[_normalise_member(str(e))][0]
        path, row = where(k)
        raise DataError(f"image {refs[k]!r} not found in {source.describe()}", path, row) from None
    finally:
        if counter:
            counter.close()
    return images


def _to_rgb(image):
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I;16") or image.mode == "I":
        return image.point(lambda v: v / 256).convert("L").convert("RGB")
    return image.convert("RGB")


def _normalise_member(name: str) -> str:
    name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


class Progress:
    """Images done of `total`, on stderr (or `stream`) as `tfvisrec.progress` shows an epoch: a
    bar redrawn in place on a terminal, only the closing line (`reading images - 3s`) in a
    file or a pipe. Nothing is written before the first image."""

    def __init__(self, total: int, label: str, stream=None):
        self.done = 0
        self.bar = EpochProgress(total, label=label, unit="image",
                                 stream=stream if stream is not None else sys.stderr)

    def step(self):
        self.done += 1
        self.bar.update(self.done)

    def close(self):
        if self.done:
            self.bar.close()
