"""Peak resident memory of loading a large `features.npy`, of training VBPR on it and of exporting it,
and of fitting VisRank and training TVBPR (learned epochs) on it.

    python bench/feature_loading_memory.py [--work_dir /tmp/tfvisrec-bench/feature-memory] [--num_items 50000] [--feature_dim 4096] [--steps 5] [--rows visrank,tvbpr]

Writes (once, cached in `--work_dir`) a world of `--num_items` items bought by 2,000 users (each
purchase a day apart, the test item last) and a
float32 `features.npy` of `--num_items` × `--feature_dim` random numbers (50,000 × 4,096: 0.82 GB),
then runs each row in a fresh Python process and reads that process's peak resident set size
(`ru_maxrss` of `os.wait4`, what `/usr/bin/time -v` prints as "Maximum resident set size"):

- TensorFlow alone (imported, one op run): what every row pays before any feature;
- the features as `tf.constant(np.load(...))`, captured by a `tf.data` map that is iterated
  (how `ItemFeatureTable` held them before `data/host_matrix.py`);
- `ItemFeatureTable` and two batches of VBPR's training pipeline (`bpr_triplets`);
- `python -m tfvisrec.train --flagfile=configs/vbpr.cfg --epochs=1 --steps_per_epoch=<steps>`
  (with its validation over the whole catalogue) and `python -m tfvisrec.export` of that run;
- `python -m tfvisrec.train --flagfile=configs/visrank.cfg` (max pooling: `prepare` fills the
  unit features f / ‖f‖ it keeps as a weight, then one validation) and `python -m tfvisrec.export`
  of that run, whose SavedModel's `variables/` size is printed below the table;
- `python -m tfvisrec.train --flagfile=configs/tvbpr.cfg --segment_every=1 --epochs=1
  --steps_per_epoch=<steps>`: learned epochs re-fitted once, which scores the catalogue's f_i.
"""
import os
import resource
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_USERS, PER_USER = 2000, 10
_DAY_ONE = 1_600_000_000   # a Unix time (September 2020)

flags.DEFINE_string("work_dir", "/tmp/tfvisrec-bench/feature-memory", "Where the world, run and export are kept.")
flags.DEFINE_integer("num_items", 50000, "Items in the catalogue.")
flags.DEFINE_integer("feature_dim", 4096, "Width F of features.npy (4,096: fc7 of CNN-F / AlexNet).")
flags.DEFINE_integer("steps", 5, "Training steps of the VBPR and TVBPR runs.")
flags.DEFINE_list("rows", [], "Only the rows whose label has one of these words (e.g. visrank,tvbpr); "
                  "TensorFlow alone always runs. Default: every row.")
FLAGS = flags.FLAGS
VBPR_EXPORT = "export that run"
VISRANK_EXPORT = "export the visrank run (its SavedModel's variables/ size below the table)"

_TF_ALONE = "import tfvisrec, tensorflow as tf; tf.constant(1.0)"
_CONSTANT = """
import numpy as np, tfvisrec, tensorflow as tf
table = tf.constant(np.load({path!r}), tf.float32)
for _ in tf.data.Dataset.range(2).map(lambda i: tf.gather(table, [i])): pass
"""
_TABLE = """
import tfvisrec
from tfvisrec.data import pipelines
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.item_features import ItemFeatureTable
dataset = load_dataset({world!r})
table = ItemFeatureTable(dataset, ("item", "features"))
batches = pipelines.make_pipeline("bpr_triplets", dataset=dataset, item_table=table, batch_size=256,
                                  seed=1, epoch=0, steps_per_epoch=2, num_negatives=8)
for _ in batches: pass
"""


def write_world(folder: str, num_items: int, feature_dim: int) -> str:
    """The benchmark world in `folder` (written into a temporary folder and renamed when whole)."""
    import numpy as np
    from tfvisrec.data import dataset as dataset_lib
    if os.path.exists(os.path.join(folder, "features.npy")):
        return folder
    partial = folder + ".partial"
    rng = np.random.default_rng(0)
    columns = {name: ([], [], []) for name in ("train", "valid", "test")}
    for user in range(NUM_USERS):
        for k, item in enumerate(rng.choice(num_items, size=PER_USER, replace=False)):
            name = "test" if k == 0 else "valid" if k == 1 else "train"
            columns[name][0].append(user)
            columns[name][1].append(item)
            columns[name][2].append(_DAY_ONE + (PER_USER - k) * 86400 + user)   # TVBPR's timestamps
    splits = {name: dataset_lib.Split(*(np.array(column, np.int64) for column in lists))
              for name, lists in columns.items()}
    meta = {"name": "feature_memory", "kind": "interactions", "split": "leave_one_out", "seed": 0,
            "has_time": True, "cold_threshold": 5}
    dataset_lib.write_dataset(partial, meta, [f"u{u:05d}" for u in range(NUM_USERS)],
                              [f"i{i:06d}" for i in range(num_items)], splits,
                              dataset_lib.item_table(num_items, splits["train"].items))
    features = np.lib.format.open_memmap(os.path.join(partial, "features.npy"), mode="w+",
                                         dtype=np.float32, shape=(num_items, feature_dim))
    for start in range(0, num_items, 4096):
        rows = min(4096, num_items - start)
        features[start:start + rows] = np.abs(rng.normal(size=(rows, feature_dim)))
    features.flush()
    del features
    os.replace(partial, folder)
    return folder


