"""The PNG sheets of `python -m tfvisrec.design`: real beside generated designs, tailoring strips."""
import numpy as np
import tensorflow as tf

from tfvisrec import image_sheets

DISPLAY_SIZE = 128     # every image is shown at this size, whatever size its model reads


def _display(images) -> np.ndarray:
    """float images [n, s, s, 3] in [-1, 1], any s → uint8 [n, DISPLAY_SIZE, DISPLAY_SIZE, 3]."""
    resized = tf.image.resize(np.asarray(images, np.float32), [DISPLAY_SIZE, DISPLAY_SIZE],
                              method="nearest").numpy()
    return image_sheets.to_uint8(resized)


def design_sheet(retrieved, designed, title: str) -> np.ndarray:
    """Row 1: the real top-k δ(u, c) (eq. 8) with their scores; row 2: the generated top-k
    δ̂(u, c) (eq. 9-11) with their scores θ_uᵀΦ (and the objective of eq. 10)."""
    k = max(len(retrieved["images"]), len(designed["images"]))
    rows = np.full((2, k, DISPLAY_SIZE, DISPLAY_SIZE, 3), 255, np.uint8)
    rows[0, :len(retrieved["images"])] = _display(retrieved["images"])
    rows[1, :len(designed["images"])] = _display(designed["images"])
    captions = [[f"{s:+.3f}" for s in retrieved["scores"]] + [""] * (k - len(retrieved["scores"])),
                [f"{p:+.3f} obj {o:+.3f}" for p, o in zip(designed["preference"], designed["objective"])]]
    return image_sheets.grid(rows, row_labels=["real: score", "generated: score, eq. 10"],
                             captions=captions, title=title)


def tailoring_strip(query, strip, title: str) -> np.ndarray:
    """The query item, then the images of eq. 12's fit and of preference maximisation, each
    with its score θ_uᵀΦ (the paper's Figure 6)."""
    images = np.concatenate([np.asarray(query)[None], strip["images"]])
    captions = [f"query {strip['query_preference']:+.3f}"] + [
        f"{'fit' if stage == 1 else 'pref'} {step} {score:+.3f}"
        for stage, step, score in zip(strip["stage"], strip["step"], strip["preference"])]
    return image_sheets.grid(_display(images)[None], captions=[captions], title=title)
