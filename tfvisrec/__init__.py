"""tfvisrec: visually-aware fashion recommendation on TensorFlow.

The package's models are `tf_keras` (Keras 2) models, so the Keras 2 API is selected here,
before anything imports TensorFlow. Code in this package imports `tf_keras as keras`.
TensorFlow's C++ start-up messages (CUDA probes on a machine without a GPU) are held to
TF_CPP_MIN_LOG_LEVEL, 2 unless set (`tensorflow_startup`); this module never imports TensorFlow.
When the program is one of the package's commands, a Ctrl-C while it still loads is one line and
exit status 130 (`interrupted_while_loading`, first: every later import is inside that).
"""
import os

from tfvisrec import interrupted_while_loading as _interrupted_while_loading  # noqa: F401

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfvisrec import tensorflow_startup as _tensorflow_startup  # noqa: E402

_tensorflow_startup.install()

__version__ = "0.1.0"
