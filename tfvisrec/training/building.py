"""Build a registered model for a dataset, with its item features and its variables created."""
from tfvisrec.data import pipelines
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo


def build_model(model_config, train_config, dataset):
    """→ (model with variables, ItemFeatureTable). Call inside the strategy's scope."""
    cls = registry.get(model_config.model)
    keys = getattr(cls, "item_feature_keys", ())
    item_table = ItemFeatureTable(dataset, keys, image_size=model_config.image_size,
                                  cache=train_config.image_cache, cache_mb=train_config.image_cache_mb,
                                  features_file=model_config.features_file)
    feature_dim = 0
    if "features" in item_table._tensors:
        feature_dim = int(item_table._tensors["features"].shape[-1])
    model = cls(DataInfo.from_dataset(dataset, feature_dim=feature_dim), model_config)
    model.prepare(dataset)
    sample = next(iter(make_train_data(model, dataset, item_table, train_config, batch_size=2,
                                       epoch=0, start_batch=0)))
    model.compute_loss(sample, training=False)
    return model, item_table


def make_train_data(model, dataset, item_table, train_config, batch_size, epoch, start_batch):
    """The model's training pipeline for one epoch, starting at `start_batch`."""
    return pipelines.make_pipeline(
        model.train_pipeline, dataset=dataset, item_table=item_table, batch_size=batch_size,
        seed=model.config.seed, epoch=epoch, start_batch=start_batch,
        steps_per_epoch=train_config.steps_per_epoch, num_negatives=model.num_negatives,
        with_time="time" in getattr(model, "item_feature_keys", ()),
        image_size=model.config.image_size, training=True)

