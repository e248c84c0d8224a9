"""`python -m tfvisrec.train --flagfile=configs/bprmf.cfg [--dataset=DIR]`: train one model.

Every hyper-parameter is a flag: the training loop's in `tfvisrec/config.py`, each model
family's beside its model (`--helpfull` groups them); flagfiles in `configs/` are the
experiments. `--list_models` prints the registered models. Without `--dataset` the model
trains on the built-in default dataset, the synthetic style world with photos (an outfit model
on the synthetic outfit world), built once into a cache folder (`tfvisrec/default_world.py`).
"""
import os
import sys

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
from absl import flags, logging

from tfvisrec import config as config_lib
from tfvisrec import default_world
from tfvisrec.interruption import Interrupted, run_command
from tfvisrec.models import model_flags

config_lib.define_flags(config_lib.TrainConfig)
model_flags.define_model_flags()
default_world.define_flags()
flags.adopt_module_key_flags(default_world)   # --default_world_* in --help too
flags.declare_key_flag("model")                # the model flags: --helpfull, by family
flags.DEFINE_bool("list_models", False, "Print the registered model names and exit.")
flags.DEFINE_bool("deterministic", False, "Enable TensorFlow op determinism (bit-exact reruns; slower).")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise config_lib.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    from tfvisrec.models import registry
    if FLAGS.list_models:
        print("\n".join(registry.names()))
        return 0
    import tensorflow as tf
    from tfvisrec.data.errors import DataError
    from tfvisrec.training import check_settings, checkpoints, describe_best, fit, strategy as strategy_lib
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    if FLAGS.deterministic:
        tf.config.experimental.enable_op_determinism()
    train_config = config_lib.from_flags(config_lib.TrainConfig)
    try:
        model_config = model_flags.model_config_from_flags()
        settings = default_world.WorldSettings(FLAGS.default_world_users, FLAGS.default_world_items)
        world_problems = [] if train_config.dataset else settings.problems("--default_world_users",
                                                                           "--default_world_items")
        # every mistake in one line, before the default world is built
        check_settings(model_config, train_config, also=world_problems)
        if not train_config.dataset:
            model_config, train_config = default_world.configs_for_default_world(
                model_config, train_config, cache_dir=FLAGS.default_world_cache, settings=settings)
        elif not os.path.isdir(train_config.dataset):
            raise DataError("dataset folder does not exist: build it first (the flagfile's comments give "
                            "the command), or pass --dataset= to train on the built-in synthetic world",
                            train_config.dataset)
        strategy = strategy_lib.make_strategy(train_config.strategy, train_config.num_cpu_devices)
        _, summary = fit(model_config, train_config, strategy=strategy)
    except (DataError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        # a refused checkpoint warns of its unrestored values when it is collected, after this line
        tf.get_logger().setLevel("ERROR")
        return 2
    except KeyboardInterrupt:
        raise Interrupted(checkpoints.interrupted_note(train_config.model_dir)) from None
    print(f"trained {summary['model']}: {summary['steps']} steps, best validation {describe_best(summary)}, "
          f"model in {train_config.model_dir}")
    return 0


def run():
    run_command(main, interrupted="interrupted before training started: nothing was written; run the same "
                "command again")


if __name__ == "__main__":
    run()
