"""The visual test world's cache: worlds of older code that no run uses are pruned."""
import fcntl
import os
import time

from visual_world import UNUSED_WORLD_DAYS, _prune_unused_worlds


def _world(cache, name, age_days):
    path = cache / name
    (path / "dataset").mkdir(parents=True)
    stamp = time.time() - age_days * 86400
    os.utime(path, (stamp, stamp))
    return path


def test_only_unused_unlocked_worlds_are_deleted(tmp_path):
    old = _world(tmp_path, "visual-world-old", UNUSED_WORLD_DAYS + 1)
    recent = _world(tmp_path, "visual-world-recent", UNUSED_WORLD_DAYS - 1)
    being_rebuilt = _world(tmp_path, "visual-world-locked", UNUSED_WORLD_DAYS + 1)
    other = _world(tmp_path, "something-else", UNUSED_WORLD_DAYS + 5)
    with open(str(being_rebuilt) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _prune_unused_worlds(str(tmp_path))
    assert not old.exists()
    assert recent.exists() and being_rebuilt.exists() and other.exists()
