"""tfvisrec: visually-aware fashion recommendation on TensorFlow.

TensorFlow Recommenders refuses Keras 3, so the Keras 2 API (`tf_keras`) is selected here,
before anything imports TensorFlow. Code in this package imports `tf_keras as keras`.
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
