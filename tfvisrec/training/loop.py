"""The one training loop (`fit`): strategy, steps, checkpoints, resume, validation, early stopping.

Models provide `compute_loss(batch, training)`, or their own `train_step(batch, optimizers)`
with the optimizers of `create_optimizers` (`models/base.py`); the loop owns distribution,
checkpoints (the model and every optimizer, every N steps and at each epoch end), TensorBoard
scalars, the progress bar, the best-on-validation checkpoint, early stopping, staged training
and the run summary.
"""
import contextlib
import dataclasses
import math
import os
import shutil
import sys
import tempfile
import time
from typing import Sequence

import tensorflow as tf
import tf_keras as keras
from absl import logging

from tfvisrec import atomic, image_sheets
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.errors import DataError
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.training import building, checkpoints, run_lock, strategy as strategy_lib
from tfvisrec.training.optimizers import OPTIMIZERS, make_optimizer
from tfvisrec.progress import EpochProgress


def check_settings(model_config, train_config, also: Sequence[str] = ()) -> None:
    """ValueError naming every out-of-range setting (each by its flag), before anything is read,
    built or written; `also`: what the command found wrong with its own flags, in the same line."""
    problems = model_config.problems() + train_config.problems()
    if train_config.strategy not in strategy_lib.STRATEGIES:
        problems.append(f"--strategy must be one of {', '.join(strategy_lib.STRATEGIES)}, got {train_config.strategy!r}")
    if train_config.optimizer not in OPTIMIZERS:
        problems.append(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {train_config.optimizer!r}")
    problems += also
    if problems:
        raise ValueError("; ".join(problems))


def check_optimizers(model, optimizers) -> None:
    """A ValueError unless `create_optimizers` gave a dict of at least one optimizer by
    checkpoint name, none of them 'model' or 'state' (the checkpoint's other entries)."""
    is_dict = isinstance(optimizers, dict)
    if not is_dict or not optimizers or {"model", "state"} & set(optimizers):
        got = sorted(optimizers) if is_dict else repr(optimizers)
        raise ValueError(f"{type(model).__name__}.create_optimizers must return a dict naming at least one "
                         f"optimizer, none of them 'model' or 'state' (got {got})")


def fit(model_config, train_config, dataset=None, strategy=None):
    """Train `model_config.model` as `train_config` says → (model, summary dict)."""
    check_settings(model_config, train_config)
    dataset = dataset if dataset is not None else load_dataset(train_config.dataset)
    strategy = strategy or strategy_lib.make_strategy(train_config.strategy, train_config.num_cpu_devices)
    chief = strategy_lib.is_chief(strategy)
    # the chief alone writes the run folder: a second training there is refused, not interleaved
    with run_lock.training_lock(train_config.model_dir) if chief else contextlib.nullcontext():
        return _fit(model_config, train_config, dataset, strategy, chief)


def _fit(model_config, train_config, dataset, strategy, chief):
    model_dir = train_config.model_dir
    write_dir = model_dir if chief else tempfile.mkdtemp(prefix="tfvisrec-worker-")
    # initialisers without their own seed draw from the global generators: seeded here, a run's
    # starting weights follow its --seed, not whatever ran before it in the process
    keras.utils.set_random_seed(int(model_config.seed))
    with strategy.scope():
        model = building.build_model(model_config, dataset)
        optimizers = model.create_optimizers(
            lambda: make_optimizer(train_config.optimizer, train_config.learning_rate))
        state = checkpoints.TrainingState()
    check_optimizers(model, optimizers)
    item_table = ItemFeatureTable.for_model(model, dataset, cache=train_config.image_cache,
                                            cache_mb=train_config.image_cache_mb)
    model.use_item_table(item_table)
    base_rates = {name: float(keras.backend.get_value(opt.learning_rate))
                  for name, opt in optimizers.items()}
    ckpt = tf.train.Checkpoint(model=model, state=state, **optimizers)
    latest = tf.train.CheckpointManager(ckpt, os.path.join(write_dir, checkpoints.LATEST_DIR), max_to_keep=3)
    best = checkpoints.BestCheckpoint(os.path.join(write_dir, checkpoints.BEST_DIR))
    resumed_from = None
    earlier_history, earlier_seconds = [], 0.0
    if chief:
        checkpoints.remove_partial_saves(latest.directory)
    resume_path = checkpoints.latest_readable(latest) if train_config.resume else None
    if resume_path:
        checkpoints.check_resumable(model_dir, model_config)
        checkpoints.check_same_dataset(model_dir, dataset, "train in another --model_dir, or start "
                                       "over here with --noresume")
        try:
            ckpt.restore(resume_path)
        except ValueError as e:   # variables of other shapes: the run was of other settings
            raise DataError(f"its checkpoint {os.path.basename(resume_path)} does not fit {model_config.model} "
                            f"as configured ({str(e).splitlines()[0]}): train in another --model_dir, or "
                            "resume with the settings of its config.json", model_dir) from None
        changed = checkpoints.changed_settings(model_dir, model_config, train_config)
        if chief and changed:
            logging.warning("resuming with settings other than those config.json records (it records "
                            "the new ones from now on): %s", "; ".join(changed))
        earlier_history, earlier_seconds = checkpoints.earlier_calls(model_dir)
        resumed_from = int(state.step.numpy())
        if chief and train_config.verbose:
            print(f"resuming from {resume_path} (step {resumed_from}, epoch "
                  f"{int(state.epoch.numpy())}, batch {int(state.batch_in_epoch.numpy())})")
    if chief:
        checkpoints.save_configs(model_dir, model_config, train_config, dataset)
    writer = tf.summary.create_file_writer(os.path.join(write_dir, checkpoints.LOGS_DIR))

    quiet = train_config if chief else dataclasses.replace(train_config, verbose=0)
    started = time.time()

    def summarise(history):
        """The run summary after `history` (this call's epoch records so far); a resumed call
        keeps the earlier calls' epochs, less those it trained again."""
        first_new_epoch = history[0]["epoch"] if history else float("inf")
        return {
            "model": model_config.model,
            "dataset": dataset.path,
            "steps": int(state.step.numpy()),
            "epochs_completed": int(state.epoch.numpy()),
            "best_epoch": int(state.best_epoch.numpy()),
            "best_validation": float(state.best_score.numpy()),
            "validation_metric": model.validation_metric,
            "stopped_early": loop.stopped_early,
            "resumed_from_step": resumed_from,
            "train_seconds": round(earlier_seconds + time.time() - started, 3),
            "num_replicas": strategy.num_replicas_in_sync,
            "history": [r for r in earlier_history if r["epoch"] < first_new_epoch] + history,
        }

    def write_summary(history):
        # after every epoch too, so that a call killed later keeps its finished epochs
        if chief:
            atomic.write_json(os.path.join(model_dir, checkpoints.SUMMARY_FILE), summarise(history))

    loop = _Loop(model, optimizers, base_rates, strategy, state, latest, best, writer, dataset,
                 item_table, model_config, quiet, os.path.join(write_dir, checkpoints.SAMPLES_DIR),
                 write_summary)
    history = loop.run()
    summary = summarise(history)
    # the best weights are in memory when the last checkpoint saved is the best: reading them back
    # held a second copy of every weight meanwhile (0.82 GB more for VisRank's unit features of
    # 50,000 × 4,096 floats)
    if best.latest_checkpoint and not loop.holds_best:
        tf.train.Checkpoint(model=model).read(best.latest_checkpoint).expect_partial()
    if chief:
        atomic.write_json(os.path.join(model_dir, checkpoints.SUMMARY_FILE), summary)
        for name, record in model.run_records().items():
            atomic.write_json(os.path.join(model_dir, name), record)
    else:
        shutil.rmtree(write_dir, ignore_errors=True)
    return model, summary


def describe_best(summary) -> str:
    """'<metric> 0.8123 (epoch 3 of 5)' for a run's summary: epochs counted from 1, as the
    progress line counts them (the summary's `best_epoch` is the 0-based index)."""
    if summary["best_epoch"] < 0:
        return f"{summary['validation_metric']}: never validated"
    return (f"{summary['validation_metric']} {summary['best_validation']:.4f} "
            f"(epoch {summary['best_epoch'] + 1} of {summary['epochs_completed']})")


# Steps in one train call when --steps_per_loop is 0. A Ctrl-C is seen only between calls: 20
# steps of DVBPR's CNN-F took 25 s to answer one; one step of it gives the same weights bit for bit.
STEPS_PER_CALL, STEPS_PER_CALL_WITH_CNN = 20, 1


class _Loop:
    def __init__(self, model, optimizers, base_rates, strategy, state, latest, best, writer,
                 dataset, item_table, model_config, train_config, samples_dir, on_epoch):
        self.samples_dir = samples_dir
        self.on_epoch = on_epoch   # called with the call's epoch records after each epoch
        self.model, self.optimizers, self.strategy, self.state = model, optimizers, strategy, state
        self.base_rates = base_rates
        self.latest, self.best, self.writer = latest, best, writer
        self.dataset, self.item_table = dataset, item_table
        self.model_config, self.cfg = model_config, train_config
        # A resumed run that had stopped early stays stopped (unless --patience is now larger):
        # patience left in a stage before the last is reset when the next stage starts.
        self.stopped_early = 0 < train_config.patience <= int(state.bad_epochs.numpy())
        self._notes = []   # messages of this epoch's validation, printed after its progress line
        self._stage_set = False
        self._train_step = self._make_train_step()
        self._improved = False
        self.holds_best = False   # the model's weights are those of the best checkpoint, just saved
        self._batches = None   # (distributed iterator over the rest of the run, batches per epoch)
        self.steps_per_call = train_config.steps_per_loop or (
            STEPS_PER_CALL_WITH_CNN if model.runs_cnn_every_step else STEPS_PER_CALL)

    def _make_train_step(self):
        model, optimizers, strategy = self.model, self.optimizers, self.strategy

        def step_fn(batch):
            return model.train_step(batch, optimizers)

        @tf.function
        def train_steps(iterator, num_steps):
            """`num_steps` steps in one call (fewer Python round trips) → their mean loss."""
            total = tf.constant(0.0)
            for _ in tf.range(num_steps):
                per_replica = strategy.run(step_fn, args=(next(iterator),))
                total += strategy.reduce(tf.distribute.ReduceOp.MEAN, per_replica, axis=None)
            return total / tf.cast(num_steps, tf.float32)

        return train_steps

    def run(self):
        state, cfg = self.state, self.cfg
        history = []
        if not self.model.trainable_by_gradient:
            if int(state.epoch.numpy()) >= 1:   # fitted and saved by an earlier call
                return []
            score = self._validate()
            state.best_score.assign(score)
            state.best_epoch.assign(0)
            state.epoch.assign(1)
            self.best.keep(checkpoints.save_latest(self.latest, 0))
            self.holds_best = True
            return [{"epoch": 0, "validation": score}]
        if self.stopped_early and cfg.verbose:
            print(f"this run stopped early after epoch {int(state.epoch.numpy())} (no validation "
                  f"improvement for {cfg.patience} epochs); a larger --patience trains on")
        while not self.stopped_early and int(state.epoch.numpy()) < cfg.epochs and not self._out_of_steps():
            record = self._run_epoch()
            history.append(record)
            self.on_epoch(history)
            if self.stopped_early or self._out_of_steps():
                break
        return history

    def _steps_this_call(self, step, left_in_epoch):
        """Steps for one train call: at most `steps_per_call`, stopping exactly at the end of
        the epoch, at the next checkpoint and at `max_steps`."""
        cfg = self.cfg
        num = min(self.steps_per_call, left_in_epoch)
        if cfg.checkpoint_every > 0:
            num = min(num, cfg.checkpoint_every - step % cfg.checkpoint_every)
        if cfg.max_steps > 0:
            num = min(num, cfg.max_steps - step)
        return max(1, num)

    def _out_of_steps(self):
        return self.cfg.max_steps > 0 and int(self.state.step.numpy()) >= self.cfg.max_steps

    def _run_epoch(self):
        state, cfg = self.state, self.cfg
        epoch, start = int(state.epoch.numpy()), int(state.batch_in_epoch.numpy())
        self.holds_best = False
        self._begin_epoch(epoch)
        if self._batches is None:
            data, per_epoch = building.make_train_data(self.model, self.dataset, self.item_table, cfg,
                                                       cfg.batch_size, epoch, start, cfg.epochs - epoch)
            self._batches = iter(self.strategy.experimental_distribute_dataset(data)), per_epoch
        iterator, total = self._batches
        progbar = EpochProgress(total, verbose=cfg.verbose, epoch=epoch, num_epochs=cfg.epochs)
        progbar.update(start)
        started, loss_sum = time.time(), 0.0
        step, batch = int(state.step.numpy()), start
        while batch < total and not self._out_of_steps():
            num = self._steps_this_call(step, total - batch)
            loss = float(self._train_step(iterator, tf.constant(num)).numpy())
            loss_sum += loss * num
            step, batch = step + num, batch + num
            state.step.assign(step)
            state.batch_in_epoch.assign(batch)
            progbar.update(batch, [("loss", loss)])
            with self.writer.as_default(step=step):
                tf.summary.scalar("train/loss", loss)
            # The save after the loop writes this step when the loop ends here: TF would
            # rewrite the same .index in place, and a kill meanwhile would leave it truncated.
            continues = batch < total and not self._out_of_steps()
            if cfg.checkpoint_every > 0 and step % cfg.checkpoint_every == 0 and continues:
                checkpoints.save_latest(self.latest, step)
        finished_epoch = batch >= total
        if finished_epoch:
            self.model.end_epoch(epoch)
            state.epoch.assign_add(1)
            state.batch_in_epoch.assign(0)
        record = {"epoch": epoch, "loss": loss_sum / max(1, batch - start),
                  "seconds": round(time.time() - started, 3), "steps": int(state.step.numpy())}
        if finished_epoch and (epoch + 1) % max(1, cfg.eval_every_epochs) == 0:
            record["validation"] = self._end_of_epoch_validation(epoch)
            progbar.update(total, [("val", record["validation"])])
        if finished_epoch:
            self._record_images(epoch)
        progbar.close()
        for note in self._notes:   # after the epoch's line, not inside the bar
            print(note)
        self._notes.clear()
        saved = checkpoints.save_latest(self.latest, int(state.step.numpy()))
        if self._improved:
            self.best.keep(saved)
            self._improved = False
            self.holds_best = True
        return record

    def _record_images(self, epoch):
        """The model's `epoch_images` as PNG files in the run folder and TensorBoard images."""
        pictures = self.model.epoch_images(self.dataset)
        for name, image in pictures.items():
            image_sheets.write_png(os.path.join(self.samples_dir, f"{name}-epoch{epoch:03d}.png"), image)
        if pictures:
            with self.writer.as_default(step=int(self.state.step.numpy())):
                for name, image in pictures.items():
                    tf.summary.image(f"samples/{name}", image[None])

    def _begin_epoch(self, epoch):
        """Model hook `begin_epoch(epoch, min_stage)` (staged training, e.g. a CNN frozen for
        the first epochs): when it changes the trainable variables, the train step is rebuilt,
        and a new stage reached while training (not the one set up on (re)start) gets its full
        early-stopping patience. The stage's learning rate is `learning_rate` times the
        model's `learning_rate_scale`: every optimizer's own rate times that scale."""
        if self.model.begin_epoch(epoch, int(self.state.min_stage.numpy())):
            self._train_step = self._make_train_step()
            if self._stage_set:
                self.state.bad_epochs.assign(0)
        self._stage_set = True
        scale = float(self.model.learning_rate_scale)
        for name, optimizer in self.optimizers.items():
            optimizer.learning_rate = self.base_rates[name] * scale

    def _end_of_epoch_validation(self, epoch):
        state, cfg = self.state, self.cfg
        score = self._validate()
        with self.writer.as_default(step=int(state.step.numpy())):
            tf.summary.scalar(f"validation/{self.model.validation_metric}", score)
        best = float(state.best_score.numpy())
        # NaN (a diverged epoch) beats nothing, and any number beats a NaN kept as the best
        if int(state.best_epoch.numpy()) < 0 or score > best or (math.isnan(best) and not math.isnan(score)):
            state.best_score.assign(score)
            state.best_epoch.assign(epoch)
            state.bad_epochs.assign(0)
            self._improved = True   # the epoch's checkpoint becomes the best once it is saved
        else:
            state.bad_epochs.assign_add(1)
            if cfg.patience > 0 and int(state.bad_epochs.numpy()) >= cfg.patience:
                self._end_stage_or_stop()
        return score

    def _end_stage_or_stop(self):
        """Patience ran out: a staged model moves on to its next stage from the best weights
        so far (ImgRec-EtE: "frozen until convergence, then joint"); otherwise, or in the
        last stage, training stops."""
        stage = int(self.model.stage)
        if stage + 1 < int(self.model.num_stages):
            if self.cfg.verbose:
                self._notes.append(f"no validation improvement for {self.cfg.patience} epochs: "
                                   f"stage {stage + 2} starts from the best weights so far")
            if self.best.latest_checkpoint:
                tf.train.Checkpoint(model=self.model).read(self.best.latest_checkpoint).expect_partial()
            self.state.min_stage.assign(stage + 1)
            self.state.bad_epochs.assign(0)
            return
        if self.cfg.verbose:
            self._notes.append(f"early stopping: no validation improvement for "
                               f"{self.cfg.patience} epochs")
        self.stopped_early = True

    def _validate(self) -> float:
        score = self.model.validation_score(self.dataset)
        if score is not None:
            return float(score)
        from tfvisrec.evaluation import protocols
        # its bar on stderr (the epoch's is on stdout) when the epochs show a live bar
        return float(protocols.validate(self.model, self.dataset, num_negatives=self.cfg.eval_negatives,
                                        item_table=self.item_table,
                                        progress=sys.stderr if self.cfg.verbose == 1 else None))
