"""`python bench/serving_overhead.py` starts: it takes serving_load.py's flags, and both define
--rounds (README, "Serving: `recommend` under load", quotes `--seconds 2 --rounds 8`).

Since serving_load.py gained --rounds, serving_overhead.py defined it a second time and stopped
at import with absl's DuplicateFlagError, whatever its flags."""
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_serving_overhead_parses_its_readme_flags():
    code = ("import runpy, sys\n"
            "sys.argv = ['bench/serving_overhead.py']\n"
            "module = runpy.run_path('bench/serving_overhead.py', run_name='serving_overhead')\n"
            "FLAGS = module['FLAGS']\n"
            "FLAGS(['bench/serving_overhead.py', '--seconds', '2', '--rounds', '8'])\n"
            "print(FLAGS.rounds, FLAGS.seconds, FLAGS['rounds'].default)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=REPO_ROOT), timeout=300)
    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.split()[-3:] == ["8", "2.0", "5"]
