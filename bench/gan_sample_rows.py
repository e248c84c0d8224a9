"""Chosen category rows of GAN runs' per-epoch sample grids, stacked under titles: how two runs
(or two epochs of one) draw the same categories from the same fixed z.

    python bench/gan_sample_rows.py --out docs/gan_hm_predicted_groups.png \
        --categories "Garment Full body,Garment Lower body,Garment Upper body" \
        --panel "labelled groups only (4,021 photos), 252 steps|runs/gan|3" \
        --panel "+ predicted groups (7,844 photos), 984 steps|runs/gan-predicted|7"

A panel is "title|run folder|epoch": the trainer's `samples/samples-epochNNN.png` of that run
(one row per category of the run's dataset, in the dataset's order, laid out by
`tfvisrec.image_sheets.grid` with no title or captions). The sheet is written with a palette of
256 colours (half the bytes of RGB, for README figures).
"""
import io
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)
from absl import app, flags  # noqa: E402

flags.DEFINE_multi_string("panel", [], "title|run folder|epoch (repeat: one panel each, top to bottom)")
flags.DEFINE_list("categories", [], "category rows to keep (default: all)")
flags.DEFINE_string("out", None, "the PNG to write")
FLAGS = flags.FLAGS

PAD = 2           # image_sheets.grid's default padding
TITLE_HEIGHT = 22


def run_categories(run_dir: str):
    """The categories of the dataset a GAN run trained on (its config.json), in row order."""
    from tfvisrec.data.dataset import load_dataset
    with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
        return load_dataset(json.load(f)["train"]["dataset"]).categories


def category_rows(grid: np.ndarray, categories, wanted) -> np.ndarray:
    """The rows of `wanted` categories cut from a samples grid (row labels kept)."""
    cell_height = (grid.shape[0] - PAD) // len(categories)
    missing = [c for c in wanted if c not in categories]
    if missing:
        raise app.UsageError(f"categories {missing} are not the run's ({categories})")
    return np.concatenate([grid[PAD + k * cell_height - PAD // 2: PAD + (k + 1) * cell_height - PAD // 2]
                           for k in (categories.index(c) for c in wanted)])


def main(argv):
    from PIL import Image, ImageDraw
    from tfvisrec import atomic
    if not FLAGS.panel or not FLAGS.out:
        raise app.UsageError("give --out and at least one --panel")
    panels = []
    for spec in FLAGS.panel:
        parts = spec.split("|")
        if len(parts) != 3 or not parts[2].isdigit():
            raise app.UsageError(f"a panel is 'title|run folder|epoch', got {spec!r}")
        title, run_dir, epoch = parts
        path = os.path.join(run_dir, "samples", f"samples-epoch{int(epoch):03d}.png")
        if not os.path.exists(path):
            raise app.UsageError(f"no samples grid {path}")
        categories = run_categories(run_dir)
        grid = np.asarray(Image.open(path).convert("RGB"))
        panels.append((title, category_rows(grid, categories, FLAGS.categories or categories)))
    width = max(p.shape[1] for _, p in panels)
    sheet = Image.new("RGB", (width, sum(TITLE_HEIGHT + p.shape[0] for _, p in panels)), "white")
    draw, top = ImageDraw.Draw(sheet), 0
    for title, rows in panels:
        draw.text((PAD * 2, top + 5), title, fill="black")
        sheet.paste(Image.fromarray(rows), (0, top + TITLE_HEIGHT))
        top += TITLE_HEIGHT + rows.shape[0]
    png = io.BytesIO()
    sheet.quantize(256).save(png, format="PNG", optimize=True)
    atomic.write_bytes(FLAGS.out, png.getvalue())
    print(f"wrote {FLAGS.out}")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
