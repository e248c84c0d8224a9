"""The synthetic category world trained for the design benches (`design_table.py`,
`design_eta_sweep.py --synthetic_dir DIR`): a GAN, a DVBPR and a category classifier,
each from its own flagfile (configs/gan.cfg, dvbpr.cfg, attributes.cfg) shrunk to the
world's 16 px drawings and trained by the shared trainer. About a minute or two on 2 CPU
cores; a folder that already holds the three runs is reused.

    folder/world/       the shoppers' dataset (`tfvisrec.data.synthetic.category_world`)
    folder/catalogue/   fresh drawings with their category, split train / valid / test
    folder/gan, folder/dvbpr, folder/classifier   the runs
"""
import os
from typing import Dict

SIZE = 16


def _trained(run_dir: str) -> bool:
    return os.path.exists(os.path.join(run_dir, "config.json")) and os.path.isdir(os.path.join(run_dir, "best"))


def ensure_runs(folder: str, seed: int = 0, verbose: int = 0) -> Dict[str, str]:
    """{"world", "catalogue", "gan", "dvbpr", "classifier"} folders under `folder`, written
    and trained when missing."""
    from tfvisrec.data.synthetic.category_world import write_category_catalogue, write_category_image_dataset
    from tfvisrec.models import model_flags
    from tfvisrec.training import fit
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = {name: os.path.join(folder, name) for name in ("world", "catalogue", "gan", "dvbpr", "classifier")}
    if not os.path.exists(os.path.join(paths["world"], "meta.json")):
        write_category_image_dataset(paths["world"], size=SIZE, seed=seed)
    if not os.path.exists(os.path.join(paths["catalogue"], "meta.json")):
        write_category_catalogue(paths["catalogue"], size=SIZE, seed=seed + 1)
    runs = {
        # 16 px, narrow nets, 20 epochs of 12 steps: samples of each category's colour and shape
        "gan": ("gan.cfg", "world", dict(image_size=SIZE, latent_dim=8, gan_width=8, learning_rate=0.002,
                                         batch_size=16, epochs=20, steps_per_epoch=12, samples_per_category=4)),
        # Φ at 32 px (the drawings upsized), a 4-d taste space; early stopping on validation AUC
        "dvbpr": ("dvbpr.cfg", "world", dict(image_size=2 * SIZE, fc_width=16, visual_dim=4, init_stddev=1.0,
                                             weight_decay=0.0, learning_rate=0.001, batch_size=32, epochs=8)),
        # the category as the only attribute (SAERS eq. 1 with one head)
        "classifier": ("attributes.cfg", "catalogue", dict(image_size=SIZE, fc_width=16, dropout=0.0,
                                                           weight_decay=0.0, learning_rate=0.003, batch_size=16,
                                                           epochs=25, patience=0)),
    }
    for name, (flagfile, data, overrides) in runs.items():
        if _trained(paths[name]):
            continue
        if verbose:
            print(f"training the world's {name} → {paths[name]}", flush=True)
        fit(*model_flags.configs_from_flagfile(
            os.path.join(repo, "configs", flagfile), dataset=paths[data], model_dir=paths[name],
            seed=seed, checkpoint_every=0, verbose=0, **overrides))
    return paths
