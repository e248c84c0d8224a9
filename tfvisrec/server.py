"""`python -m tfvisrec.server`: the embedded TF-Serving-protocol gRPC server.

    python -m tfvisrec.server --model_config_file serving/models.config
    python -m tfvisrec.server --model_base_path export/dvbpr --port 8500

The default server for a machine without Docker; production runs TF Serving (serving/), and
the same client (`tfvisrec.client`) talks to both. Flags follow tensorflow_model_server's
names where it has one. Base paths under /models/ (the container mount of export/) are
looked up locally under --local_models_root, or else beside the config file and in export/.
SIGTERM/SIGINT shut down gracefully: health turns NOT_SERVING, new requests get UNAVAILABLE
for --lame_duck_seconds (clients retry elsewhere), in-flight ones finish within --grace_seconds;
while the models still load, they stop the server there, before it listens.
--model_config_file_poll_wait_seconds re-reads the config file and applies a changed one, as
TF Serving does. --enable_batching merges concurrent Predict calls as TF Serving does, with the same
BatchingParameters file (serving/batching.config) given as --batching_parameters_file.
"""
import os
import signal
import sys
import threading

from absl import app, flags, logging

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow is imported)
import tensorflow as tf
from tfvisrec.data.errors import DataError
from tfvisrec.config import UsageError, parse_flags
from tfvisrec.serving import batching_config, model_config, session_config
from tfvisrec.serving.config_watch import ConfigFileWatcher
from tfvisrec.serving.model_server import ModelServer

FLAGS = flags.FLAGS
MAX_MESSAGE_MB = 2047   # gRPC's message limits are int32 bytes


def define_flags():
    """Define the server flags (skipping any another CLI in this process defined already)."""
    for definer, name, default, help_text in [
        (flags.DEFINE_integer, "port", 8500, "gRPC port (0 = any free port; the chosen one is printed)."),
        (flags.DEFINE_string, "host", "0.0.0.0", "Address to listen on (127.0.0.1 = this machine only)."),
        (flags.DEFINE_string, "model_config_file", "", "ModelServerConfig text proto (serving/models.config)."),
        (flags.DEFINE_string, "model_name", "", "Served model name with --model_base_path (default: its folder name)."),
        (flags.DEFINE_string, "model_base_path", "", "One model's folder of versions, e.g. export/dvbpr."),
        (flags.DEFINE_integer, "model_config_file_poll_wait_seconds", 0, "Seconds between re-reads of --model_config_file; a changed file is applied as a reload (0 = read once; TF Serving's flag)."),
        (flags.DEFINE_float, "file_system_poll_wait_seconds", 1.0, "Seconds between polls for new versions (0 = load once)."),
        (flags.DEFINE_integer, "grpc_max_threads", 16, "Concurrent requests served."),
        (flags.DEFINE_integer, "max_message_mb", 512, "Largest request/response message in MiB (gRPC's default is 4)."),
        (flags.DEFINE_integer, "max_num_load_retries", 5, "Retries of a version that failed to load, before giving up on it (TF Serving's flag)."),
        (flags.DEFINE_integer, "load_retry_interval_micros", 60 * 1000 * 1000, "Microseconds between the retries of a version that failed to load (negative = no wait; TF Serving's flag: one minute, time for a version folder being copied in)."),
        (flags.DEFINE_bool, "enable_model_warmup", True, "Replay assets.extra/tf_serving_warmup_requests before serving a version."),
        (flags.DEFINE_string, "local_models_root", "", "Local folder standing for the container's /models (default: beside the config file, then export/)."),
        (flags.DEFINE_string, "container_models_root", model_config.CONTAINER_MODELS_ROOT, "Container path prefix of base paths in models.config."),
        (flags.DEFINE_bool, "enable_batching", False, "Merge concurrent Predict calls of one model version and signature into one run (TF Serving's flag)."),
        (flags.DEFINE_string, "batching_parameters_file", "", "BatchingParameters text proto (serving/batching.config); default: TF Serving's defaults."),
        (flags.DEFINE_integer, "tensorflow_intra_op_parallelism", 0, "Threads one op may use (0 = TensorFlow's choice, TF Serving's flag)."),
        (flags.DEFINE_integer, "tensorflow_inter_op_parallelism", 0, "Ops run at once (0 = TensorFlow's choice, TF Serving's flag)."),
        (flags.DEFINE_string, "tensorflow_session_config_file", "", "TensorFlow ConfigProto text proto for the runtime (TF Serving's flag; serving/session.config: single-threaded executor, no spinning); the two parallelism flags override its thread counts."),
        (flags.DEFINE_float, "grace_seconds", 10.0, "On SIGTERM, time given to in-flight requests."),
        (flags.DEFINE_float, "lame_duck_seconds", 0.5, "On SIGTERM, at least this long new requests get UNAVAILABLE before the port closes (within the grace)."),
    ]:
        if name not in FLAGS:
            definer(name, default, help_text)


def server_config():
    """The ModelServerConfig the flags describe, and the local roots standing for /models."""
    if bool(FLAGS.model_config_file) == bool(FLAGS.model_base_path):
        raise UsageError("pass exactly one of --model_config_file and --model_base_path")
    if FLAGS.model_config_file_poll_wait_seconds and not FLAGS.model_config_file:
        raise UsageError("--model_config_file_poll_wait_seconds goes with --model_config_file")
    if FLAGS.model_config_file and FLAGS.model_name:
        raise UsageError("--model_name names the model of --model_base_path; with --model_config_file "
                        "the names are the file's")
    if FLAGS.model_config_file:
        config = model_config.load(FLAGS.model_config_file)
        roots = [os.path.dirname(os.path.abspath(FLAGS.model_config_file)), "export"]
    else:
        base_path = os.path.abspath(FLAGS.model_base_path)
        name = FLAGS.model_name or os.path.basename(base_path.rstrip("/"))
        config = model_config.single_model(name, base_path)
        roots = []
    if FLAGS.local_models_root:
        roots = [FLAGS.local_models_root]
    return config, roots


