"""tfvisrec.atomic: a reader sees the old file or the new one, never half of one."""
import os
import stat

import pytest

from temp_writers import killed_file_writer_temp, running_file_writer, running_publisher
from tfvisrec import atomic


def test_write_bytes_replaces_the_file_with_the_mode_open_would_give(tmp_path):
    path = tmp_path / "sub" / "out.png"
    atomic.write_bytes(str(path), b"first")
    atomic.write_bytes(str(path), b"second")
    umask = os.umask(0)
    os.umask(umask)
    assert path.read_bytes() == b"second"
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert os.listdir(path.parent) == ["out.png"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "table.json"
    atomic.write_json(str(path), {"a": 1})

    def fail(f):
        f.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic.write_with(str(path), fail)
    assert path.read_text() == '{\n  "a": 1\n}'
    assert os.listdir(tmp_path) == ["table.json"]


def test_a_write_error_that_names_no_file_is_raised_naming_the_output(tmp_path):
    path = tmp_path / "features.npy"

    def full_disk(f):   # what np.save raises when the disk fills up
        raise OSError("1624576 requested and 523232 written")

    with pytest.raises(OSError) as raised:
        atomic.write_with(str(path), full_disk)
    assert str(raised.value) == f"cannot write {path} (1624576 requested and 523232 written)"
    with pytest.raises(OSError) as raised:
        atomic.write_with(str(path), lambda f: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    assert str(raised.value) == f"cannot write {path} (No space left on device)"
    assert os.listdir(tmp_path) == []
    named = OSError(13, "Permission denied", "/elsewhere")   # errors naming their file pass unchanged
    with pytest.raises(OSError) as raised:
        atomic.write_with(str(path), lambda f: (_ for _ in ()).throw(named))
    assert raised.value is named


def test_outputs_a_command_cannot_write_are_named_before_its_work(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("keep me")
    assert atomic.file_output_problem(str(tmp_path / "new" / "a.png")) is None
    assert atomic.folder_output_problem(str(tmp_path / "new" / "deeper")) is None
    assert atomic.folder_output_problem(str(tmp_path)) is None
    assert atomic.file_output_problem(str(tmp_path)) == f"{tmp_path} is a folder; give a file name"
    assert atomic.folder_output_problem(str(blocker)) == f"{blocker} is a file, not a folder"
    under = str(blocker / "sub" / "a.png")
    assert atomic.file_output_problem(under) == f"cannot write {under}: {blocker} is a file, not a folder"
    assert atomic.folder_output_problem(under) == f"cannot write {under}: {blocker} is a file, not a folder"
    with pytest.raises(ValueError, match=f"^--out: {blocker} is a file, not a folder$"):
        atomic.require_writable(str(blocker), "--out", folder=True)
    atomic.require_writable(str(tmp_path / "fine.png"), "--out")
    assert blocker.read_text() == "keep me" and sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_the_temp_file_of_a_killed_write_is_removed_by_the_next_and_a_running_ones_stays(tmp_path):
    path = tmp_path / "table.json"
    killed = killed_file_writer_temp(str(path))
    with running_file_writer(str(path)) as running:
        atomic.write_json(str(path), {"a": 1})
        assert sorted(os.listdir(tmp_path)) == sorted(["table.json", os.path.basename(running)])
        with open(running, "rb") as f:
            assert f.read() == b"half-written"
    assert not os.path.exists(killed)
    atomic.write_json(str(path), {"a": 2})
    assert os.listdir(tmp_path) == ["table.json"]


def _folder(path, text):
    """A folder `path` holding one file, content.txt = `text`."""
    os.makedirs(path)
    (path / "content.txt").write_text(text)
    return path


@pytest.mark.parametrize("stopped_at", ["swapped", "moved_away"])
def test_a_killed_publish_leaves_a_previous_folder_the_next_publish_removes(tmp_path, stopped_at):
    out = _folder(tmp_path / "world", "first")
    with running_publisher(_folder(tmp_path / "new1", "second"), out, stopped_at):
        [held] = [n for n in os.listdir(tmp_path) if n.startswith(".world.old-")]
        atomic.publish_folder(str(_folder(tmp_path / "new2", "third")), str(out))
        assert (out / "content.txt").read_text() == "third"
        assert (tmp_path / held / "previous" / "content.txt").read_text() == "first"   # its writer runs
    # killed there: without `world` after "moved_away"; the next publish works and removes the rest
    assert sorted(os.listdir(tmp_path)) == sorted(["world", held] + (["new1"] if stopped_at == "moved_away" else []))
    atomic.publish_folder(str(_folder(tmp_path / "new3", "fourth")), str(out))
    assert sorted(os.listdir(tmp_path)) == sorted(["world"] + (["new1"] if stopped_at == "moved_away" else []))
    assert (out / "content.txt").read_text() == "fourth"
