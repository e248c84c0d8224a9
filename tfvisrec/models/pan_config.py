"""The hyper-parameters of FHN and of PAN's Table 2 rows (`pan.py`): each row's config adds
the fields of the part it adds (the user-specific loss, the hard negatives, the attention)."""
import dataclasses

from tfvisrec.config import ModelConfig, field
from tfvisrec.models import hyperparameters as hp
from tfvisrec.models.pan_backbone import OutfitBackboneConfig


@dataclasses.dataclass
class FHNConfig(OutfitBackboneConfig, ModelConfig):
    """FHN: binary user and item codes, compatibility + personal score, BPR + VSE."""

    code_dim: int = field(32, "Length D of the binary user and item codes (PAN/FHN eq. 1, 4).")
    alpha: float = field(1.0, "Weight α of the user's score p in y = g + α p (eq. 4).")
    vse_weight: float = field(0.1, "λ2: weight of the visual-semantic loss (eq. 9); items without text skip it.")
    vse_margin: float = field(0.2, "Margin of the visual-semantic hinge loss.")
    text_buckets: int = field(512, "Hashed bag-of-words size of item texts (the VSE loss's text input).")
    slope_start: float = field(1.0, "Slope β of the tanh relaxation of the codes in the first epoch.")
    slope_growth: float = field(1.5, "β is multiplied by this every epoch (tanh(βx) → sign(x)).")
    slope_max: float = field(10.0, "Largest β.")
    l2_user: float = hp.l2_user()


@dataclasses.dataclass
class PANULConfig(FHNConfig):
    """FHN + PAN's user-specific loss (Table 2, row UL)."""

    user_loss_weight: float = field(0.1, "λ1: weight of the user-specific loss over (u_m, u_n, O_k) (eq. 7).")


@dataclasses.dataclass
class PANULHNConfig(PANULConfig):
    """+ online user-aware hard negatives (row UL + HN)."""

    hard_negative_ratio: float = field(0.5, "Hard : random negatives: round(ratio · B) rows get a hard negative beside their random one (PAN: 0.5).")
    hard_k_ratio: float = field(0.5, "A hard negative comes from the ⌈k_ratio · B⌉ users nearest in code (Hamming), "
                                      "less the --hard_skip_ratio very nearest.")
    hard_skip_ratio: float = field(0.0, "Semi-hard: the ⌊skip_ratio · B⌋ users nearest in code are left out of the draw "
                                        "(0: PAN's nearest, and every run saved before the flag). The flagfiles take "
                                        "0.25 with --hard_k_ratio 0.75, the middle half, chosen on validation personal "
                                        "AUC (README, \"How near the hard negatives are\").")


@dataclasses.dataclass
class PANConfig(PANULHNConfig):
    """+ user-aware channel and spatial attention (row UL + HN + AN: PAN)."""

    attention_reduction: int = field(4, "Channel attention MLP reduction r (C → C/r → C, eq. 2).")
    spatial_kernel: int = field(7, "Size k of the k×k convolution of the spatial attention (eq. 3).")
    attention_user_l2: float = field(0.1, "L2 weight on the attention's user projections W_cu (eq. 2) and W_su (eq. 3), "
                                          "Σ W² added to the loss: a shopper's own look grows only where the data keeps asking for it.")
