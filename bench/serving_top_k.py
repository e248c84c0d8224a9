"""Top-K over the pre-embedded catalogue, side by side: what `recommend` should run.

    python bench/serving_top_k.py            # 100k items x 64 factors, K = 100, batches 1 and 32

Each candidate computes the K best items for a batch of user vectors; the time is the median
of `--repeats` calls of a tf.function (after one warm-up), in this process, beside the CPU
time per call (this process's, all threads: on a shared machine it moves less than the wall time):
- `matmul + tf.math.top_k`: scores U·Vᵀ, then top-k over all N (what `recommend` did);
- `matmul + block top-k`: the same scores, exact top-k by block maxima (tfvisrec/serving/top_k.py);
- `stored Vᵀ: matmul + block top-k`: the catalogue kept as [D, N] (`Servable.catalogue_columns`,
  what `recommend` runs), so the product is a plain matmul instead of one with transpose_b;
- `tfrs BruteForce`: TensorFlow Recommenders' brute-force index (matmul + top-k inside);
- `bfloat16 + rescoring`: a bfloat16 catalogue picks `--candidates` items per user, rescored
  exactly in float32 (exact unless the true top-K falls outside the candidates: counted).
Every candidate's top-K is compared with `tf.math.top_k`'s (values and item indices).
"""
import os
import sys
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfvisrec  # noqa: E402,F401
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)
import tensorflow as tf  # noqa: E402
try:
    import tensorflow_recommenders as tfrs  # noqa: E402  (bench/requirements.txt)
except ImportError:
    tfrs = None

from tfvisrec.serving.top_k import block_top_k  # noqa: E402

flags.DEFINE_integer("num_items", 100_000, "Catalogue size.")
flags.DEFINE_integer("dim", 64, "Factors.")
flags.DEFINE_integer("top_k", 100, "K.")
flags.DEFINE_list("batch_sizes", ["1", "32"], "Users per call.")
flags.DEFINE_integer("candidates", 400, "Candidates the bfloat16 pass keeps for rescoring.")
flags.DEFINE_integer("repeats", 30, "Timed calls per cell (median reported).")
FLAGS = flags.FLAGS


def candidates(catalogue, k):
    bf16 = tf.cast(catalogue, tf.bfloat16)
    columns = tf.constant(np.ascontiguousarray(np.transpose(catalogue.numpy())))

    def rescored(users):
        rough = tf.matmul(tf.cast(users, tf.bfloat16), bf16, transpose_b=True)
        _, pool = tf.math.top_k(tf.cast(rough, tf.float32), FLAGS.candidates)
        exact = tf.einsum("bd,bcd->bc", users, tf.gather(catalogue, pool))
        values, best = tf.math.top_k(exact, k)
        return values, tf.gather(pool, best, batch_dims=1)

    methods = {
        "matmul + tf.math.top_k": lambda u: tf.math.top_k(tf.matmul(u, catalogue, transpose_b=True), k),
        "matmul + block top-k": lambda u: block_top_k(tf.matmul(u, catalogue, transpose_b=True), k),
        "stored Vᵀ: matmul + block top-k": lambda u: block_top_k(tf.matmul(u, columns), k),
        f"bfloat16 + rescoring {FLAGS.candidates}": rescored,
    }
    if tfrs is None:
        print("tensorflow-recommenders is not installed (bench/requirements.txt): no tfrs row")
    else:
        index = tfrs.layers.factorized_top_k.BruteForce(k=k)
        index.index(catalogue, tf.range(catalogue.shape[0]))
        methods["tfrs BruteForce"] = lambda u: index(u, k=k)
    return methods


def timed(fn, users):
    """(median wall ms, mean CPU ms) per call."""
    fn(users)
    times = []
    cpu0 = time.process_time()
    for _ in range(FLAGS.repeats):
        t0 = time.perf_counter()
        values, indices = fn(users)
        values.numpy(), indices.numpy()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1000.0, (time.process_time() - cpu0) / FLAGS.repeats * 1000.0


def main(argv):
    del argv
    rng = np.random.default_rng(0)
    catalogue = tf.constant(rng.normal(size=(FLAGS.num_items, FLAGS.dim)).astype(np.float32))
    fns = {name: tf.function(fn) for name, fn in candidates(catalogue, FLAGS.top_k).items()}
    print(f"catalogue {FLAGS.num_items} x {FLAGS.dim}, K = {FLAGS.top_k}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| method | batch | ms per call | ms per user | CPU ms per call | top-K equal to tf.math.top_k |")
    print("|---|---|---|---|---|---|")
    for batch in [int(b) for b in FLAGS.batch_sizes]:
        users = tf.constant(rng.normal(size=(batch, FLAGS.dim)).astype(np.float32))
        reference = fns["matmul + tf.math.top_k"](users)
        for name, fn in fns.items():
            values, indices = fn(users)
            same_items = np.mean(np.sort(indices.numpy(), 1) == np.sort(reference.indices.numpy(), 1))
            equal = (np.allclose(values.numpy(), reference.values.numpy(), rtol=1e-5, atol=1e-5)
                     and same_items == 1.0)
            ms, cpu_ms = timed(fn, users)
            print(f"| {name} | {batch} | {ms:.2f} | {ms / batch:.3f} | {cpu_ms:.2f} | "
                  f"{'yes' if equal else f'no ({same_items:.1%} of items)'} |", flush=True)
    print(f"load average after the run: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
