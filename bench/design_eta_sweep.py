"""DVBPR's Figure 3: preference against quality of the designed items δ̂(u, c) as the realism
weight η of eq. 10 varies (small η: the shopper's score wins over the discriminator's
judgement; large η: the designs stay where D finds them real).

    nice python bench/design_eta_sweep.py --synthetic_dir /tmp/design-world --out sweep.png
    nice python bench/design_eta_sweep.py --gan_dir runs/gan --dvbpr_dir runs/dvbpr \\
        --classifier_dir runs/hm_attributes [--etas 0,0.1,1,10] [--users 5] [--out sweep.png]

For each η, the top k of `restarts` preference-maximised designs of every user × category
(`tfvisrec.design.comparison`, row `designed`): mean preference θ_uᵀΦ, quality (the
inception-style score of all of them pooled, by our own category classifier, whose held-out
accuracy is printed) and diversity; random real, random generated and retrieved (δ) items of
the same users and categories are the reference points. Prints a Markdown table and draws
the curve (PNG, written atomically).
"""
import io
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)
from absl import app, flags  # noqa: E402

from bench import design_common  # noqa: E402

design_common.define_flags(users=5, restarts=32, steps=50)
flags.DEFINE_list("etas", ["0", "0.1", "0.3", "1", "3", "10", "30"], "Realism weights η of eq. 10.")
flags.DEFINE_string("out", "design_eta_sweep.png", "The PNG of the curve.")
FLAGS = flags.FLAGS
REFERENCES = (("random_real", "random real", "s"), ("random_generated", "random generated", "^"),
              ("retrieved", "retrieved (δ)", "D"))


def draw(sweep, references, title, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from tfvisrec import atomic
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    quality = [row["quality"] for _, row in sweep]
    preference = [row["preference"] for _, row in sweep]
    ax.plot(quality, preference, "o-", color="tab:red", label="designed δ̂ (top k)")
    for (eta, row) in sweep:
        ax.annotate(f"η={eta:g}", (row["quality"], row["preference"]), textcoords="offset points",
                    xytext=(5, 4), fontsize=8)
    for key, label, marker in REFERENCES:
        ax.plot([references[key]["quality"]], [references[key]["preference"]], marker, color="tab:gray",
                markersize=7, linestyle="none", label=label)
    ax.set_xlabel("quality: inception-style score with our category classifier")
    ax.set_ylabel("preference: mean θ_uᵀΦ(X)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic.write_bytes(path, buffer.getvalue())


def format_sweep(sweep, references) -> str:
    lines = ["| items | η | preference | quality | diversity |", "|---|---:|---:|---:|---:|"]
    for key, label, _ in REFERENCES:
        row = references[key]
        lines.append(f"| {label} | | {row['preference']:.4f} | {row['quality']:.3f} | {row['diversity']:.3f} |")
    for eta, row in sweep:
        lines.append(f"| designed δ̂ | {eta:g} | {row['preference']:.4f} | {row['quality']:.3f} | "
                     f"{row['diversity']:.3f} |")
    return "\n".join(lines)


def main(argv):
    from tfvisrec.data.item_features import ItemFeatureTable
    from tfvisrec.design import comparison
    from tfvisrec.design.preference import PreferenceMaximiser
    try:
        etas = sorted(float(e) for e in FLAGS.etas)
    except ValueError:
        raise app.UsageError(f"--etas must be numbers, got {FLAGS.etas}")
    if not etas or etas[0] < 0:
        raise app.UsageError(f"--etas must be ≥ 0, got {FLAGS.etas}")
    setup = design_common.load_setup()
    print(setup.describe(), flush=True)
    table = ItemFeatureTable.for_model(setup.dvbpr, setup.data)
    common = dict(users=setup.users, categories=setup.categories, k=FLAGS.k, restarts=FLAGS.restarts,
                  steps=FLAGS.steps, learning_rate=FLAGS.design_learning_rate, seed=FLAGS.seed,
                  classifier=setup.classifier, item_table=table)
    references = comparison.compare(PreferenceMaximiser(setup.gan, setup.dvbpr, eta=0.0), setup.data,
                                    rows=[key for key, _, _ in REFERENCES], **common)
    sweep = []
    for eta in etas:       # a maximiser per η: η is a constant of its traced objective
        row = comparison.compare(PreferenceMaximiser(setup.gan, setup.dvbpr, eta=eta), setup.data,
                                 rows=["designed"], **common)["designed"]
        sweep.append((eta, row))
        print(f"eta {eta:g}: preference {row['preference']:.4f}, quality {row['quality']:.3f}, "
              f"diversity {row['diversity']:.3f}", flush=True)
    print(format_sweep(sweep, references))
    names = ", ".join(setup.data.categories[c] for c, _ in setup.categories)
    draw(sweep, references, f"{len(setup.users)} users × {names}; k={FLAGS.k}, "
                            f"{FLAGS.restarts} restarts × {FLAGS.steps} steps", FLAGS.out)
    print(f"wrote {FLAGS.out}")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
