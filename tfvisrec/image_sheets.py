"""Picture sheets: images laid out in a labelled grid and written as PNG (atomically).

Used for the GAN's per-epoch samples (one row per category) and the design sheets of
`python -m tfvisrec.design` (real beside generated items, tailoring strips, with scores).
"""
import io
from typing import Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw

from tfvisrec import atomic

_TEXT_HEIGHT = 12       # PIL's default bitmap font is 11 px high
_CHAR_WIDTH = 6


def to_uint8(images) -> np.ndarray:
    """float images in [-1, 1] (the models' range) → uint8 [0, 255]."""
    return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def grid(images, row_labels: Optional[Sequence[str]] = None,
         captions: Optional[Sequence[Sequence[str]]] = None, title: str = "", pad: int = 2,
         scale: int = 1) -> np.ndarray:
    """uint8 images [R, C, H, W, 3] → one uint8 sheet: R rows of C images on white, each row
    headed by its label (left), each image over its caption, the title above everything (the
    sheet is widened to fit it);
    `scale` enlarges every image by pixel repetition (tiny images stay legible)."""
    images = np.asarray(images)
    if images.ndim != 5 or images.shape[-1] != 3:
        raise ValueError(f"grid needs images [rows, columns, H, W, 3], got shape {images.shape}")
    rows, cols = images.shape[:2]
    if scale > 1:
        images = images.repeat(scale, axis=2).repeat(scale, axis=3)
    h, w = images.shape[2:4]
    label_width = (max(len(s) for s in row_labels) * _CHAR_WIDTH + 2 * pad) if row_labels else 0
    caption_height = _TEXT_HEIGHT if captions else 0
    title_height = _TEXT_HEIGHT + pad if title else 0
    cell_w, cell_h = w + pad, h + caption_height + pad
    width = label_width + cols * cell_w + pad
    if title:  # a long title widens the sheet rather than being cut off
        width = max(width, int(np.ceil(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(title))) + 2 * pad)
    sheet = Image.new("RGB", (width, title_height + rows * cell_h + pad), "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((pad, pad), title, fill="black")
    for r in range(rows):
        top = title_height + pad + r * cell_h
        if row_labels:
            draw.text((pad, top + h // 2 - _TEXT_HEIGHT // 2), str(row_labels[r]), fill="black")
        for c in range(cols):
            left = label_width + pad + c * cell_w
            sheet.paste(Image.fromarray(images[r, c]), (left, top))
            if captions:
                draw.text((left, top + h), str(captions[r][c])[: max(1, w // _CHAR_WIDTH)], fill="black")
    return np.asarray(sheet)


def encode_png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).save(out, format="PNG")
    return out.getvalue()


def write_png(path: str, image: np.ndarray) -> None:
    """uint8 [H, W, 3] → a PNG file, written to a temporary file and renamed into place."""
    atomic.write_bytes(path, encode_png(image))
