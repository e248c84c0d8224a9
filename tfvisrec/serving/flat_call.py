"""A loaded signature called with its flat list of input tensors.

Calling a concrete function with keywords binds them to its structured input signature
(`function_type_utils.canonicalize_function_inputs`) on every call: 0.15-0.2 ms of Python per
call, a fifth of a small signature's whole cost (measured on a 2k-item BPR-MF `recommend`:
0.85 -> 0.67 ms CPU per call). Requests are checked against the SignatureDef before they get
here (`requests.parse_inputs`: names, dtypes, shapes), so the binding checks nothing new; the
flat call hands the tensors, then the captured variables, straight to the function's runtime
(`ConcreteFunction.inference_fn.call_flat`, what `ConcreteFunction._call_flat` does when no
gradient tape watches). A function whose inputs are not one tensor per name keeps the keyword call.

The runtime ConfigProto's `experimental.executor_type` (TF Serving's session config, see
`session_config.py`) picks the executor of every call, as it does for TF Serving's sessions; the
eager runtime reads it only from the calling thread's function call options, so it is set there
before each call (the config alone only keeps control flow functional: with
`SINGLE_THREADED_EXECUTOR` in it, `tf.cond` / `tf.while_loop` are not lowered to the Switch /
Merge ops that executor refuses). `SINGLE_THREADED_EXECUTOR` runs a signature's ops on the
calling thread instead of handing them to the inter-op pool.
"""
from typing import Callable, Dict, List

import numpy as np
import tensorflow as tf
from tensorflow.python.eager import context

Arrays = Dict[str, np.ndarray]


def _flat_names(function) -> List[str]:
    """The input names in the function's flat order, or [] when not one tensor each."""
    function_type = getattr(function, "function_type", None)
    if function_type is None or getattr(function, "inference_fn", None) is None:
        return []
    names = list(function_type.parameters)
    specs = [p.type_constraint for p in function_type.parameters.values()]
    if not all(isinstance(s, tf.TensorSpec) for s in specs) or len(function_type.flat_inputs) != len(names):
        return []
    return names


def _executor_setter() -> Callable[[], None]:
    """Sets the calling thread's executor to the runtime config's `experimental.executor_type`
    (nothing to do when it names none: TensorFlow's default executor)."""
    eager = context.context()
    executor_type = eager.config.experimental.executor_type
    if not executor_type:
        return lambda: None

    def set_executor():
        options = eager.function_call_options  # per thread
        if options.executor_type != executor_type:
            options.executor_type = executor_type
    return set_executor


def caller(function) -> Callable[[Arrays], Arrays]:
    """`call(inputs) -> outputs`: numpy arrays by name in and out, flat when possible."""
    names = _flat_names(function)
    outputs = function.structured_outputs
    set_executor = _executor_setter()
    if not names or not isinstance(outputs, dict):
        def by_keyword(inputs: Arrays) -> Arrays:
            set_executor()
            result = function(**{k: tf.constant(v) for k, v in inputs.items()})
            return {k: v.numpy() for k, v in result.items()}
        return by_keyword
    output_names = tf.nest.flatten({name: name for name in outputs})  # the flat output order
    atomic = function.inference_fn

    def flat(inputs: Arrays) -> Arrays:
        set_executor()
        tensors = [tf.constant(inputs[name]) for name in names]
        result = atomic.call_flat(*tensors, *function.captured_inputs)
        return {name: tensor.numpy() for name, tensor in zip(output_names, result)}

    return flat
