"""Which models `python -m tfvisrec.demo` can train, which need the world's visual stage, and
which protocols its table can show (no flags here, so tests and tools can import it beside the
other command lines)."""
import os

# Models the demo's table cannot hold: they rank no single items for a shopper.
_NOT_ITEM_RANKERS = {"outfit_pairs": "scores outfits (its own world: the outfits protocol)",
                     "category_images": "generates garment images",
                     "attributes": "classifies photos"}


def check_models(models, configs_dir):
    """ValueError unless every name is a registered model that ranks items for shoppers and
    has its flagfile."""
    from tfvisrec.models import registry
    if not models:
        raise ValueError("--models names no model: give one or more, e.g. --models=poprank,bprmf")
    for name in models:
        pipeline = registry.get(name).train_pipeline   # ValueError naming the registered models
        flagfile = os.path.join(configs_dir, f"{name}.cfg")
        if not os.path.exists(flagfile):
            raise ValueError(f"no flagfile {flagfile} for model {name!r}")
        if pipeline in _NOT_ITEM_RANKERS:
            raise ValueError(f"{name} {_NOT_ITEM_RANKERS[pipeline]}, and the demo compares models that "
                             f"rank items for shoppers: train it on its own with `python -m tfvisrec.train "
                             f"--flagfile=configs/{name}.cfg`")


def check_protocols(protocols):
    """ValueError unless every name is an item protocol of `tfvisrec.evaluation.protocols` and
    full_auc is among them: the table's AUC columns and the choice of the model to serve read
    it. Checked before the world is built: the protocols run only after every model trained."""
    from tfvisrec.evaluation.protocols import OUTFITS, get_protocol
    for name in protocols:
        get_protocol(name)   # ValueError naming the known protocols
        if name == OUTFITS:
            raise ValueError(f"--protocols: {OUTFITS} evaluates outfit models, and the demo's world has no "
                             "outfits: give item protocols, e.g. --protocols=full_auc,sampled_100")
    if "full_auc" not in protocols:
        raise ValueError(f"--protocols must include full_auc (the table's AUC columns and the choice of the "
                         f"model to serve read it), got {','.join(protocols) or 'none'}")


def refusals(models, protocols, configs_dir):
    """What `check_models` and `check_protocols` refuse, each as its message ([] when nothing),
    so that the demo names every mistake in one line."""
    problems = []
    for check, args in ((check_models, (models, configs_dir)), (check_protocols, (protocols,))):
        try:
            check(*args)
        except ValueError as e:
            problems.append(str(e))
    return problems


def needs_visual(name):
    """Whether `name` reads the visual stage: features f_i, photos (the pretrained CNN) or
    attribute regions."""
    from tfvisrec.data import schema
    from tfvisrec.models import registry
    keys = registry.get(name).item_feature_keys
    return bool({schema.FEATURES, schema.IMAGE, schema.REGIONS} & set(keys))
