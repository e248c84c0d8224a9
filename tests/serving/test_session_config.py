"""--tensorflow_session_config_file: serving/session.config parses, bad files name what is
wrong, and the file (with the parallelism flags over it) reaches TensorFlow's runtime and the
signature calls (its executor type, control flow included)."""
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tfvisrec.data.errors import DataError
from tfvisrec.serving import session_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = os.path.join(REPO, "serving", "session.config")


def test_the_shipped_file_turns_thread_spinning_off_and_runs_ops_on_the_calling_thread():
    experimental = session_config.load(SHIPPED).experimental
    assert experimental.disable_thread_spinning
    assert experimental.executor_type == "SINGLE_THREADED_EXECUTOR"


def test_bad_files_are_named_with_what_is_wrong(tmp_path):
    with pytest.raises(DataError, match="no such session config file"):
        session_config.load(str(tmp_path / "missing.config"))
    bad = tmp_path / "bad.config"
    bad.write_text("experimental { spin_less: true }\n")
    with pytest.raises(DataError, match=r"bad.config.*no field named \"spin_less\""):
        session_config.load(str(bad))


def test_applying_after_tensorflow_started_is_refused():
    tf.constant(1.0) + 1.0  # the context of this process is running
    with pytest.raises(RuntimeError, match="already started"):
        session_config.apply(session_config.load(SHIPPED))


CALLS = """
import numpy as np
from tfvisrec.serving import flat_call

@tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
def plain(x):
    return {"y": x + 1.0}

@tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
def branching(x):  # lowered to Switch / Merge, the single-threaded executor would refuse it
    y = tf.cond(tf.reduce_sum(x) > 0, lambda: x * 2.0, lambda: x - 1.0)
    return {"y": tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y + 1.0), (0, y))[1]}

plain_call = flat_call.caller(plain.get_concrete_function())
branching_call = flat_call.caller(branching.get_concrete_function())
x = np.array([1.0, 2.0], np.float32)
print(plain_call({"x": x})["y"].tolist(), context.context().function_call_options.executor_type)
print(branching_call({"x": x})["y"].tolist(), branching_call({"x": -x})["y"].tolist(),
      plain_call({"x": x})["y"].tolist())
"""


def test_server_flags_reach_the_runtime_in_a_fresh_process(tmp_path):
    """The file's setting holds, --tensorflow_intra_op_parallelism overrides its thread count
    (as TF Serving: flags over the file), and signature calls use its executor, also on a
    graph with tf.cond and tf.while_loop."""
    script = (
        "import tfvisrec, tensorflow as tf\n"
        "from absl import flags\n"
        "from tensorflow.python.eager import context\n"
        "from tfvisrec import server\n"
        "server.define_flags()\n"
        f"flags.FLAGS(['server', '--tensorflow_session_config_file={{}}', "
        "'--tensorflow_intra_op_parallelism=1'])\n"
        "server.set_tensorflow_threads()\n"
        "tf.constant(1.0) + 1.0\n"
        "config = context.context().config\n"
        "print(config.experimental.disable_thread_spinning, config.intra_op_parallelism_threads)\n"
        + CALLS)
    path = tmp_path / "session.config"
    with open(SHIPPED, encoding="utf-8") as f:
        path.write_text("intra_op_parallelism_threads: 3\n" + f.read())
    out = subprocess.run([sys.executable, "-c", script.replace("{}", str(path))], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["True", "1"]
    assert lines[1] == "[2.0, 3.0] SINGLE_THREADED_EXECUTOR"
    assert lines[2] == "[5.0, 7.0] [1.0, 0.0] [2.0, 3.0]"
