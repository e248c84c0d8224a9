"""Writers of `tfvisrec.temp_folders` temp folders (and of `atomic.write_with`'s temp files) in
another process: one killed (SIGKILL) midway, as a killed export or ingest leaves its folder,
and one still running."""
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
_FILE_WRITER = ("import sys, time\n"
                "from tfvisrec import atomic\n"
                "def write(f):\n"
                "    f.write(b'half-written')\n"
                "    f.flush()\n"
                "    print(f.name, flush=True)\n"
                "    time.sleep(600)\n"
                "atomic.write_with(sys.argv[1], write)\n")


@contextlib.contextmanager
def running_writer(parent, prefix, script=_WRITER):
    """Yield the temp folder a writer in another process holds (it runs while the block does)."""
    process = subprocess.Popen([sys.executable, "-c", script, str(parent), prefix], stdout=subprocess.PIPE,
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


@contextlib.contextmanager
def running_file_writer(path):
    """Yield the temp file of an `atomic.write_with(path, …)` in another process, midway."""
    with running_writer(path, "", script=_FILE_WRITER) as tmp:
        yield tmp


def killed_file_writer_temp(path):
    """The temp file of an `atomic.write_with(path, …)` killed (SIGKILL) midway: left behind."""
    with running_file_writer(path) as tmp:
        pass
    assert os.path.isfile(tmp), tmp
    return tmp


# atomic.publish_folder(tmp, path) stopped at its step `sys.argv[3]`: "swapped" (the new folder in
# place, the previous one not yet removed: shutil.rmtree) or "moved_away" (the previous folder
# renamed away, the new one not yet renamed in: the second os.rename)
_PUBLISHER = ("import os, shutil, signal, sys, time\n"
              "from tfvisrec import atomic\n"
              "real_rename, renames = os.rename, []\n"
              "def stop():\n"
              "    print('stopped', flush=True)\n"
              "    time.sleep(600)\n"
              "def rename(src, dst):\n"
              "    renames.append(src)\n"
              "    if sys.argv[3] == 'moved_away' and len(renames) == 2:\n"
              "        stop()\n"
              "    real_rename(src, dst)\n"
              "os.rename = rename\n"
              "shutil.rmtree = lambda *args, **kwargs: stop()\n"
              "atomic.publish_folder(sys.argv[1], sys.argv[2])\n")


@contextlib.contextmanager
def running_publisher(tmp, path, stopped_at):
    """An `atomic.publish_folder(tmp, path)` in another process, held at `stopped_at` while the
    block runs, then killed (SIGKILL) there."""
    process = subprocess.Popen([sys.executable, "-c", _PUBLISHER, str(tmp), str(path), stopped_at],
                               stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": REPO_ROOT})
    try:
        assert process.stdout.readline().strip() == "stopped"
        yield
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
