"""Progress of long work (training epochs, feature extraction on stdout; reading images at ingest, evaluation and training's validation on stderr): a live bar on a terminal, one line per epoch elsewhere.

`EpochProgress` takes the calls of `keras.utils.Progbar` (`update(current, values)`) plus a
`close()` at the end of the epoch, which writes the epoch's one line. By `verbose`:

- 0: nothing;
- 1: on a terminal, a bar redrawn in place (carriage returns) and ended by the epoch's
  line; when stdout is a file or a pipe, only the epoch's line (as verbose 2);
- 2: only the epoch's line, as Keras' `verbose=2`:

    epoch 3/20 - 12s - loss: 0.4123 - val: 0.8123

Metrics named in `stateful_metrics` show their last value; the others (the loss) their
mean over the epoch's batches, each batch weighted once, as in Keras. An epoch closed before
`target` says where it stopped (`batch 7/12`; `unit` names what is counted).

A `transient` bar (a step inside another's epoch: training's validation, whose time the
epoch's line counts) is erased when closed and writes no line of its own.
"""
import sys
import time
from typing import Dict, Iterable, Optional, Sequence, Tuple

BAR_WIDTH = 30
REDRAW_SECONDS = 0.1
ERASE_TO_LINE_END = "\x1b[K"   # a transient bar starts on a line another bar drew, maybe longer


class EpochProgress:
    """The progress of one epoch of `target` batches (see the module docstring)."""

    def __init__(self, target: int, verbose: int = 1, epoch: Optional[int] = None,
                 num_epochs: Optional[int] = None,
                 stateful_metrics: Iterable[str] = ("val",), stream=None,
                 label: Optional[str] = None, unit: str = "batch", transient: bool = False):
        self.target = int(target)
        self.transient = transient
        self.verbose = int(verbose)
        self.stream = stream if stream is not None else sys.stdout
        self.live = self.verbose == 1 and is_terminal(self.stream)
        self.label = label if label is not None else "epoch" if epoch is None else (
            f"epoch {epoch + 1}" + (f"/{num_epochs}" if num_epochs else ""))
        self.unit = unit
        self.stateful = set(stateful_metrics)
        self.started = time.time()
        self.current: Optional[int] = None
        self.sums: Dict[str, Tuple[float, int]] = {}
        self.last: Dict[str, float] = {}
        self.drawn_at = 0.0
        self.drawn_width = 0
        self.closed = False

    def update(self, current: int, values: Optional[Sequence[Tuple[str, float]]] = None):
        """Batch `current` (of `target`) is done; `values` are (name, value) pairs."""
        steps = max(current - (self.current if self.current is not None else current), 1)
        self.current = current
        for name, value in values or ():
            value = float(value)
            if name in self.stateful:
                self.last[name] = value
            else:
                total, count = self.sums.get(name, (0.0, 0))
                self.sums[name] = (total + value * steps, count + steps)
        if self.live and (time.time() - self.drawn_at >= REDRAW_SECONDS or current >= self.target):
            self._draw()

    def close(self):
        """The epoch has ended (validation included): write its one line."""
        if self.closed or self.verbose == 0:
            return
        self.closed = True
        if self.transient:
            if self.drawn_at:
                self.stream.write("\r" + ERASE_TO_LINE_END)
                self.stream.flush()
            return
        cut_short = self.current is not None and self.current < self.target  # max_steps
        line = " - ".join([self.label] + ([f"{self.unit} {self.current}/{self.target}"] if cut_short else [])
                          + [_seconds(time.time() - self.started)] + self._metrics())
        if self.live:  # replace the bar by the line
            line = "\r" + line.ljust(self.drawn_width)
        self.stream.write(line + "\n")
        self.stream.flush()

    def _metrics(self):
        means = [(name, total / count) for name, (total, count) in self.sums.items() if count]
        return [f"{name}: {_number(value)}" for name, value in means + list(self.last.items())]

    def _draw(self):
        done = min(self.current or 0, self.target)
        filled = BAR_WIDTH * done // max(self.target, 1)
        bar = "=" * filled + (">" if filled < BAR_WIDTH else "") + "." * (BAR_WIDTH - filled - 1)
        width = len(str(self.target))
        text = " - ".join([f"{self.label} {done:{width}d}/{self.target} [{bar}]",
                           _seconds(time.time() - self.started)] + self._metrics())
        self.stream.write("\r" + (text + ERASE_TO_LINE_END if self.transient else text.ljust(self.drawn_width)))
        self.stream.flush()
        self.drawn_at, self.drawn_width = time.time(), len(text)


def is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _seconds(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds >= 1 else f"{seconds * 1000:.0f}ms"


def _number(value: float) -> str:
    return f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.4e}"
