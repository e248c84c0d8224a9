"""I-VBPR / I-TVBPR on the synthetic visual world: ranking, and do the affinities read true?

    nice python bench/interpretable_visual_world.py [--models ivbpr,itvbpr] [--work_dir DIR]

Trains each model with its flagfile on the visual test world of tests/visual_world.py (its
`attribute_probs.npz`: 31 named features from the classifier pretrained on another world's
catalogue), evaluates full AUC on the test split, and compares every user's affinity
p_u = Eᵀθ_u + β' (the I-VBPR seed, eq. 5) with the world's true taste over the same
"attribute=value" names: the correlation of the two after centring each attribute's values
(probabilities of one attribute sum to one, so only differences within an attribute are
identifiable), and how often the value p_u prefers within an attribute is the true favourite.
"""
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))

import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)
from absl import app, flags, logging  # noqa: E402

flags.DEFINE_list("models", ["ivbpr", "itvbpr"], "Flagfiles in configs/ to train.")
flags.DEFINE_string("work_dir", "/tmp/tfvisrec-bench/interpretable-visual-world", "Run folders.")
FLAGS = flags.FLAGS


def affinity_agreement(trained, truth):
    """(mean within-attribute-centred correlation of p_u with the true taste over users,
    share of (user, attribute) whose preferred value is the true favourite, chance share)."""
    import numpy as np
    names = trained.features.names
    truth_names = [f"{a}={v}" for a, values in zip(truth.attribute_names, truth.attribute_values) for v in values]
    common = [n for n in names if n in truth_names]
    ours, theirs = [names.index(n) for n in common], [truth_names.index(n) for n in common]
    groups = [np.array([n.split("=")[0] == a for n in common]) for a in dict.fromkeys(n.split("=")[0] for n in common)]
    correlations, agree = [], []
    for name in trained.dataset.user_ids:
        p = trained.affinity(trained.user(name))[ours]
        t = truth.weights_end[truth.user_index(name)][theirs].astype(np.float64)
        p_centred, t_centred = p.copy(), t.copy()
        for g in groups:
            p_centred[g] -= p[g].mean()
            t_centred[g] -= t[g].mean()
            agree.append(np.argmax(p[g]) == np.argmax(t[g]))
        correlations.append(np.corrcoef(p_centred, t_centred)[0, 1])
    return float(np.mean(correlations)), float(np.mean(agree)), float(np.mean([1 / g.sum() for g in groups]))


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)    # the table is the output
    from tfvisrec.data.synthetic import load_truth
    from tfvisrec.evaluation import protocols
    from tfvisrec.interpretable_run import load_interpretable_run
    from tfvisrec.models import model_flags
    from tfvisrec.training import fit
    from visual_world import cached_visual_world
    world = cached_visual_world()
    dataset, truth = world.load_dataset(), load_truth(world.world_dir)
    oracle = world.oracle_results(dataset)
    rows = [f"| oracle | {oracle['full_auc/auc']:.4f} | {oracle['full_auc/auc_cold']:.4f} | – | – |"]
    for name in FLAGS.models:
        model_dir = os.path.join(FLAGS.work_dir, name)
        model_config, train_config = model_flags.configs_from_flagfile(
            os.path.join(REPO_ROOT, "configs", f"{name}.cfg"), dataset=dataset.path, model_dir=model_dir,
            resume=False, verbose=0)
        model, _ = fit(model_config, train_config, dataset=dataset)
        results = protocols.evaluate(model, dataset, ["full_auc"], split="test")
        correlation, agree, chance = affinity_agreement(load_interpretable_run(model_dir), truth)
        rows.append(f"| {name} | {results['full_auc/auc']:.4f} | {results['full_auc/auc_cold']:.4f} | "
                    f"{correlation:.2f} | {agree:.2f} (chance {chance:.2f}) |")
    print("| model | AUC | AUC cold | corr(p_u, true taste) | preferred value = true favourite |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
