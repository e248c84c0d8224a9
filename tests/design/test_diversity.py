"""Eq. 11 on the synthetic world: with a GAN trained on the category world's photos, drawing the
k designs with probability softmax(objective) returns more varied images (diversity = 1 − mean
pairwise SSIM, `metrics.ssim_diversity`, the Table IV column) than the plain top k of the same
restarts, which pile up on the few z' the ascent drives to the same optimum.

How much depends on the GAN: one whose ascent drives every restart to one optimum leaves
nothing to choose between (seed 42 on some CPUs: 0.23 against 0.20), so the means are taken
over three GANs of different seeds. It also depends on the CPU's rounding: on an Intel Xeon the
same seeds give GANs whose restarts pile up (top k's diversity 0.15-0.22 on average) with
oneDNN on, and stay apart (0.55-0.62) with it off. So the ascent runs 50 steps (with 20 the gap
was 0.49-0.61 with oneDNN on, 0.11-0.27 off) and the bar is a gap of 0.1."""
import numpy as np

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tf_keras as keras

from tfvisrec.config import TrainConfig
from tfvisrec.data.dataset import load_dataset
from tfvisrec.design import comparison
from tfvisrec.design.preference import PreferenceMaximiser
from tfvisrec.models import registry
from tfvisrec.training import building, loop

GAN_SEEDS = (1, 2, 3)


def test_eq_11_sampling_is_more_diverse_than_top_k(tmp_path):
    from tiny_worlds import write_category_image_dataset
    data_dir = write_category_image_dataset(str(tmp_path / "world"), size=16)
    dataset = load_dataset(data_dir)
    keras.utils.set_random_seed(0)
    dvbpr = building.build_model(registry.new_config("dvbpr", image_size=32, fc_width=16, visual_dim=4,
                                                     dropout=0.0, init_stddev=1.0), dataset)
    top_k, sampled = [], []
    for seed in GAN_SEEDS:
        gan, _ = loop.fit(registry.new_config("gan", image_size=16, gan_width=8, latent_dim=8, seed=seed),
                          TrainConfig(dataset=data_dir, model_dir=str(tmp_path / f"gan{seed}"), epochs=10,
                                      steps_per_epoch=12, batch_size=16, learning_rate=0.002,
                                      eval_every_epochs=10, patience=0, verbose=0),
                          dataset=dataset)
        table = comparison.compare(PreferenceMaximiser(gan, dvbpr, eta=1.0), dataset, users=[0, 1, 2],
                                   categories=[(0, 0)], k=3, restarts=12, steps=50, learning_rate=0.1)
        top_k.append(table["designed"]["diversity"])
        sampled.append(table["designed_sampled"]["diversity"])
    # measured on an Intel Xeon, over 4 seeds of the DVBPR: gaps 0.55-0.70 (seed 0: 0.22 against
    # 0.77); with oneDNN off 0.22-0.28 (seed 0: 0.56 against 0.83)
    assert np.mean(sampled) > np.mean(top_k) + 0.1, (top_k, sampled)
