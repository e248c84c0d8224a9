"""`python -m tfvisrec.data.synthetic --out DIR [--num_users N --drift --outfits ...]`.

Generates a style world and prints one summary line; bad flags or an existing non-empty
output folder → `error: ...` on stderr and exit status 2.
"""
import sys

from absl import flags

from tfvisrec import config as config_lib
from tfvisrec.data.errors import DataError
from tfvisrec.data.synthetic.config import SyntheticConfig
from tfvisrec.data.synthetic.oracle import leave_one_out_oracle_auc
from tfvisrec.data.synthetic.truth import load_truth
from tfvisrec.data.synthetic.world import generate_world
from tfvisrec.interruption import run_command

FLAGS = flags.FLAGS
flags.DEFINE_string("out", None, "Output folder of the world (must not exist or be empty unless --overwrite).")
flags.DEFINE_bool("overwrite", False, "Replace an existing output folder that holds a synthetic world (truth.json).")
config_lib.define_flags(SyntheticConfig)
flags.adopt_module_key_flags(config_lib)   # list the world's flags in --help
INTERRUPTED = ("interrupted: no world was written (it is built in a temporary folder, now removed, and renamed "
               "into place only when complete)")


def summary(folder: str) -> str:
    """One line: counts, buyers per item and the oracle's leave-one-out AUC."""
    import numpy as np
    truth = load_truth(folder)
    buyers = np.bincount(truth.interactions["items"], minlength=len(truth.item_ids))
    warm = buyers[~truth.is_cold_item]
    oracle = leave_one_out_oracle_auc(truth, seed=truth.config["seed"])
    return (f"{folder}: {len(truth.user_ids)} users, {len(truth.item_ids)} items "
            f"({int(truth.is_cold_item.sum())} cold), {len(truth.interactions['items'])} interactions; "
            f"buyers/item median {np.median(buyers):g} (warm {np.median(warm) if warm.size else 0:g}); "
            f"oracle AUC {oracle['auc']:.3f} (cold test items {oracle['num_cold']}: "
            f"{oracle['auc_cold']:.3f})")


def main(argv):
    if len(argv) > 1:
        _fail(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS.out:
        _fail("--out is required (the folder to write the world into)")
    config = config_lib.from_flags(SyntheticConfig)
    try:
        config.validate()
    except ValueError as e:
        _fail(str(e))
    try:
        folder = generate_world(FLAGS.out, config, FLAGS.overwrite)
    except (DataError, OSError) as e:
        _fail(str(e))
    print(summary(folder))


def parse_flags(argv):
    """absl flag parsing with this command's errors: `error: …`, exit status 2 (0 after --help)."""
    with config_lib.help_exits_zero(argv):
        try:
            return FLAGS(argv)
        except flags.Error as e:
            _fail(str(e))


def _fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def run():
    run_command(main, interrupted=INTERRUPTED, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
