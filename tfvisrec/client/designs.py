"""Typed records of the design signatures (`generate`, `tailor`: DVBPR §III-D), their PNGs
decoded with Pillow (numpy uint8 [S, S, 3]; the client never loads TensorFlow)."""
import io
from typing import Dict, List, NamedTuple

import numpy as np


class Design(NamedTuple):
    """One generated item: `generate` (preference maximisation, eq. 9-10)."""

    image: np.ndarray     # uint8 [S, S, 3]
    png: bytes            # the server's PNG, unchanged
    score: float          # θ_uᵀΦ(image): the user's preference
    objective: float      # eq. 10: the preference minus the realism penalty
    seed: int             # the request row's seed (its random starts)


class TailoringStep(NamedTuple):
    """One image of a tailoring strip (`tailor`, eq. 12 then eq. 9-10)."""

    image: np.ndarray     # uint8 [S, S, 3]
    png: bytes
    score: float          # θ_uᵀΦ(image)
    l1: float             # mean absolute difference to the query (pixels in [-1, 1])
    stage: int            # 1 = fitting the query (eq. 12), 2 = preference maximisation
    step: int             # Adam steps done within the stage


class Tailoring(NamedTuple):
    query_score: float            # θ_uᵀΦ of the query image itself
    steps: List[TailoringStep]


def decode_png(data: bytes) -> np.ndarray:
    """PNG (or JPEG) bytes → uint8 [H, W, 3]."""
    from PIL import Image
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"), np.uint8)


def designs(outputs: Dict[str, np.ndarray], seeds: np.ndarray) -> List[Design]:
    """`generate`'s outputs [B, k] → B·k designs, row by row (each row best first)."""
    return [Design(decode_png(png), png, float(score), float(objective), int(seed))
            for row_png, row_score, row_objective, seed in zip(
                outputs["images"], outputs["scores"], outputs["objective"], seeds)
            for png, score, objective in zip(row_png, row_score, row_objective)]


def tailoring(outputs: Dict[str, np.ndarray], row: int = 0) -> Tailoring:
    """Row `row` of `tailor`'s outputs → its strip."""
    steps = [TailoringStep(decode_png(png), png, float(score), float(l1), int(stage), int(step))
             for png, score, l1, stage, step in zip(
                 outputs["images"][row], outputs["scores"][row], outputs["l1"][row],
                 outputs["stage"][row], outputs["step"][row])]
    return Tailoring(float(outputs["query_scores"][row]), steps)