def batching_options():
    """The BatchingOptions of --enable_batching / --batching_parameters_file (None = off)."""
    if not FLAGS.enable_batching:
        if FLAGS.batching_parameters_file:  # TF Serving refuses this too (server.cc)
            raise UsageError("--batching_parameters_file is set without --enable_batching")
        return None
    return batching_config.load(FLAGS.batching_parameters_file)


def set_tensorflow_threads():
    """TF Serving's --tensorflow_session_config_file, then --tensorflow_{intra,inter}_op_parallelism
    over it, before any model is loaded (their range checked by `flag_problems`)."""
    if FLAGS.tensorflow_session_config_file:
        session_config.apply(session_config.load(FLAGS.tensorflow_session_config_file))
    if FLAGS.tensorflow_intra_op_parallelism:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.tensorflow_intra_op_parallelism)
    if FLAGS.tensorflow_inter_op_parallelism:
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.tensorflow_inter_op_parallelism)


def flag_problems():
    """What is wrong with the numeric flags, before anything starts (gRPC would otherwise take
    the port modulo 65536, or start a server whose every message is too large)."""
    problems = []
    if not 0 <= FLAGS.port <= 65535:
        problems.append(f"--port must be in 0..65535, got {FLAGS.port}")
    if FLAGS.grpc_max_threads < 1:
        problems.append(f"--grpc_max_threads must be at least 1, got {FLAGS.grpc_max_threads}")
    if not 1 <= FLAGS.max_message_mb <= MAX_MESSAGE_MB:
        problems.append(f"--max_message_mb must be in 1..{MAX_MESSAGE_MB}, got {FLAGS.max_message_mb}")
    for name in ("file_system_poll_wait_seconds", "model_config_file_poll_wait_seconds",
                 "grace_seconds", "lame_duck_seconds", "max_num_load_retries",
                 "tensorflow_intra_op_parallelism", "tensorflow_inter_op_parallelism"):
        if FLAGS[name].value < 0:
            problems.append(f"--{name} must be >= 0, got {FLAGS[name].value:g}")
    return problems


class StoppedWhileStarting(BaseException):
    """SIGTERM/SIGINT while the models load (a BaseException: no load failure catches it)."""


def _interrupt_start(*_):
    raise StoppedWhileStarting()


def main(argv):
    del argv
    problems = flag_problems()
    if problems:
        print(f"error: {'; '.join(problems)}", file=sys.stderr)
        return 2
    try:
        config, roots = server_config()
        batching = batching_options()
        set_tensorflow_threads()
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    server = ModelServer(config, port=FLAGS.port, host=FLAGS.host,
                         max_workers=FLAGS.grpc_max_threads,
                         max_message_bytes=FLAGS.max_message_mb * 1024 * 1024,
                         poll_wait_seconds=FLAGS.file_system_poll_wait_seconds,
                         local_models_roots=roots,
                         container_models_root=FLAGS.container_models_root,
                         warmup=FLAGS.enable_model_warmup,
                         lame_duck_seconds=FLAGS.lame_duck_seconds, batching=batching,
                         max_load_retries=FLAGS.max_num_load_retries,
                         load_retry_interval_seconds=max(0, FLAGS.load_retry_interval_micros) / 1e6)
    watcher = (ConfigFileWatcher(FLAGS.model_config_file, server.repository.reload,
                                 FLAGS.model_config_file_poll_wait_seconds,
                                 server.repository.label_problem)
               if FLAGS.model_config_file_poll_wait_seconds else None)   # reads the file now
    for signum in (signal.SIGTERM, signal.SIGINT):   # while the models load: stop at once
        signal.signal(signum, _interrupt_start)
    stop = threading.Event()
    try:
        port = server.start()
        for signum in (signal.SIGTERM, signal.SIGINT):   # serving: shut down gracefully
            signal.signal(signum, lambda *_: stop.set())
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except StoppedWhileStarting:
        for signum in (signal.SIGTERM, signal.SIGINT):   # a second signal ends it at once
            signal.signal(signum, signal.SIG_DFL)
        server.stop(0.0)
        print("tfvisrec.server: stopped before serving (signal while loading the models)", flush=True)
        return 0
    waiting = server.repository.waiting_models()
    print(f"tfvisrec.server: serving {','.join(server.repository.model_names())} on {FLAGS.host}:{port}"
          + (f" (no version loaded yet: {','.join(waiting)})" if waiting else ""), flush=True)
    if batching is not None:
        logging.info("batching: %s", batching)
    if watcher is not None:
        watcher.start()
    while not stop.wait(1.0):
        pass
    logging.info("shutting down (grace %.1f s)", FLAGS.grace_seconds)
    if watcher is not None:
        watcher.stop()
    server.stop(FLAGS.grace_seconds)
    print("tfvisrec.server: stopped", flush=True)
    return 0


def run():
    define_flags()
    app.run(lambda argv: sys.exit(main(argv)), flags_parser=parse_flags)


if __name__ == "__main__":
    run()