def peak_rss_gb(command) -> float:
    """Peak resident set size (GB) of `command` run to completion; its output is discarded."""
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"error: {' '.join(command[:3])} … exited {process.returncode}:\n"
                         + stderr.decode(errors="replace")[-2000:])
    return usage.ru_maxrss / 1e6   # kB on Linux


def main(_):
    # written by a child: a process inherits its parent's peak RSS through fork and exec, so this
    # one imports neither numpy nor TensorFlow
    world = os.path.join(FLAGS.work_dir, f"timed-world-{FLAGS.num_items}x{FLAGS.feature_dim}")
    peak_rss_gb([sys.executable, "-c", "from bench.feature_loading_memory import write_world; "
                 f"write_world({world!r}, {FLAGS.num_items}, {FLAGS.feature_dim})"])
    path = os.path.join(world, "features.npy")
    file_gb = os.path.getsize(path) / 1e9
    run_dir, export_dir = os.path.join(FLAGS.work_dir, "run"), os.path.join(FLAGS.work_dir, "export")
    python = sys.executable
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB peak RSS, "
          "which every row inherits)")
    rows = [
        ("TensorFlow alone", [python, "-c", _TF_ALONE]),
        ("tf.constant(np.load(...)) in a tf.data map (the old table)", [python, "-c", _CONSTANT.format(path=path)]),
        ("ItemFeatureTable + 2 batches of bpr_triplets", [python, "-c", _TABLE.format(world=world)]),
        (f"train vbpr, {FLAGS.steps} steps + validation",
         [python, "-m", "tfvisrec.train", "--flagfile=configs/vbpr.cfg", f"--dataset={world}",
          f"--model_dir={run_dir}", "--noresume", "--epochs=1", f"--steps_per_epoch={FLAGS.steps}", "--verbose=0"]),
        (VBPR_EXPORT, [python, "-m", "tfvisrec.export", f"--model_dir={run_dir}", f"--dataset={world}",
                       f"--export_base={export_dir}"]),
        ("train visrank (max pooling: prepare + validation)",
         [python, "-m", "tfvisrec.train", "--flagfile=configs/visrank.cfg", f"--dataset={world}",
          f"--model_dir={run_dir}-visrank", "--noresume", "--verbose=0"]),
        (VISRANK_EXPORT, [python, "-m", "tfvisrec.export", f"--model_dir={run_dir}-visrank",
                          f"--dataset={world}", f"--export_base={export_dir}-visrank"]),
        (f"train tvbpr, learned epochs re-fitted once, {FLAGS.steps} steps + validation",
         [python, "-m", "tfvisrec.train", "--flagfile=configs/tvbpr.cfg", f"--dataset={world}",
          f"--model_dir={run_dir}-tvbpr", "--noresume", "--epochs=1", "--segment_every=1",
          f"--steps_per_epoch={FLAGS.steps}", "--verbose=0"]),
    ]
    print(f"features.npy: {FLAGS.num_items} × {FLAGS.feature_dim} float32, {file_gb:.2f} GB\n")
    print("| process | peak RSS (GB) | above TensorFlow alone (GB) | that ÷ file size |")
    print("|---|---|---|---|")
    alone, ran = None, set()
    for label, command in rows:
        if alone is not None and FLAGS.rows and not any(word in label for word in FLAGS.rows):
            continue
        ran.add(label)
        peak = peak_rss_gb(command)
        alone = peak if alone is None else alone
        print(f"| {label} | {peak:.2f} | {peak - alone:.2f} | {(peak - alone) / file_gb:.2f} |", flush=True)
    for label, base in ((VBPR_EXPORT, export_dir), (VISRANK_EXPORT, export_dir + "-visrank")):
        if label in ran:
            print(f"\n{base}: variables/ of version {_latest_version(base)} holds {_variables_bytes(base):,} bytes")


def _latest_version(base: str) -> str:
    return max((name for name in os.listdir(base) if name.isdigit()), key=int)


def _variables_bytes(base: str) -> int:
    folder = os.path.join(base, _latest_version(base), "variables")
    return sum(os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder))


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
