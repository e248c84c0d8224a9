"""`python -m tfvisrec.data`: commands, exit codes and messages, run as a user would."""
import importlib.util
import os
import subprocess
import sys

import pytest

import tfvisrec  # noqa: F401

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INTERACTIONS = "user_id,item_id\n" + "".join(
    f"u{u},i{i}\n" for u in range(3) for i in range(5) if (u + i) % 4)


def cli(*args):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "tfvisrec.data", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def interactions(tmp_path):
    path = tmp_path / "interactions.csv"
    path.write_text(INTERACTIONS)
    return str(path)


def test_ingest_then_info(tmp_path, interactions):
    out = str(tmp_path / "ds")
    done = cli("ingest", f"--interactions={interactions}", f"--out={out}",
               "--min_user_interactions=3", "--seed=7", "--cold_threshold=3")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {out}"
    info = cli("info", out)
    assert info.returncode == 0, info.stderr
    # (u + i) % 4 != 0: u0 buys i1 i2 i3, u1 all but i3, u2 all but i2 → 11 interactions.
    assert "users: 3  items: 5" in info.stdout
    assert "interactions: train 5  valid 3  test 3" in info.stdout
    assert '"seed": 7' in info.stdout and '"split": "leave_one_out"' in info.stdout
    again = cli("info", f"--dataset={out}")
    assert again.returncode == 0 and again.stdout == info.stdout


def test_data_error_exit_code_and_nothing_written(tmp_path, interactions):
    out = tmp_path / "work" / "ds"
    os.makedirs(out.parent)
    done = cli("ingest", f"--interactions={interactions}", f"--out={out}", "--split=temporal",
               "--min_user_interactions=3")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {interactions}, row 1 (the header): the temporal split needs a 'timestamp' column")
    assert os.listdir(out.parent) == []


def test_existing_output_and_overwrite(tmp_path, interactions):
    out = str(tmp_path / "ds")
    os.makedirs(out)
    refused = cli("ingest", f"--interactions={interactions}", f"--out={out}",
                  "--min_user_interactions=3")
    assert refused.returncode == 2
    assert "output folder exists already (pass --overwrite to replace it)" in refused.stderr
    replaced = cli("ingest", f"--interactions={interactions}", f"--out={out}",
                   "--min_user_interactions=3", "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert os.path.exists(os.path.join(out, "meta.json"))


def test_usage_errors(tmp_path):
    unknown = cli("unknown_command")
    assert unknown.returncode == 2 and ("unknown command 'unknown_command'; expected a command, one of: ingest, hm"
                                        in unknown.stderr)
    missing = cli("hm", f"--out={tmp_path / 'x'}")
    assert missing.returncode == 2 and "--hm_dir is required" in missing.stderr
    for flag in ("--image_shards=0", "--seed=-1", "--min_user_interactions=0", "--cold_threshold=-1"):
        out_of_range = cli("ingest", f"--interactions={tmp_path / 'i.csv'}", f"--out={tmp_path / 'y'}", flag)
        assert out_of_range.returncode == 2 and f"flag {flag}" in out_of_range.stderr, out_of_range.stderr
        assert "Traceback" not in out_of_range.stderr and not os.path.exists(tmp_path / "y")
    unknown_flag = cli("info", "--no_such_flag", str(tmp_path))
    assert unknown_flag.returncode == 2 and "Unknown command line flag 'no_such_flag'" in unknown_flag.stderr
    assert cli("ingest", "--helpfull").returncode == 0
    not_a_dataset = cli("info", str(tmp_path))
    assert not_a_dataset.returncode == 2 and "not a dataset folder" in not_a_dataset.stderr


@pytest.mark.skipif(importlib.util.find_spec("tfvisrec.data.synthetic") is None,
                    reason="tfvisrec.data.synthetic not written yet")
def test_synthetic_is_dispatched(tmp_path):
    out = str(tmp_path / "world")
    done = cli("synthetic", f"--out={out}", "--num_users=12", "--num_items=24",
               "--image_size=16", "--min_interactions=3", "--mean_interactions=4")
    assert done.returncode == 0, done.stderr
    assert os.path.isdir(out) and os.listdir(out)


def test_synthetic_through_the_data_command_lists_and_checks_its_own_flags():
    helped = cli("synthetic", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "--num_users" in helped.stdout and "--image_size" in helped.stdout, helped.stdout[-2000:]
    unknown = cli("synthetic", "--out=x", "--no_such_flag=1")
    assert unknown.returncode == 2, (unknown.returncode, unknown.stderr)
    assert "error: Unknown command line flag 'no_such_flag'" in unknown.stderr
