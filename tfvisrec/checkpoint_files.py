"""A checkpoint kept in its own folder, found by the name its state file records."""
import os
from typing import Optional

import tensorflow as tf


def checkpoint_in(directory: str) -> Optional[str]:
    """The prefix, inside `directory`, of the checkpoint its state file (`checkpoint`) names;
    None when there is no state file or no such checkpoint there.

    Only the recorded name is used, for folders that hold their checkpoint's files themselves
    (a run's best/). Runs saved before 2026-12-05 with a relative `--model_dir` recorded it as
    "../../../ckpt-N", which `tf.train.latest_checkpoint` cannot find.
    """
    state = tf.train.get_checkpoint_state(directory)
    if state is None or not state.model_checkpoint_path:
        return None
    path = os.path.join(directory, os.path.basename(state.model_checkpoint_path))
    return path if tf.io.gfile.exists(path + ".index") else None
