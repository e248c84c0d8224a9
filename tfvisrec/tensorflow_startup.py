"""TensorFlow's C++ start-up messages, held to TF_CPP_MIN_LOG_LEVEL.

Loading TensorFlow (2.21, a machine without a GPU) writes this to stderr before TensorFlow has
read TF_CPP_MIN_LOG_LEVEL, so the variable cannot hide it (the first two lines twice: two of
TensorFlow's libraries carry a CUDA stub):

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:… cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
    E0000 00:00:… cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)

`install()` (run by `import tfvisrec`) makes the first `import tensorflow` of the process run
with the C-level stderr (file descriptor 2) going through a pipe, whose lines are forwarded at
once unless TF_CPP_MIN_LOG_LEVEL would have hidden them (`StartupFilter`). The CUDA probe that
TensorFlow makes on first use anyway (`tf.config.list_physical_devices("GPU")`) runs inside
that window, so its cuInit error is seen too; after the CUDA stub has said there is no driver
it is the same news, and is hidden with the INFO lines (with a driver it stays an error).
Python warnings, tracebacks and our own messages pass unchanged; TF_CPP_MIN_LOG_LEVEL=0
shows everything.
"""
import contextlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import threading

from tfvisrec.ctrl_c import interrupts_deferred

BANNER = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
NO_DRIVER = b"Could not find cuda drivers on your machine"
CUINIT_FAILED = b"failed call to cuInit"
# absl's prefix: severity, MMDD, time (before InitializeLog: 00:00:<epoch seconds>.micros),
# thread id, file:line]
_ABSL_LINE = re.compile(rb"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\]\s]+:\d+\] ")
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}


def min_log_level() -> int:
    """TF_CPP_MIN_LOG_LEVEL as TensorFlow reads it (0 when unset or not a number)."""
    try:
        return max(0, int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0")))
    except ValueError:
        return 0


class StartupFilter:
    """Which stderr lines of TensorFlow's start-up are shown (lines as bytes, no newline)."""

    def __init__(self, min_level: int):
        self.min_level = min(min_level, 3)  # FATAL is always shown, as in TensorFlow
        self.saw_no_driver = False

    def keep(self, line: bytes) -> bool:
        if self.min_level == 0:
            return True
        if line.rstrip() == BANNER:
            return False
        match = _ABSL_LINE.match(line)
        if match is None:
            return True
        if NO_DRIVER in line:
            self.saw_no_driver = True
        severity = _SEVERITY[match.group(1)]
        if CUINIT_FAILED in line and self.saw_no_driver:
            severity = _SEVERITY[b"I"]
        return severity >= self.min_level


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _forward(read_fd: int, out_fd: int, keep) -> None:
    pending = b""
    try:
        while True:
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            _write_all(out_fd, b"".join(line + b"\n" for line in lines if keep(line)))
        if pending and keep(pending):
            _write_all(out_fd, pending)
    finally:
        os.close(read_fd)
        os.close(out_fd)


def _redirect_stderr(keep):
    """Fd 2 into a pipe whose reader forwards the lines `keep` keeps to where fd 2 went:
    (a copy of the old fd 2, the reader), or None when there is no usable stderr."""
    try:
        saved = os.dup(2)
        read_fd, write_fd = os.pipe()
    except OSError:  # no usable stderr: nothing to filter
        return None
    forwarder = threading.Thread(target=_forward, args=(read_fd, os.dup(saved), keep),
                                 name="tensorflow-startup-stderr", daemon=True)
    forwarder.start()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    return saved, forwarder


def _restore_stderr(saved: int, forwarder: threading.Thread) -> None:
    """Fd 2 back to where it went, once the lines in the pipe are forwarded."""
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os.dup2(saved, 2)  # closes the pipe's last write end: the forwarder reads to the end
    os.close(saved)
    forwarder.join(timeout=10)


@contextlib.contextmanager
def filtered_stderr(keep):
    """File descriptor 2 goes through `keep` (line by line, forwarded as it comes).

    A Ctrl-C (TensorFlow's import takes seconds) is held off while fd 2 is redirected and while
    it is restored: raised in between, it left fd 2 in the pipe with no reader, where the
    command's "interrupted" line went unseen, or ended the program before the reader had
    forwarded the lines still in the pipe; now it comes once fd 2 is back and they are out."""
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    redirected = None
    try:
        with interrupts_deferred():
            redirected = _redirect_stderr(keep)
        yield
    finally:
        if redirected is not None:
            with interrupts_deferred():
                _restore_stderr(*redirected)


class _FilteredLoader(importlib.abc.Loader):
    """TensorFlow's own loader, run inside `filtered_stderr`, then the CUDA probe."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader  # no trace of this wrapper
        with filtered_stderr(StartupFilter(min_log_level()).keep):
            self.loader.exec_module(module)
            with contextlib.suppress(Exception):  # a failing probe fails again on first use
                module.config.list_physical_devices("GPU")


class _TensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` once, with the filtering loader; then removes itself."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _FilteredLoader(spec.loader)
        return spec


def install() -> None:
    """Filter the process's first `import tensorflow` (no-op once TensorFlow is loaded)."""
    if "tensorflow" in sys.modules or any(isinstance(f, _TensorFlowFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _TensorFlowFinder())
