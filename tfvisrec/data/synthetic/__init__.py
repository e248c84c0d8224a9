"""The synthetic "style world": fashion items drawn from known attributes, users with known
tastes, purchases sampled from those tastes, and the ground truth to check models against.

    from tfvisrec.data.synthetic import SyntheticConfig, generate_world, load_truth
    folder = generate_world("/tmp/world", SyntheticConfig(seed=1))
    truth = load_truth(folder)

CLI: `python -m tfvisrec.data.synthetic --out DIR [--num_users N --drift --outfits ...]`.
"""
from tfvisrec.data.synthetic.config import SyntheticConfig
from tfvisrec.data.synthetic.oracle import leave_one_out_oracle_auc
from tfvisrec.data.synthetic.truth import Truth, load_truth
from tfvisrec.data.synthetic.world import generate_world

__all__ = ["SyntheticConfig", "Truth", "generate_world", "leave_one_out_oracle_auc", "load_truth"]
