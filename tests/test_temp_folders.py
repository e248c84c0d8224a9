"""Temp folders of killed writers are removed by the next run; those of running writers never."""
import os
import signal

import pytest

from temp_writers import killed_writer_folder, running_writer
from tfvisrec import temp_folders


def test_a_killed_writers_folder_is_removed_and_a_running_ones_stays(tmp_path):
    killed = killed_writer_folder(tmp_path, ".out.tmp-")
    with running_writer(tmp_path, ".out.tmp-") as running:
        temp_folders.remove_abandoned(str(tmp_path), ".out.tmp-")
        assert os.listdir(tmp_path) == [os.path.basename(running)]
        assert os.listdir(running) == ["half-written"]
    temp_folders.remove_abandoned(str(tmp_path), ".out.tmp-")
    assert os.listdir(tmp_path) == []
    assert not os.path.exists(killed)


@pytest.mark.parametrize("held, kind", [(temp_folders.held_temp_folder, os.path.isdir),
                                         (temp_folders.held_temp_file, os.path.isfile)])
def test_a_held_folder_or_file_stays_whatever_pid_its_name_says(tmp_path, held, kind):
    # a writer in another pid namespace (a container sharing the volume): its pid means nothing here
    with held(str(tmp_path), ".out.tmp-") as tmp:
        elsewhere = str(tmp_path / ".out.tmp-p999999999s1-abcd1234")
        os.rename(tmp, elsewhere)   # the lock follows the folder or file
        temp_folders.remove_abandoned(str(tmp_path), ".out.tmp-")
        assert kind(elsewhere)
    temp_folders.remove_abandoned(str(tmp_path), ".out.tmp-")
    assert not os.path.exists(elsewhere)


def test_a_folder_its_running_writer_has_not_locked_yet_stays(tmp_path):
    start = temp_folders._start_time(os.getpid())
    just_made = tmp_path / f".out.tmp-p{os.getpid()}s{start}-abcd1234"   # between mkdtemp and flock
    reused_pid = tmp_path / f".out.tmp-p{os.getpid()}s{start + 1}-abcd1234"   # a dead writer's pid reused
    just_made.mkdir()
    reused_pid.mkdir()
    temp_folders.remove_abandoned(str(tmp_path), ".out.tmp-")
    assert os.listdir(tmp_path) == [just_made.name]


def test_only_marked_folders_with_the_prefix_are_removed(tmp_path):
    killed = killed_writer_folder(tmp_path, ".out.tmp-")
    other_output = killed_writer_folder(tmp_path, ".other.tmp-")
    unmarked = tmp_path / ".out.tmp-abcd1234"   # an older version's, or someone's own
    unmarked.mkdir()
    temp_folders.remove_abandoned(str(tmp_path), ".out.tmp-")
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(other_output), unmarked.name])
    assert not os.path.exists(killed)
    temp_folders.remove_abandoned(str(tmp_path / "missing"), ".out.tmp-")   # no folder: nothing to do


def test_a_held_folder_gets_the_mode_a_plain_folder_gets(tmp_path):
    umask = os.umask(0o027)
    try:
        with temp_folders.held_temp_folder(str(tmp_path), ".out.tmp-") as tmp:
            assert oct(os.stat(tmp).st_mode & 0o777) == oct(0o750)
    finally:
        os.umask(umask)


@pytest.mark.parametrize("held", [temp_folders.held_temp_folder, temp_folders.held_temp_file])
def test_a_ctrl_c_while_it_is_made_removes_it(tmp_path, monkeypatch, held):
    # SIGINT between the mkdir and the lock: a writer's cleanup starts in its block, too late
    def lock_after_a_ctrl_c(fd, lock=temp_folders._lock):
        os.kill(os.getpid(), signal.SIGINT)
        lock(fd)

    monkeypatch.setattr(temp_folders, "_lock", lock_after_a_ctrl_c)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with held(str(tmp_path), ".out.tmp-"):
                pytest.fail("the block ran after the Ctrl-C")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert os.listdir(tmp_path) == []
