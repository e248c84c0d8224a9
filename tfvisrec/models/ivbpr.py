"""I-VBPR and I-TVBPR: VBPR and TVBPR on interpretable, named item features.

The I-VBPR seed replaces VBPR's CNN activations by features a person can read: here f_i
is the attribute classifier's class probabilities (`attribute_probs.npz`, written by
`python -m tfvisrec.vision.features` with an attribute classifier's weights), one column
per "attribute=value", so F is a few dozen instead of thousands. The predictors are VBPR's
eq. 4 and TVBPR's temporal one unchanged:

    I-VBPR   x̂(u, i)    = β_i + γ_uᵀγ_i + θ_uᵀ(E f_i) + β'ᵀf_i
    I-TVBPR  x̂(u, i, t) = β_i + γ_uᵀγ_i + θ_uᵀ(E(t) f_i) + β'(t)ᵀf_i,
             E(t) f_i = (1 + w(t)) ⊙ (E f_i) + ΔE(t) f_i,   β'(t) = β' + Δβ'(t)

and what the named f_i buy is read off the learned weights: the affinity p_u = Eᵀθ_u + β'
(seed eq. 5, `interactive.py`), steering (eq. 6-7) and each feature's influence per epoch
(eq. 8, `trends.py`). The flagfiles keep `--feature_norm=none`, so p_u's entries are score
per unit of probability and `interactive` can work on the probabilities as written.
"""
import numpy as np

from tfvisrec.data.feature_files import PROBS_FILE
from tfvisrec.models.interactive import collaborative_scores
from tfvisrec.models.registry import register
from tfvisrec.models.trends import epoch_projections
from tfvisrec.models.tvbpr import TVBPR
from tfvisrec.models.vbpr import VBPR


@register("ivbpr")
class IVBPR(VBPR):
    """I-VBPR: `VBPR` (He & McAuley 2016, eq. 4) with f_i = the attribute classifier's
    class probabilities, read from the dataset's `attribute_probs.npz` (or --features_file)."""

    default_features_file = PROBS_FILE


@register("itvbpr")
class ITVBPR(TVBPR):
    """I-TVBPR: `TVBPR` (He & McAuley 2016b) with f_i = the attribute classifier's class
    probabilities (`attribute_probs.npz`), so the epochs' drift is drift of named features."""

    default_features_file = PROBS_FILE


def visual_weights(model, epoch: int = -1):
    """(W [F, K'], β' [F]) of a trained VBPR-family model as numpy, with which its visual
    term is θ_uᵀ(Wᵀf_i) + β'ᵀf_i: for a TVBPR those of time epoch `epoch` (negative counts
    from the last), W(t) = (1 + w(t)) ⊙ W + ΔW(t), β'(t) = β' + Δβ'(t); epoch is ignored
    for a VBPR. The affinity of seed eq. 5 is then `interactive.visual_affinity(W, θ_u, β')`."""
    projection, bias = model.visual_projection.numpy(), model.visual_bias.numpy()
    if not isinstance(model, TVBPR):
        return projection.astype(np.float64), bias.astype(np.float64)
    num_epochs = model.epochs.num_epochs
    if not -num_epochs <= epoch < num_epochs:
        raise ValueError(f"epoch {epoch} is out of range: the model has {num_epochs} time epochs")
    projections = epoch_projections(projection, model.dimension_drift.numpy(), model.projection_drift.numpy())
    return projections[epoch], bias.astype(np.float64) + model.visual_bias_drift.numpy()[epoch]


def collaborative_terms(model, user: int) -> np.ndarray:
    """γ_uᵀγ_i (+ β_i) for every item [items]: the non-visual part of x̂(u, i)."""
    bias = model.item_bias.numpy() if model.item_bias is not None else None
    return collaborative_scores(model.user_factors.numpy()[user], model.item_factors.numpy(), bias)
