"""H&M bench: the visual recommenders beside the collaborative ones, one split, one table.

    pip install -r bench/requirements.txt
    python bench/visual_hm.py --backbone_weights=runs/hm_attributes \\
        [--hm_dir=../shared/data/hm] [--work_dir=/tmp/tfvisrec-bench] [--seed=0] [--saers_regions=roi]

--backbone_weights is the fashion-pretrained backbone (no ImageNet weights can be downloaded
here): the attribute classifier of configs/attributes.cfg (labelled catalogue), then of
configs/hm_attributes.cfg (the labelled H&M articles; commands in those flagfiles and in
bench/attribute_pretraining.py). The bench

1. ingests ../shared/data/hm with its photos once (same adapter, filter and leave-one-out
   split as bench/cf_baselines_hm.py) into <work_dir>/hm-images-seed<seed>;
2. extracts the fixed item features (penultimate layer + attribute probabilities) with
   `tfvisrec.vision.features` into that folder, again only when missing or made from other
   weights, and SAERS' attribute regions (`regions.npz`; f_a^k per --saers_regions) when one
   of --models reads them;
3. trains every --models entry with the shared trainer from its flagfile (the end-to-end
   models, DVBPR and ImgRec-EtE, start from --backbone_weights), fits the peers, evaluates
   all of them with the same full-catalogue AUC code, and prints one Markdown table (also
   <work_dir>/visual-results-seed<seed>.{md,json} and a bar chart .png, written atomically).
"""
import json
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)
from absl import app, flags  # noqa: E402

from bench import hm_common  # noqa: E402
from bench.hm_features import ensure_features, needs_regions, reads_any  # noqa: E402
from bench import peers as peers_lib  # noqa: E402

CF_MODELS = ["poprank=configs/poprank.cfg", "bprmf=configs/hm_bprmf.cfg"]
VISUAL_MODELS = ["visrank=configs/visrank.cfg", "fm=configs/hm_fm.cfg",
                 "vbpr=configs/hm_vbpr.cfg", "deepstyle=configs/hm_deepstyle.cfg",
                 "tvbpr=configs/hm_tvbpr.cfg", "dvbpr=configs/hm_dvbpr.cfg",
                 "imgrec_dir=configs/imgrec_dir.cfg", "imgrec_ft=configs/imgrec_ft.cfg",
                 "imgrec_ete=configs/hm_imgrec_ete.cfg",
                 "ivbpr=configs/hm_ivbpr.cfg", "itvbpr=configs/hm_itvbpr.cfg",
                 "saers_fixed=configs/hm_saers_fixed.cfg", "saf_only=configs/hm_saf_only.cfg",
                 "vbpr_saf=configs/hm_vbpr_saf.cfg", "saers_no_saf=configs/hm_saers_no_saf.cfg"]

flags.DEFINE_string("hm_dir", hm_common.DEFAULT_HM_DIR,
                    "Folder with the H&M sample and its photos (see ../shared/data/README.md).")
flags.DEFINE_string("backbone_weights", "",
                    "Fashion-pretrained backbone: a model_dir of configs/attributes.cfg (or any "
                    "checkpoint tfvisrec.vision.pretrained reads).")
flags.DEFINE_string("work_dir", "/tmp/tfvisrec-bench", "Cached dataset, model runs and results.")
flags.DEFINE_integer("seed", 0, "Seed of the leave-one-out split, of our models and of the peers.")
flags.DEFINE_list("models", CF_MODELS + VISUAL_MODELS,
                  "Our methods as label=flagfile (relative to the repository).")
flags.DEFINE_enum("saers_regions", "roi", ["roi", "probabilities"],
                  "f_a^k of SAERS' regions.npz (`python -m tfvisrec.vision.features --region_feature`): roi, "
                  "the paper's ROI-pooled maps, or the classifier's attribute probabilities.")
flags.DEFINE_string("reference", "bprmf", "Label of our method the fit-time ratios divide by.")
flags.DEFINE_list("peers", sorted(peers_lib.PEERS), "Peer methods to fit (bench/peers.py).")
FLAGS = flags.FLAGS


