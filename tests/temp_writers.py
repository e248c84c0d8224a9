"""Writers of `tfvisrec.temp_folders` temp folders in another process: one killed (SIGKILL)
midway, as a killed export or ingest leaves its folder, and one still running."""
import contextlib
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_WRITER = ("import sys, time\n"
           "from tfvisrec import temp_folders\n"
           "with temp_folders.held_temp_folder(sys.argv[1], sys.argv[2]) as tmp:\n"
           "    open(tmp + '/half-written', 'w').close()\n"
           "    print(tmp, flush=True)\n"
           "    time.sleep(600)\n")


@contextlib.contextmanager
def running_writer(parent, prefix):
    """Yield the temp folder a writer in another process holds (it runs while the block does)."""
    process = subprocess.Popen([sys.executable, "-c", _WRITER, str(parent), prefix], stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": REPO_ROOT})
    try:
        yield process.stdout.readline().strip()
    finally:
        process.kill()   # SIGKILL: no cleanup runs
        process.wait()
        process.stdout.close()


def killed_writer_folder(parent, prefix):
    """The temp folder of a writer killed (SIGKILL) while writing it: left behind."""
    with running_writer(parent, prefix) as folder:
        pass
    assert os.path.isdir(folder), folder
    return folder
