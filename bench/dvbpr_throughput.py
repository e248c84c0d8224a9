"""DVBPR training throughput: is the input pipeline the bottleneck?

    nice python bench/dvbpr_throughput.py [--dataset DIR | --hm_dir ../shared/data/hm] [--sizes 64,224]

For each image size, triplets/s of the DVBPR train step (configs/dvbpr.cfg: BPR loss,
Siamese CNN-F forward and backward, Adam update) fed three ways:

| feed | what runs per step |
|---|---|
| `jpeg` | the `bpr_triplets` tf.data pipeline decoding the 2·B JPEGs of each batch |
| `cache` | the same pipeline gathering from the in-memory uint8 image cache |
| `tensor` | one ready batch held in memory, fed again and again: the ceiling |

Each feed runs `--warmup` steps (tracing, autotuning, filling the prefetch buffer), then is
timed over a fixed number of steps (`--steps`, per size). The pipeline is not the
bottleneck when `jpeg` and `cache` reach >= 90% of `tensor`.
Data: the real H&M photos when `--hm_dir` exists (ingested once into `--work_dir`), else a
synthetic style world.
"""
import os
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)
from absl import app, flags  # noqa: E402

flags.DEFINE_string("dataset", "", "A dataset folder with images (default: H&M, else synthetic).")
flags.DEFINE_string("hm_dir", os.path.join(os.path.dirname(REPO_ROOT), "shared", "data", "hm"),
                    "The H&M sample; used when it exists and --dataset is not given.")
flags.DEFINE_string("work_dir", "/tmp/tfvisrec-bench", "Where ingested data goes.")
flags.DEFINE_string("flagfile_model", os.path.join(REPO_ROOT, "configs", "dvbpr.cfg"), "Model flagfile.")
flags.DEFINE_list("sizes", ["64", "224"], "Image sizes to measure.")
flags.DEFINE_list("steps", ["64:60", "224:6"], "Timed steps per size (size:steps); others use 10.")
flags.DEFINE_integer("warmup", 3, "Untimed steps before timing each feed.")
flags.DEFINE_integer("batch_size", 128, "Triplets per step (128 in the DVBPR paper).")
FLAGS = flags.FLAGS
FEEDS = ("jpeg", "cache", "tensor")


def resolve_dataset():
    """The dataset folder to read: --dataset, H&M (ingested once), or a synthetic world."""
    if FLAGS.dataset:
        return FLAGS.dataset, os.path.basename(os.path.abspath(FLAGS.dataset))
    if os.path.isdir(FLAGS.hm_dir):
        from bench import hm_common
        dataset = hm_common.load_or_ingest(FLAGS.hm_dir, FLAGS.work_dir, seed=0, with_images=True)
        return dataset.path, "H&M (real photos, 120×180 JPEG)"
    from tfvisrec.demo import prepare_world
    _, out = prepare_world(os.path.join(FLAGS.work_dir, "synthetic"), 300, 600, seed=0)
    return out, "synthetic style world (64×64 JPEG)"


def make_train_step(model, optimizer):
    """The trainer's step (tfvisrec/training/loop.py) for one replica."""
    import tensorflow as tf

    @tf.function
    def train_step(batch):
        with tf.GradientTape() as tape:
            loss = model.compute_loss(batch, training=True)
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return train_step


def timed(step, batches, warmup, steps):
    """Triplets/s over `steps` steps after `warmup` untimed ones (each step's loss fetched,
    so the time includes the whole step)."""
    for _ in range(warmup):
        step(next(batches)).numpy()
    started = time.perf_counter()
    for _ in range(steps):
        step(next(batches)).numpy()
    return FLAGS.batch_size * steps / (time.perf_counter() - started)


def measure(dataset, size, steps):
    """{feed: triplets/s} at one image size."""
    import itertools
    import tf_keras as keras
    from tfvisrec.models import model_flags
    from tfvisrec.data import pipelines
    from tfvisrec.data.item_features import ItemFeatureTable
    from tfvisrec.models import registry
    from tfvisrec.models.base import DataInfo

    model_config, _ = model_flags.configs_from_flagfile(FLAGS.flagfile_model, image_size=size,
                                                       backbone_weights="")
    keras.utils.set_random_seed(0)
    model = registry.build(model_config, DataInfo.from_dataset(dataset))
    optimizer = keras.optimizers.Adam(1e-4)
    optimizer.build(model.trainable_variables)
    step = make_train_step(model, optimizer)
    results = {}
    for feed in ("cache", "jpeg"):
        table = ItemFeatureTable(dataset, model.item_feature_keys, image_size=size,
                                 cache="memory" if feed == "cache" else "decode")
        data = pipelines.make_pipeline("bpr_triplets", dataset=dataset, item_table=table,
                                       batch_size=FLAGS.batch_size, seed=0, epoch=0,
                                       steps_per_epoch=FLAGS.warmup + steps)
        results[feed] = timed(step, iter(data), FLAGS.warmup, steps)
        if feed == "cache":
            ready = next(iter(data))      # one batch, kept as tensors: the ceiling's input
        del table, data
    results["tensor"] = timed(step, itertools.repeat(ready), FLAGS.warmup, steps)
    return results


def main(argv):
    del argv
    import tensorflow as tf
    from tfvisrec.data.dataset import load_dataset
    path, description = resolve_dataset()
    dataset = load_dataset(path)
    steps_for = {int(k): int(v) for k, v in (s.split(":") for s in FLAGS.steps)}
    print(f"data: {description}; {dataset.num_items} items, {len(dataset.train)} training triplets/epoch")
    print(f"model: {FLAGS.flagfile_model} (batch {FLAGS.batch_size} triplets = "
          f"{2 * FLAGS.batch_size} images per step); {os.cpu_count()} CPU cores, "
          f"TensorFlow {tf.__version__}")
    lines = ["| size | steps | feed | triplets/s | % of ceiling |", "|---|---|---|---|---|"]
    for size in (int(s) for s in FLAGS.sizes):
        steps = steps_for.get(size, 10)
        results = measure(dataset, size, steps)
        for feed in FEEDS:
            share = 100.0 * results[feed] / results["tensor"]
            lines.append(f"| {size} | {steps} | {feed} | {results[feed]:.1f} | {share:.0f}% |")
        print("\n".join(lines[-3:]), flush=True)
    print("\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
