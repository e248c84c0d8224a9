"""--tensorflow_session_config_file: serving/session.config parses, bad files name what is
wrong, and the file (with the parallelism flags over it) reaches TensorFlow's runtime."""
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tfvisrec.data.errors import DataError
from tfvisrec.serving import session_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = os.path.join(REPO, "serving", "session.config")


def test_the_shipped_file_turns_thread_spinning_off():
    assert session_config.load(SHIPPED).experimental.disable_thread_spinning


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


def test_server_flags_reach_the_runtime_in_a_fresh_process(tmp_path):
    """The file's setting holds, and --tensorflow_intra_op_parallelism overrides its thread
    count (as TF Serving: flags over the file)."""
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
        "print(config.experimental.disable_thread_spinning, config.intra_op_parallelism_threads)\n")
    path = tmp_path / "session.config"
    with open(SHIPPED, encoding="utf-8") as f:
        path.write_text("intra_op_parallelism_threads: 3\n" + f.read())
    out = subprocess.run([sys.executable, "-c", script.replace("{}", str(path))], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "1"]
