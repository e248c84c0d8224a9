"""A run killed with SIGKILL and resumed loses at most the steps since its last checkpoint."""
import os
import signal
import subprocess
import time

import numpy as np
import tensorflow as tf

from cli_runs import env, read_summary, run, train_command
from ctrl_c_launcher import python_m

# 30 epochs of 12 steps: the kill, sent once checkpoint 24 exists, lands long before the run ends
ARGS = ("--epochs=30", "--checkpoint_every=8", "--deterministic")


def _latest_step(model_dir):
    path = tf.train.latest_checkpoint(os.path.join(model_dir, "ckpt"))
    return int(path.rsplit("-", 1)[1]) if path else -1


def _model_weights(model_dir):
    path = tf.train.latest_checkpoint(os.path.join(model_dir, "ckpt"))
    reader = tf.train.load_checkpoint(path)
    names = sorted(n for n in reader.get_variable_to_shape_map() if n.startswith("model/")
                   and "OPTIMIZER_SLOT" not in n)
    return {n: reader.get_tensor(n) for n in names}


def test_sigkill_then_resume_matches_uninterrupted_run(low_rank_dataset, tmp_path):
    straight = str(tmp_path / "straight")
    run(train_command(low_rank_dataset, straight, *ARGS), env=env())

    killed = str(tmp_path / "killed")
    # TensorFlow removes its autograph files (`__autograph_generated_file*.py`) at exit, which a
    # SIGKILL skips: the killed run writes its temporary files into the test's folder, not /tmp
    killed_tmp = tmp_path / "killed_tmp"
    killed_tmp.mkdir()
    proc = subprocess.Popen(train_command(low_rank_dataset, killed, *ARGS), env=env(TMPDIR=killed_tmp),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while _latest_step(killed) < 24 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "training finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    last_saved = _latest_step(killed)
    assert 24 <= last_saved < 360

    run(train_command(low_rank_dataset, killed, *ARGS), env=env())
    summary = read_summary(killed)
    assert summary["resumed_from_step"] == last_saved  # nothing before the checkpoint is redone
    assert summary["steps"] == read_summary(straight)["steps"] == 360
    a, b = _model_weights(straight), _model_weights(killed)
    assert a.keys() == b.keys() and a
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_ctrl_c_says_how_to_resume_without_a_traceback(low_rank_dataset, tmp_path):
    model_dir = str(tmp_path / "interrupted")
    _, _, module, *args = train_command(low_rank_dataset, model_dir, *ARGS)
    proc = subprocess.Popen(python_m(module, *args), env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while _latest_step(model_dir) < 8 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "training finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "interrupted: run the same command again to resume" in err and "Traceback" not in err, err[-3000:]
    assert _latest_step(model_dir) >= 8


def test_ctrl_c_before_the_first_checkpoint_says_to_start_over(tmp_path):
    from tfvisrec.training.checkpoints import interrupted_note
    assert interrupted_note(str(tmp_path)).startswith("interrupted before the first checkpoint")
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "ckpt-3.index").write_bytes(b"")
    assert f"resume from the latest checkpoint in {tmp_path / 'ckpt'}" in interrupted_note(str(tmp_path))