def pretraining_accuracy(weights):
    """The per-attribute held-out accuracy recorded next to the pretrained weights, if any."""
    path = os.path.join(weights, "attribute_accuracy.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        attributes = json.load(f)["attributes"]
    return ", ".join(f"{name} {a['test_accuracy']:.3f}" for name, a in sorted(attributes.items()))


def bar_chart(rows, kinds, path):
    """AUC all / cold per method as grouped bars, CF and visual rows coloured apart → PNG."""
    import io
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    positions = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(8, 0.8 * len(rows)), 4.5))
    colours = {"CF": ("#9e9e9e", "#616161"), "visual": ("#64b5f6", "#1565c0")}
    for offset, key, shade in ((-0.2, "auc", 0), (0.2, "auc_cold", 1)):
        ax.bar(positions + offset, [r[key] for r in rows], width=0.4,
               color=[colours[kinds[r["method"]]][shade] for r in rows])
    ax.axhline(0.5, color="black", linewidth=0.8, linestyle="--")
    ax.set_xticks(positions)
    ax.set_xticklabels([r["method"].split(" (")[0] for r in rows], rotation=35, ha="right")
    ax.set_ylim(0.0, 1.0)
    ax.set_ylabel("AUC (left bar: all, right: cold)")
    ax.set_title("H&M, full-catalogue AUC on the test split (grey: collaborative, blue: visual)")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    hm_common.write_atomic(path, buffer.getvalue())


def main(argv):
    ours = hm_common.checked_methods(argv, FLAGS)
    from tfvisrec.data.errors import DataError
    if not FLAGS.backbone_weights or not os.path.exists(FLAGS.backbone_weights):
        raise app.UsageError(
            f"--backbone_weights={FLAGS.backbone_weights!r} does not exist. Pretrain one on the "
            "labelled catalogue first (commands at the top of configs/attributes.cfg).")
    weights = os.path.abspath(FLAGS.backbone_weights)
    try:
        dataset = hm_common.load_or_ingest(FLAGS.hm_dir, FLAGS.work_dir, FLAGS.seed, with_images=True)
        ensure_features(dataset, weights, regions=needs_regions(ours.values()), region_feature=FLAGS.saers_regions)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(hm_common.describe(dataset, FLAGS.seed), flush=True)
    from tfvisrec.data import schema
    # by what each model reads: the photos (a CNN trained from --backbone_weights), or any visual input
    end_to_end = {label for label, flagfile in ours.items() if reads_any(flagfile, (schema.IMAGE,))}
    visual = {label for label, flagfile in ours.items()
              if reads_any(flagfile, (schema.IMAGE, schema.FEATURES, schema.REGIONS))}
    accuracy = pretraining_accuracy(weights)
    if accuracy:
        print(f"backbone {weights}: held-out attribute accuracy {accuracy}", flush=True)
    by_label = hm_common.run_all(
        ours, FLAGS.peers, dataset, FLAGS.work_dir, FLAGS.seed,
        overrides=lambda label: {"backbone_weights": weights} if label in end_to_end else {})
    rows, reference = list(by_label.values()), by_label[FLAGS.reference]
    kinds = {row["method"]: "visual" if label in visual else "CF" for label, row in by_label.items()}
    table = hm_common.markdown_table(rows, reference["fit_seconds"], kinds)
    print()
    print(table)
    print(f"\nFull-catalogue AUC on the test split; fit time ratio = fit time / "
          f"{reference['method']}'s. Our fit times include per-epoch validation.")
    cf = [r for r in rows if kinds[r["method"]] == "CF"]
    visual = [r for r in rows if kinds[r["method"]] == "visual"]
    if cf and visual:
        best_cf = max(cf, key=lambda r: r["auc_cold"])
        weakest = min(visual, key=lambda r: r["auc_cold"])
        best = max(visual, key=lambda r: r["auc"])
        print(f"Cold items: weakest visual {weakest['method']} {weakest['auc_cold']:.4f} vs best "
              f"CF {best_cf['method']} {best_cf['auc_cold']:.4f} "
              f"(margin {weakest['auc_cold'] - best_cf['auc_cold']:+.4f}); best visual on all "
              f"items: {best['method']} {best['auc']:.4f}.")
    stem = os.path.join(FLAGS.work_dir, f"visual-results-seed{FLAGS.seed}")
    hm_common.write_atomic(stem + ".md", table + "\n")
    hm_common.write_atomic(stem + ".json", json.dumps(rows, indent=2) + "\n")
    bar_chart(rows, kinds, stem + ".png")
    print(f"wrote {stem}.md, .json and .png")
    return 0


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
