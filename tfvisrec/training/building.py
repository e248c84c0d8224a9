"""Build a registered model for a dataset, with its variables created and no data decoded."""
from tfvisrec.data import item_features, pipelines, region_file, schema
from tfvisrec.data.errors import DataError
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo

# Pipelines that read labelled photos, not shoppers' purchases (the classifier, the GAN).
_PHOTO_PIPELINES = ("attributes", "category_images")


def build_model(model_config, dataset):
    """→ the model of `model_config.model`, prepared on `dataset`, variables built from its
    `DataInfo` and declared input specs (`Recommender.build_variables`): neither images nor
    features are read, so loading a trained model for export or evaluation stays cheap.
    Call inside the strategy's scope."""
    cls = registry.get(model_config.model)
    if not isinstance(model_config, cls.config_class):
        raise TypeError(f"{model_config.model} is configured by {cls.config_class.__name__}, got "
                        f"{type(model_config).__name__} (registry.new_config builds the right one)")
    if cls.train_pipeline not in _PHOTO_PIPELINES and (dataset.num_users == 0 or len(dataset.train) == 0):
        raise DataError(f"has no shoppers' purchases (a catalogue of labelled photos?), and {model_config.model} "
                        "learns from them: give a dataset of purchases (`python -m tfvisrec.data ingest`, `hm`, …)",
                        dataset.path)
    feature_dim = 0
    if schema.FEATURES in cls.item_feature_keys:
        feature_dim = item_features.stored_feature_dim(dataset, model_config.features_file,
                                                       cls.default_features_file)
    region_shape = (0, 0)
    if schema.REGIONS in cls.item_feature_keys:
        region_shape = region_file.stored_region_shape(dataset, model_config.regions_file)
    model = cls(DataInfo.from_dataset(dataset, feature_dim=feature_dim, region_shape=region_shape), model_config)
    model.prepare(dataset)
    model.build_variables()
    return model


def make_train_data(model, dataset, item_table, train_config, batch_size, epoch, start_batch,
                    num_epochs=1):
    """The model's training pipeline from batch `start_batch` of `epoch` through `num_epochs`
    epochs → (dataset, batches per epoch)."""
    data = pipelines.make_pipeline(
        model.train_pipeline, dataset=dataset, item_table=item_table, batch_size=batch_size,
        seed=model.config.seed, epoch=epoch, start_batch=start_batch,
        steps_per_epoch=train_config.steps_per_epoch, num_negatives=model.num_negatives,
        with_time=schema.TIME in model.item_feature_keys,
        image_size=model.image_size, training=True, num_epochs=num_epochs)
    return data, (int(data.cardinality().numpy()) + start_batch) // num_epochs
