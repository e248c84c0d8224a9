"""Training progress: one plain line per epoch when stdout is not a terminal, a live bar on
a terminal, nothing at verbose 0."""
import io
import logging
import re

import pytest

from tfvisrec import config as config_lib
from tfvisrec.models import registry
from tfvisrec.training import fit
from tfvisrec.progress import EpochProgress

EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+) - \d+m?s - loss: \d+\.\d{4} - val: \d\.\d{4}$")


def _untimed(text):
    return re.sub(r" - \d+m?s( - |$)", r" - <t>\1", text, flags=re.M)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _epoch(stream, verbose, epoch=2, batches=40, validation=0.8123):
    progress = EpochProgress(batches, verbose=verbose, epoch=epoch, num_epochs=20, stream=stream)
    progress.update(0)
    for b in range(1, batches + 1):
        progress.update(b, [("loss", 0.5 if b <= batches // 2 else 0.3)])
    if validation is not None:
        progress.update(batches, [("val", validation)])
    progress.close()


@pytest.mark.parametrize("verbose", [1, 2])
def test_a_file_gets_one_line_per_epoch(verbose):
    out = io.StringIO()
    _epoch(out, verbose)
    assert _untimed(out.getvalue()) == "epoch 3/20 - <t> - loss: 0.4000 - val: 0.8123\n"


def test_a_terminal_gets_a_live_bar_ended_by_the_epochs_line():
    out = Terminal()
    _epoch(out, 1)
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    frames = text[:-1].split("\r")
    assert re.match(r"epoch 3/20  0/40 \[>\.{29}\]", frames[1])
    assert any(re.match(r"epoch 3/20 40/40 \[={30}\] - \d+m?s - loss: 0\.4000", f) for f in frames)
    assert _untimed(frames[-1].rstrip()) == "epoch 3/20 - <t> - loss: 0.4000 - val: 0.8123"


def test_verbose_2_on_a_terminal_is_still_one_plain_line():
    out = Terminal()
    _epoch(out, 2, validation=None)
    assert _untimed(out.getvalue()) == "epoch 3/20 - <t> - loss: 0.4000\n"


def test_verbose_0_writes_nothing():
    out, terminal = io.StringIO(), Terminal()
    _epoch(out, 0)
    _epoch(terminal, 0)
    assert out.getvalue() == terminal.getvalue() == ""


def test_an_epoch_cut_short_by_max_steps_says_where_it_stopped():
    out = io.StringIO()
    progress = EpochProgress(12, verbose=1, epoch=0, num_epochs=2, stream=out)
    progress.update(3)  # resumed at batch 3: the mean loss counts this run's batches only
    progress.update(5, [("loss", 0.25)])
    progress.update(7, [("loss", 0.75)])
    progress.close()
    assert _untimed(out.getvalue()) == "epoch 1/2 - batch 7/12 - <t> - loss: 0.5000\n"


def test_fit_piped_to_a_file_prints_one_line_per_epoch(low_rank_dataset, tmp_path, capsys):
    model = registry.new_config("bprmf", embedding_dim=4)
    train = config_lib.TrainConfig(dataset=low_rank_dataset, model_dir=str(tmp_path / "run"),
                                   epochs=3, batch_size=32, verbose=1, patience=0)
    _, summary = fit(model, train)
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 3, out
    for k, line in enumerate(lines):
        match = EPOCH_LINE.match(line)
        assert match and match.groups() == (str(k + 1), "3"), line
        assert f"val: {summary['history'][k]['validation']:.4f}" in line


@pytest.fixture
def quiet_tensorflow_log():
    """TensorFlow's own warnings go to stderr too (a retracing notice, depending on what ran
    before in the process): silenced, so stderr holds the bars alone."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


def test_validation_shows_a_bar_on_a_terminal_stderr_erased_before_the_epochs_line(
        low_rank_dataset, tmp_path, monkeypatch, quiet_tensorflow_log):
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.evaluation import protocols
    from tfvisrec.progress import ERASE_TO_LINE_END
    dataset = load_dataset(low_rank_dataset)
    monkeypatch.setattr(protocols, "BLOCK_ELEMENTS", 20 * dataset.num_items)   # 20 queries a block
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    model_config = registry.new_config("bprmf", embedding_dim=4)
    train = config_lib.TrainConfig(dataset=low_rank_dataset, model_dir=str(tmp_path / "run"),
                                   epochs=1, batch_size=32, verbose=1, patience=0)
    model, summary = fit(model_config, train)
    drawn = [re.sub(r" - \d+m?s", "", part) for part in terminal.getvalue().split("\r") if part]
    assert drawn[0] == f"validating 20/60 [==========>...................]{ERASE_TO_LINE_END}"
    assert drawn[-2] == f"validating 60/60 [==============================]{ERASE_TO_LINE_END}"
    assert drawn[-1] == ERASE_TO_LINE_END and "\n" not in terminal.getvalue()   # erased, no line
    assert summary["history"][0]["validation"] == protocols.validate(model, dataset)


def test_validation_in_a_pipe_or_at_verbose_2_shows_nothing(low_rank_dataset, tmp_path, monkeypatch,
                                                            quiet_tensorflow_log):
    terminal, pipe = Terminal(), io.StringIO()
    model_config = registry.new_config("bprmf", embedding_dim=4)
    for stderr, verbose in ((pipe, 1), (terminal, 2)):
        monkeypatch.setattr("sys.stderr", stderr)
        fit(model_config, config_lib.TrainConfig(dataset=low_rank_dataset, model_dir=str(tmp_path / f"run{verbose}"),
                                                 epochs=1, batch_size=32, verbose=verbose, patience=0))
    assert pipe.getvalue() == terminal.getvalue() == ""
