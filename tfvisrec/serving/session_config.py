"""TF Serving's `--tensorflow_session_config_file`: a text `ConfigProto`, read, checked and
handed to TensorFlow's eager runtime before the first op runs.

TF Serving gives the ConfigProto to every session it creates; the embedded server runs all its
models in one eager context, so the file configures that context, once per process (the
thread pools are made when the context starts). As in TF Serving, explicit
`--tensorflow_{intra,inter}_op_parallelism` flags override the file's thread counts.
"""
import os

from google.protobuf import text_format
from tensorflow.core.protobuf import config_pb2

from tfvisrec.data.errors import DataError


def load(path: str) -> config_pb2.ConfigProto:
    """The ConfigProto in text format at `path`; DataError naming the file and what is wrong."""
    if not os.path.isfile(path):
        raise DataError("no such session config file", path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        return text_format.Parse(text, config_pb2.ConfigProto())
    except text_format.ParseError as e:
        raise DataError(f"not a TensorFlow ConfigProto text proto: {e}", path) from None


def apply(config: config_pb2.ConfigProto) -> None:
    """Make `config` the eager context's ConfigProto; only possible before TensorFlow has run
    anything in this process (RuntimeError otherwise)."""
    from tensorflow.python.eager import context
    eager = context.context()
    # No public setter exists: tf.compat.v1.enable_eager_execution(config=...) silently ignores
    # the config once the (TF2, always eager) context object exists. `_config` is what the
    # context copies into its options when it initialises.
    if eager._context_handle is not None:  # pylint: disable=protected-access
        raise RuntimeError("TensorFlow has already started in this process; a session config "
                           "must be applied before any model is loaded")
    eager._config = config  # pylint: disable=protected-access
