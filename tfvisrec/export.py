"""`python -m tfvisrec.export`: a trained model -> `export/<name>/<version>/` (TF Serving layout).

    python -m tfvisrec.export --model_dir runs/dvbpr --export_base export/dvbpr

The SavedModel is written into `export/<name>/.tmp-<version>-*` and renamed into place at the
end, so TF Serving (or the embedded server) polling `export/<name>` never sees a half-written
version; the folder of an export killed before its rename is removed by the next export
there (never that of an export still running: `tfvisrec.temp_folders`). It holds the signatures of `tfvisrec.serving.signatures` that apply to the model,
`assets.extra/tf_serving_warmup_requests` (one Predict per signature) and
`assets.extra/tfvisrec_export.json` (what was exported, how). The model's entry is added to
`models.config` beside the model folders (`export/models.config`), with the container path
`/models/<name>` as base_path; an entry there already keeps its version policy and labels.
A Ctrl-C while the version is renamed into place and its entry added waits until both are done
(a version without its entry is served by nothing); after a SIGKILL there, the next export of
the model adds the entry.
"""
import contextlib
import errno
import json
import logging as logging_lib
import os
import shutil
import sys
from typing import Optional

from absl import flags, logging

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow is imported)
import tensorflow as tf

from tfvisrec import atomic, temp_folders
from tfvisrec.atomic import require_writable
from tfvisrec.config import UsageError
from tfvisrec.data.errors import DataError
from tfvisrec.interruption import Interrupted, interrupts_deferred, run_command
from tfvisrec.serving import catalogue, layout, model_config, signatures, warmup
from tfvisrec.serving.servable import Servable

EXPORT_INFO_FILE = "tfvisrec_export.json"


def export_model(model, dataset, export_base: str, version: Optional[int] = None,
                 top_k: int = 100, exclude_seen: bool = True, batch_size: int = 256,
                 model_name: Optional[str] = None, models_config: Optional[str] = None,
                 container_models_root: str = model_config.CONTAINER_MODELS_ROOT,
                 as_of: Optional[int] = None, design=None, explain_classifier=None,
                 feature_backbone=None) -> str:
    """Export an in-memory model as `<export_base>/<version>/`; returns that path.

    version: None = next free integer. top_k: K of `recommend` (capped at the catalogue size).
    exclude_seen: `recommend` skips each user's training items. models_config: path of a
    models.config to add this model's entry to (None = leave config files alone). as_of: unix
    time time-aware models are served at (None = the latest training interaction). design: a
    `serving.design_export.DesignExport` (the GAN) to serve `generate` and `tailor` with.
    explain_classifier: the attribute classifier (`AttributeNetwork`) that made a SAERS model's
    regions, held by the export to serve `explain_images` (regions of new photos in the graph).
    feature_backbone: an outfit model's `vision.photo_maps.PhotoFeatureMaps` (the backbone that
    made its item feature maps; for a backbone trained end to end, `model.photo_feature_maps()`),
    held by the export to serve `outfit_score_images`.
    """
    if dataset.num_users == 0 or dataset.num_items == 0:
        raise DataError("cannot export a model over an empty dataset", dataset.path)
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    if version is not None and int(version) < 0:
        raise ValueError(f"version must be a non-negative integer, got {version}")
    export_base = os.path.abspath(export_base)
    name = model_name or os.path.basename(export_base)
    numbered_here = version is None
    version = layout.next_version(export_base) if numbered_here else int(version)
    final = os.path.join(export_base, str(version))
    if os.path.exists(final):
        raise DataError("this version exists already; choose another --version", final)

    servable = Servable(model, dataset, top_k=top_k, exclude_seen=exclude_seen,
                        batch_size=batch_size, as_of=as_of, design=design,
                        explain_classifier=explain_classifier, feature_backbone=feature_backbone)
    functions = signatures.build_signatures(servable)
    examples = signatures.Examples(
        user_id=dataset.user_ids[0], item_ids=list(dataset.item_ids[:2]),
        jpeg=catalogue.example_jpeg(servable.image_size),
        category=dataset.categories[0] if dataset.categories else None)

    made_base = not os.path.exists(export_base)
    os.makedirs(export_base, exist_ok=True)   # only now: a failure above leaves no empty folder
    temp_folders.remove_abandoned(export_base, ".tmp-")   # of exports killed before their rename
    published = False
    with temp_folders.held_temp_folder(export_base, f".tmp-{version}-") as tmp:
        try:
            with _quiet_tensorflow_logs(), _without_keras_layer_traces():
                tf.saved_model.save(servable, tmp, signatures=functions)
            warmup.write_warmup(tmp, name, signatures.example_inputs(servable, examples))
            _write_info(tmp, name, version, servable, sorted(functions), model)
            # a Ctrl-C between the rename and the models.config update left a first export's
            # version served by nothing: it waits until both are done
            with interrupts_deferred():
                while not _publish(tmp, final):   # another export took the version meanwhile
                    if not numbered_here:
                        raise DataError("this version was written meanwhile by another export; choose another "
                                        "--version", final)
                    version = layout.next_version(export_base)
                    final = os.path.join(export_base, str(version))
                    _write_info(tmp, name, version, servable, sorted(functions), model)
                if models_config:
                    base_path = container_models_root.rstrip("/") + "/" + os.path.basename(export_base)
                    entry = model_config.upsert(models_config, model_config.model_entry(name, base_path))
                published = True
        except BaseException as e:
            if published:   # a Ctrl-C held off while publishing: the version and its entry are in place
                raise Interrupted(f"interrupted: {final} was published" + (
                    f" and its entry added to {models_config}" if models_config else "")) from None
            shutil.rmtree(tmp, ignore_errors=True)
            if made_base and not os.listdir(export_base):   # nor does a failure here
                os.rmdir(export_base)
            if isinstance(e, tf.errors.OpError):   # e.g. a full disk: one line, not TF's traceback
                raise OSError(f"cannot write the export {final} ({atomic.write_error_reason(e)})") from None
            raise
    logging.info("exported %s version %d to %s (signatures: %s)", name, version, final,
                 ", ".join(sorted(functions)))
    if models_config:
        if version not in model_config.served_versions(entry.model_version_policy,
                                                        layout.version_dirs(export_base)):
            logging.warning("%s: model %s's version policy (%s) does not serve version %d; "
                            "edit it there to serve that version", models_config, name,
                            model_config.one_line(entry.model_version_policy) or "latest 1", version)
    return final


