"""`python -m tfvisrec.trends`: fashion trends as named features' influence per time epoch.

    python -m tfvisrec.trends --model_dir runs/itvbpr --out trends/ [--top 8] [--rank_by variation]

On a trained I-TVBPR run, computes influence_k(t) = θ̄ᵀ((1 + w(t)) ⊙ W_k + ΔW_k(t)) + β'_k(t)
for every named feature k and time epoch t (the I-VBPR seed, eq. 8; `models/trends.py`) and
writes, each atomically (temporary file, then rename):

- `<out>/trends.csv`: one row per epoch (epoch, start, end in unix seconds, empty at the open
  ends of the first and last epochs), one column per feature;
- `<out>/trends.png`: the influence over the epochs of the --top features that move most
  (--rank_by variation: largest max − min over epochs) or weigh most (magnitude: largest mean |·|).

A run of another model, or a missing run, prints `error: …` and exits with status 2.
"""
import io
import os
import sys
from datetime import datetime, timezone

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
from absl import flags

from tfvisrec.config import UsageError, define_once
from tfvisrec.interruption import run_command

define_once(flags.DEFINE_string, "model_dir", "", "Folder of a trained itvbpr run.")
define_once(flags.DEFINE_string, "out", "", "Folder to write trends.csv and trends.png into.")
define_once(flags.DEFINE_integer, "top", 8, "How many features to plot.")
define_once(flags.DEFINE_enum, "rank_by", "variation",
            "Plot the features whose influence varies most over time, or is largest on average.",
            enum_values=["variation", "magnitude"])
define_once(flags.DEFINE_bool, "visual_bias", True, "Include the visual bias β'(t) in the influence (seed eq. 8).")
define_once(flags.DEFINE_enum, "checkpoint", "best", "Which checkpoint to load.", enum_values=["best", "latest"])
FLAGS = flags.FLAGS

CSV_NAME, PNG_NAME = "trends.csv", "trends.png"


def ranked_features(influence, rank_by: str, top: int):
    """Columns of the `top` features by `rank_by`, first = most."""
    import numpy as np
    key = (influence.max(axis=0) - influence.min(axis=0)) if rank_by == "variation" else np.abs(influence).mean(axis=0)
    return np.argsort(-key, kind="stable")[:top]


def epoch_labels(boundaries, time_range):
    """'YYYY-MM-DD – YYYY-MM-DD' per epoch; the open outer epochs end at the training data's range."""
    edges = [int(time_range[0])] + [int(b) for b in boundaries] + [int(time_range[1])]
    day = lambda t: datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d")  # noqa: E731
    return [f"{day(a)}\n– {day(b)}" for a, b in zip(edges[:-1], edges[1:])]


def trends_png(trends, columns, labels, title: str) -> bytes:
    """A line per feature in `columns`: influence against the epochs → PNG bytes."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    epochs = list(range(trends.influence.shape[0]))
    figure, axes = plt.subplots(figsize=(9, 5), dpi=110)
    for column in columns:
        axes.plot(epochs, trends.influence[:, column], marker="o", label=trends.feature_names[column])
    axes.axhline(0.0, color="grey", linewidth=0.8)
    axes.set_xticks(epochs, labels, fontsize=8)
    axes.set_xlabel("time epoch")
    axes.set_ylabel("influence on the average user's score\n(per unit of probability)")
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def write_trends(trained, out: str, top: int = 8, rank_by: str = "variation", visual_bias: bool = True):
    """trends.csv and trends.png of an I-TVBPR run `trained` into `out` → (csv path, png path, columns)."""
    from tfvisrec import atomic
    from tfvisrec.models.trends import model_feature_trends, write_trends_csv
    trends = model_feature_trends(trained.model, trained.features.names, include_visual_bias=visual_bias)
    columns = ranked_features(trends.influence, rank_by, top)
    csv_path, png_path = os.path.join(out, CSV_NAME), os.path.join(out, PNG_NAME)
    write_trends_csv(csv_path, trends)
    title = (f"{trained.model.registered_name}: the {len(columns)} named features whose influence "
             f"{'varies most' if rank_by == 'variation' else 'is largest'} over {trends.influence.shape[0]} epochs")
    labels = epoch_labels(trends.boundaries, trained.model.data_info.time_range)
    atomic.write_bytes(png_path, trends_png(trends, columns, labels, title))
    return csv_path, png_path, [trends.feature_names[c] for c in columns]


def main(argv):
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS.model_dir or not FLAGS.out:
        raise UsageError("--model_dir and --out are required")
    if FLAGS.top < 1:
        raise UsageError("--top must be at least 1")
    if FLAGS.out.lower().endswith((".png", ".csv")):
        raise UsageError(f"--out names the folder trends.csv and trends.png go into, got the file name {FLAGS.out!r}")
    from tfvisrec.data.errors import DataError
    from tfvisrec.atomic import require_writable
    from tfvisrec.interpretable_run import load_interpretable_run
    try:
        require_writable(FLAGS.out, "--out", folder=True)
        trained = load_interpretable_run(FLAGS.model_dir, FLAGS.checkpoint)
        if not trained.is_temporal:
            raise DataError(f"is a {trained.model.registered_name} run; trends need a temporal model (itvbpr)",
                            FLAGS.model_dir)
        csv_path, png_path, plotted = write_trends(trained, FLAGS.out, FLAGS.top, FLAGS.rank_by, FLAGS.visual_bias)
    except (DataError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {csv_path} ({trained.num_epochs} epochs × {len(trained.features.names)} features) and {png_path} "
          f"(top {len(plotted)} by {FLAGS.rank_by}: {', '.join(plotted)})")
    return 0


def run():
    run_command(main, interrupted="interrupted: nothing partial was written (trends.csv and trends.png are written "
                "at the end, each whole into a temporary file, then renamed)")


if __name__ == "__main__":
    run()
