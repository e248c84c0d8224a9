"""Optimizers by flag name."""
import tf_keras as keras

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "sgd": keras.optimizers.SGD,
    "adagrad": keras.optimizers.Adagrad,
    "rmsprop": keras.optimizers.RMSprop,
}


def make_optimizer(name: str, learning_rate: float):
    if name not in OPTIMIZERS:
        raise ValueError(f"--optimizer must be one of {sorted(OPTIMIZERS)}, not {name!r}")
    return OPTIMIZERS[name](learning_rate=learning_rate)