@contextlib.contextmanager
def _quiet_tensorflow_logs():
    """Saving a tf_keras model inside a tf.Module logs harmless notes (unbuilt layers, renamed
    captures, asset paths, checkpoint sharding) at INFO/WARNING; keep them out of the output."""
    tf_logger = tf.get_logger()
    tf_level, absl_verbosity = tf_logger.level, logging.get_verbosity()
    tf_logger.setLevel(logging_lib.ERROR)
    logging.set_verbosity(logging.ERROR)
    try:
        yield
    finally:
        tf_logger.setLevel(tf_level)
        logging.set_verbosity(absl_verbosity)


def _without_keras_layer_traces():
    """By default `tf.saved_model.save` also traces the `call` of every tf_keras layer inside
    the servable (Keras' own SavedModel format, for `keras.models.load_model`). Nothing here
    loads them: serving runs the signatures, which capture the variables themselves. Skipping
    those traces (Keras' `save_traces=False`) saves seconds per export."""
    try:   # a private module of tf_keras: a version without it exports as before, only slower
        from tf_keras.src.saving.legacy.saved_model import utils as keras_saved_model_utils
    except ImportError:
        return contextlib.nullcontext()
    return keras_saved_model_utils.keras_option_scope(save_traces=False, in_tf_saved_model_scope=True)


def _publish(tmp: str, final: str) -> bool:
    """Rename the finished version `tmp` to `final`; False when a version folder is there."""
    try:
        os.rename(tmp, final)
        return True
    except OSError as e:
        if e.errno in (errno.ENOTEMPTY, errno.EEXIST) and os.path.isdir(final):
            return False
        raise


def _write_info(saved_model_dir, name, version, servable, signature_names, model):
    info = {
        "model_name": name, "version": version,
        "model": model.registered_name,
        "signatures": signature_names, "top_k": servable.top_k,
        "exclude_seen": servable.exclude_seen, "image_size": servable.image_size,
        "as_of": servable.as_of,
        "feature_backbone": (servable.outfit_photos.weights or "the model's own, trained end to end")
                            if servable.outfit_photos is not None else None,
        "num_users": servable.num_users, "num_items": servable.num_items,
        "tensorflow": tf.__version__, "tfvisrec": tfvisrec.__version__,
    }
    path = os.path.join(saved_model_dir, warmup.ASSETS_EXTRA, EXPORT_INFO_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2, sort_keys=True)


# ---- CLI ---------------------------------------------------------------------------------

FLAGS = flags.FLAGS


