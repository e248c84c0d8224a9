"""A stage's temporary build folder (tfvisrec/cached_stages.py) is a held one, as every writer's:
a killed build's is removed by the next build, a running writer's never."""
import os

from temp_writers import killed_writer_folder, running_writer
from tfvisrec import cached_stages, temp_folders

# build_stage in another process, its build writing a file, then waiting (killed by the test)
_BUILD = ("import os, sys, time\n"
          "from tfvisrec import cached_stages\n"
          "def build(tmp):\n"
          "    open(os.path.join(tmp, 'half-built'), 'w').close()\n"
          "    print(tmp, flush=True)\n"
          "    time.sleep(600)\n"
          "cached_stages.build_stage(os.path.join(sys.argv[1], sys.argv[2]), build, {})\n")


def _build(tmp):
    with open(os.path.join(tmp, "built"), "w") as f:
        f.write("done")
    return {"built": True}


def test_a_killed_builds_folder_is_swept_as_any_killed_writers(tmp_path):
    with running_writer(tmp_path, "stage", script=_BUILD) as building:
        temp_folders.remove_abandoned(str(tmp_path), ".stage.tmp-")
        assert os.listdir(building) == ["half-built"]   # its build runs: it stays
    assert os.path.isdir(building)                      # killed: left behind
    temp_folders.remove_abandoned(str(tmp_path), ".stage.tmp-")
    assert os.listdir(tmp_path) == []


def test_a_build_removes_a_killed_writers_folder_but_not_a_running_ones(tmp_path):
    root = str(tmp_path / "stage")
    killed = killed_writer_folder(tmp_path, ".stage.tmp-")
    with running_writer(tmp_path, ".stage.tmp-") as running:
        info = cached_stages.build_stage(root, _build, {"settings": 1})
        assert sorted(os.listdir(tmp_path)) == sorted(["stage", os.path.basename(running)])
        assert os.listdir(running) == ["half-written"]
    assert not os.path.exists(killed)
    assert info["built"] and info["settings"] == 1
    assert cached_stages.read_manifest(root) == info
