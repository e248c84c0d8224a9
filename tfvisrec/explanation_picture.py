"""The picture of one SAERS explanation (Hou et al. 2019, §3.4, their Figure 4): the product
photo with the top attribute's Grad-AAM heat map (eq. 3) overlaid and its region box drawn,
beside a bar chart of the user's attention weights α_ui^k (eq. 6) per attribute, each bar
labelled with the attribute's predicted value and, when known, the attribute classifier's
probability of it (a heavy weight on a value the classifier doubts explains little).
Matplotlib (Agg) → PNG bytes.
"""
import io
from typing import Optional

import numpy as np


def explanation_png(photo: np.ndarray, record: dict, heat_map: Optional[np.ndarray], title: str) -> bytes:
    """photo: uint8 [S, S, 3], the padded square the boxes refer to; record: the explanation
    record (`tfvisrec.explain`); heat_map: the top attribute's Grad-AAM map [h, w], or None
    (drawn without one, said in the panel's title)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.patches as patches
    import matplotlib.pyplot as plt

    attributes, weights, classes = record["attributes"], np.asarray(record["weights"]), record["classes"]
    top = attributes.index(record["top_attribute"])
    size = photo.shape[0]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.6), dpi=110,
                                         gridspec_kw={"width_ratios": [1, 1.25]})
    left.imshow(photo, extent=(0, size, size, 0))
    if heat_map is not None:
        peak = float(np.max(heat_map))
        shown = heat_map / peak if peak > 0 else heat_map
        left.imshow(shown, extent=(0, size, size, 0), cmap="jet", alpha=0.45, vmin=0.0, vmax=1.0,
                    interpolation="bilinear")
    y1, x1, y2, x2 = (float(v) * size for v in record["boxes"][top])
    left.add_patch(patches.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="white", linewidth=3))
    left.add_patch(patches.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="black", linewidth=1.2,
                                     linestyle="--"))
    left.set_xlim(0, size), left.set_ylim(size, 0)
    left.set_xticks([]), left.set_yticks([])
    what = "Grad-AAM heat map and region" if heat_map is not None else "region (no classifier: no heat map)"
    left.set_title(f"{record['top_attribute']} = {classes[top]}\n{what}", fontsize=9)

    rows = np.arange(len(attributes))
    colours = ["tab:red" if k == top else "tab:blue" for k in rows]
    right.barh(rows, weights, color=colours)
    sure = record.get("class_probabilities") or [None] * len(attributes)
    right.set_yticks(rows, [f"{a} = {c}" + ("" if p is None else f"\n(p = {p:.2f})")
                            for a, c, p in zip(attributes, classes, sure)], fontsize=9)
    right.invert_yaxis()
    right.set_xlim(0, max(1.0, float(weights.max()) * 1.1))
    for row, weight in zip(rows, weights):
        inside = weight > 0.8
        right.text(weight - 0.01 if inside else weight + 0.01, row, f"{weight:.3f}", va="center", fontsize=8,
                   ha="right" if inside else "left", color="white" if inside else "black")
    right.set_xlabel("attention weight α (eq. 6; sums to 1)"
                     + ("" if all(p is None for p in sure) else "\np: the attribute classifier's probability of the value"),
                     fontsize=9)
    score = record.get("score")
    right.set_title("what the shopper looks at" + ("" if score is None else f" · score x̂ = {score:.3f}"),
                    fontsize=9)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