def define_flags():
    """Define the export flags (skipping any another CLI in this process defined already)."""
    for definer, name, default, help_text in [
        (flags.DEFINE_string, "model_dir", None, "Trained model folder (holds config.json and checkpoints)."),
        (flags.DEFINE_string, "which", "best", "Checkpoint to export: best | latest (a run without a best one, never validated, exports its latest, with a warning)."),
        (flags.DEFINE_string, "dataset_dir", "", "Dataset folder; default: the one the model was trained on."),
        (flags.DEFINE_string, "export_base", None, "Model folder in the repository, e.g. export/dvbpr (its name is the served model name)."),
        (flags.DEFINE_integer, "version", 0, "Version number to write; 0 = next free version."),
        (flags.DEFINE_integer, "top_k", 100, "K of the recommend signature (requests ask for k <= K)."),
        (flags.DEFINE_bool, "exclude_seen", True, "recommend skips each user's training items."),
        (flags.DEFINE_integer, "export_batch_size", 256, "Batch size when embedding the catalogue."),
        (flags.DEFINE_integer, "as_of", 0, "Unix time time-aware models (TVBPR) are served at; 0 = the latest training interaction."),
        (flags.DEFINE_string, "models_config", "", "models.config to add the entry to; default <export_base>/../models.config; 'none' to skip."),
        (flags.DEFINE_string, "gan_dir", "", "A trained `gan` (on the same photos as the model, a DVBPR): export `generate` and `tailor` too."),
        (flags.DEFINE_integer, "generate_restarts", 16, "generate: random starts optimised per request row (m; 64 in the paper)."),
        (flags.DEFINE_integer, "generate_steps", 50, "generate: Adam steps on z' (fixed at export: the request's cost)."),
        (flags.DEFINE_float, "generate_learning_rate", 0.05, "generate: Adam's step size on z'."),
        (flags.DEFINE_float, "generate_eta", 1.0, "generate: weight of the realism penalty of eq. 10."),
        (flags.DEFINE_integer, "generate_k", 3, "generate: designs returned per request row."),
        (flags.DEFINE_string, "explain_classifier", "", "SAERS: the attribute classifier its regions came from, held by the export to serve explain_images; default the weights the dataset's features.json names (skipped with a warning when absent); 'none' to skip."),
        (flags.DEFINE_string, "feature_backbone", "", "PAN / FHN: the backbone weights that made the item feature maps, held by the export to serve outfit_score_images; default the weights feature_maps.npz records (skipped with a warning when unknown); 'none' to skip."),
        (flags.DEFINE_integer, "tailor_restarts", 8, "tailor: random starts fitted to each query image (eq. 12)."),
        (flags.DEFINE_integer, "tailor_fit_steps", 50, "tailor: Adam steps fitting G_c(tanh z') to the query (eq. 12)."),
        (flags.DEFINE_integer, "tailor_steps", 50, "tailor: Adam steps of preference maximisation after the fit (eq. 9-10)."),
        (flags.DEFINE_integer, "tailor_record_every", 10, "tailor: keep an image of the strip every N steps (must divide both step counts)."),
        (flags.DEFINE_string, "container_models_root", model_config.CONTAINER_MODELS_ROOT, "Where export/ is mounted in the TF Serving container (base_path prefix in models.config)."),
    ]:
        if name not in FLAGS:
            definer(name, default, help_text)
    if "dataset" not in FLAGS:   # the name train, evaluate and vision.features give the flag
        flags.DEFINE_alias("dataset", "dataset_dir")


def main(argv):
    del argv
    from tfvisrec.training import checkpoints  # the trainer owns checkpoint loading
    if not FLAGS.model_dir or not FLAGS.export_base:
        raise UsageError("--model_dir and --export_base are required")
    for wrong, problem in ((FLAGS.which not in ("best", "latest"), f"--which must be best or latest, got {FLAGS.which!r}"),
                           (FLAGS.top_k < 1, f"--top_k must be at least 1, got {FLAGS.top_k}"),
                           (FLAGS.version < 0, f"--version must be 0 (the next free one) or more, got {FLAGS.version}"),
                           (FLAGS.export_batch_size < 1, f"--export_batch_size must be at least 1, got {FLAGS.export_batch_size}"),
                           (FLAGS.models_config not in ("", "none") and not os.path.isdir(
                               os.path.dirname(os.path.abspath(FLAGS.models_config))),
                            f"--models_config {FLAGS.models_config}: its folder does not exist")):
        if wrong:   # before anything is loaded or created
            print(f"error: {problem}", file=sys.stderr)
            return 2
    config_path = FLAGS.models_config or os.path.join(
        os.path.dirname(os.path.abspath(FLAGS.export_base)), "models.config")
    try:
        require_writable(FLAGS.export_base, "--export_base", folder=True)   # before the model is loaded
        model, dataset = checkpoints.load_trained(FLAGS.model_dir, which=FLAGS.which,
                                                  dataset_dir=FLAGS.dataset_dir or None)
        if checkpoints.checkpoint_used(FLAGS.model_dir, FLAGS.which) != FLAGS.which:
            print(f"warning: {FLAGS.model_dir} has no best checkpoint (it never validated: stopped "
                  "before its first epoch ended, or still training); exporting its latest one",
                  file=sys.stderr)
        design = _design_export(model) if FLAGS.gan_dir else None
        classifier = _explain_classifier(model, dataset)
        feature_backbone = _feature_backbone(model)
        path = export_model(model, dataset, FLAGS.export_base,
                            version=FLAGS.version or None, top_k=FLAGS.top_k,
                            exclude_seen=FLAGS.exclude_seen, batch_size=FLAGS.export_batch_size,
                            models_config=None if config_path == "none" else config_path,
                            container_models_root=FLAGS.container_models_root,
                            as_of=FLAGS.as_of or None, design=design, explain_classifier=classifier,
                            feature_backbone=feature_backbone)
    except (DataError, ValueError, OSError) as e:   # bad data, or settings a model or the GAN refuses
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(path)
    return 0


def _explain_classifier(model, dataset):
    """The attribute classifier for `explain_images` (see the flag), or None."""
    if "explain" not in model.extra_signatures or FLAGS.explain_classifier == "none":
        if FLAGS.explain_classifier not in ("", "none"):
            raise DataError(f"--explain_classifier: a {model.registered_name} model does not explain")
        return None
    from tfvisrec.vision.region_features import load_region_classifier
    try:
        return load_region_classifier(dataset, FLAGS.explain_classifier, model.regions_file)
    except DataError as e:
        if FLAGS.explain_classifier:
            raise
        logging.warning("exporting without explain_images (%s)", e)
        return None


def _feature_backbone(model):
    """The backbone for `outfit_score_images` (see the flag), or None. Not given, an unknown or
    missing backbone only warns: synthetic maps have none, and the export still serves
    `outfit_score`; given, it must load and make maps of the model's shape."""
    own = model.photo_feature_maps()
    if own is not None:   # a backbone trained end to end: only the model's own makes its maps
        if FLAGS.feature_backbone not in ("", "none"):
            raise DataError(f"--feature_backbone: this {model.registered_name} model trained its backbone end to end; "
                            "its photos are read by that backbone, held in the export")
        return None if FLAGS.feature_backbone == "none" else own
    source = model.feature_maps_source
    if source is None or FLAGS.feature_backbone == "none":
        if FLAGS.feature_backbone not in ("", "none"):
            raise DataError(f"--feature_backbone: a {model.registered_name} model reads no feature maps")
        return None
    from tfvisrec.vision.photo_maps import load_photo_feature_maps
    try:
        return load_photo_feature_maps(source, FLAGS.feature_backbone)
    except DataError as e:
        if FLAGS.feature_backbone:
            raise
        logging.warning("exporting without outfit_score_images (%s)", e)
        return None


def _design_export(model):
    from tfvisrec.serving.design_export import DesignExport, DesignSettings
    from tfvisrec.training import checkpoints
    gan, gan_data = checkpoints.load_trained(FLAGS.gan_dir)
    if gan.registered_name != "gan":
        raise DataError(f"--gan_dir holds a {gan.registered_name!r} model, not a gan", FLAGS.gan_dir)
    try:
        settings = DesignSettings(restarts=FLAGS.generate_restarts, steps=FLAGS.generate_steps,
                                  learning_rate=FLAGS.generate_learning_rate, eta=FLAGS.generate_eta,
                                  k=FLAGS.generate_k, tailor_restarts=FLAGS.tailor_restarts,
                                  tailor_fit_steps=FLAGS.tailor_fit_steps, tailor_steps=FLAGS.tailor_steps,
                                  tailor_record_every=FLAGS.tailor_record_every)
        return DesignExport(gan, model, gan_data.categories, settings)
    except ValueError as e:     # settings out of range, or a model that cannot score images
        raise DataError(f"cannot export generate / tailor: {e}", FLAGS.gan_dir) from None


def run():
    define_flags()
    run_command(main, interrupted="interrupted: no version was published (it is written into a temporary folder, "
                "now removed, and renamed into place only when complete)")


if __name__ == "__main__":
    run()
