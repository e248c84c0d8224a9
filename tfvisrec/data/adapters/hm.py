"""H&M Personalized Fashion Recommendations (Kaggle) → dataset folder.

Reads, from `hm_dir`:
- `transactions_train_sample.csv` (t_dat, customer_id, article_id, …): the interactions;
- `articles_train_sample.csv`: metadata of some articles — product_group_name is the
  category, colour/appearance/department/… names are attributes, prod_name + detail_desc
  the text; purchased articles without a row get unknown (-1) labels, except the category
  when `category_predictions` give one predicted from the photo with at least
  `category_min_confidence` (the predictions are then stored in the dataset,
  `category_predictions.npz`, and `meta.json` says how many purchased articles got one);
- `images_120x180.tar`: `images/<first 3 digits>/<article_id>.jpg`, read straight from
  the archive.
article_id stays a string (leading zeros).
"""
import os
from typing import Optional

import pandas as pd

from tfvisrec.data.csv_reader import ItemTable, attribute_column, read_interactions, read_items
from tfvisrec.data.errors import DataError
from tfvisrec.data.image_reader import open_images
from tfvisrec.data.ingest import check_output, ingest_records

TRANSACTIONS_FILE = "transactions_train_sample.csv"
ARTICLES_FILE = "articles_train_sample.csv"
IMAGES_FILE = "images_120x180.tar"
CATEGORY_COLUMN = "product_group_name"
ATTRIBUTE_COLUMNS = ("product_type_name", "graphical_appearance_name", "colour_group_name",
                     "perceived_colour_value_name", "perceived_colour_master_name",
                     "department_name", "index_name", "index_group_name", "section_name",
                     "garment_group_name")
TEXT_COLUMNS = ("prod_name", "detail_desc")
DEFAULT_MIN_CONFIDENCE = 0.5


def image_member(article_id: str) -> str:
    """Archive member of an article's photo: images/<first 3 digits>/<article_id>.jpg."""
    return f"images/{article_id[:3]}/{article_id}.jpg"


def ingest_hm(hm_dir: str, out_dir: str, *, split: str = "leave_one_out",
              min_user_interactions: int = 5, cold_threshold: int = 5, seed: int = 0,
              image_shards: int = 4, overwrite: bool = False, with_images: bool = True,
              name: Optional[str] = None, progress: bool = False,
              category_predictions=None, category_min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> str:
    """Ingest the H&M sample in `hm_dir` into `out_dir`; returns the dataset folder path.

    Every purchased article must have its photo in the archive (`with_images=False` skips
    the images for collaborative baselines). `category_predictions`: product groups of the
    articles without metadata predicted from their photos (`hm_slots.PhotoPredictions`,
    `vision.type_groups.predict_hm_groups`); a prediction never overrides a known group.
    """
    if not os.path.isdir(hm_dir):
        raise DataError("H&M folder does not exist", hm_dir)
    check_output(out_dir, overwrite)
    records = read_interactions(os.path.join(hm_dir, TRANSACTIONS_FILE), user_column="customer_id",
                                item_column="article_id", time_column="t_dat")
    articles = os.path.join(hm_dir, ARTICLES_FILE)
    metadata = read_items(articles, id_column="article_id", image_column=None,
                          category_column=CATEGORY_COLUMN, attribute_columns=ATTRIBUTE_COLUMNS,
                          text_columns=TEXT_COLUMNS)
    items = _purchased_items(records.frame["item_id"], metadata, with_images)
    meta = {"name": name or "hm", "source": os.path.abspath(hm_dir), "adapter": "hm"}
    extra = None
    if category_predictions is not None:
        from tfvisrec.data.adapters.hm_slots import CATEGORY_PREDICTIONS_FILE
        predicted = _fill_predicted_categories(items, category_predictions, category_min_confidence)
        meta["category_predictions"] = {
            "classifier": category_predictions.source, "min_confidence": float(category_min_confidence),
            "articles_predicted": len(category_predictions.article_ids),
            "purchased_articles_with_predicted_category": predicted, "file": CATEGORY_PREDICTIONS_FILE}
        extra = {CATEGORY_PREDICTIONS_FILE: category_predictions.arrays()}
    source = open_images(os.path.join(hm_dir, IMAGES_FILE)) if with_images else None
    return ingest_records(
        records, out_dir, items=items, image_source=source, split=split,
        min_user_interactions=min_user_interactions, cold_threshold=cold_threshold, seed=seed,
        image_shards=image_shards, overwrite=overwrite, require_images=with_images,
        meta=meta, progress=progress, extra_npz=extra)


def _fill_predicted_categories(items: ItemTable, predictions, min_confidence: float) -> int:
    """Give the purchased articles without a category the group predicted from their photo
    with at least `min_confidence`; returns how many got one."""
    if not 0.0 <= min_confidence <= 1.0:
        raise DataError(f"the category confidence threshold must be within [0, 1], got {min_confidence}")
    confident = predictions.confident(min_confidence)
    frame = items.frame
    unknown = frame["category"] == ""
    predicted = frame["item_id"].map(confident).where(unknown).fillna("")
    frame.loc[predicted != "", "category"] = predicted[predicted != ""]
    return int((predicted != "").sum())


def _purchased_items(article_ids: pd.Series, metadata: ItemTable, with_images: bool) -> ItemTable:
    """One row per purchased article: its metadata row where there is one, its photo always."""
    purchased = pd.DataFrame({"item_id": sorted(set(article_ids))})
    frame = purchased.merge(metadata.frame, on="item_id", how="left")
    frame["row"] = frame["row"].fillna(0).astype("int64")
    frame = frame.fillna("")
    frame["image"] = frame["item_id"].map(image_member) if with_images else ""
    columns = ["item_id", "row", "image", "category", "text"]
    columns += [attribute_column(n) for n in metadata.attribute_names]
    return ItemTable(path=metadata.path, frame=frame[columns], category_name=CATEGORY_COLUMN,
                     attribute_names=list(metadata.attribute_names), has_text=True)


# Labels of the H&M articles for attribute pretraining in the shop's own photo domain; the
# first is the category. section/garment group and index group separate ladies', men's,
# children's and sports wear, which purchase histories follow closely.
CATALOGUE_LABEL_COLUMNS = ("product_type_name", "graphical_appearance_name", "colour_group_name",
                           "index_group_name", "section_name", "garment_group_name")


def ingest_hm_catalogue(hm_dir: str, out_dir: str, *,
                        label_columns=CATALOGUE_LABEL_COLUMNS, seed: int = 0,
                        holdout_fractions=(0.8, 0.1, 0.1), image_shards: int = 4,
                        overwrite: bool = False, name: Optional[str] = None,
                        progress: bool = False) -> str:
    """The labelled H&M articles with a photo → a catalogue dataset (no users) for
    `configs/hm_attributes.cfg`; returns the folder path.

    Rows of articles_train_sample.csv whose photo is in the archive are kept (the archive
    holds the purchased articles only), each with its metadata labels; hold-out split by
    `seed` as in `adapters.catalogue`.
    """
    import tarfile
    import tempfile
    from tfvisrec.data.adapters.catalogue import ingest_catalogue
    articles_path = os.path.join(hm_dir, ARTICLES_FILE)
    archive = os.path.join(hm_dir, IMAGES_FILE)
    for path in (articles_path, archive):
        if not os.path.exists(path):
            raise DataError("file does not exist", path)
    check_output(out_dir, overwrite)
    try:
        with tarfile.open(archive, mode="r|*") as tar:
            members = {m.name.lstrip("./") for m in tar if m.isfile()}
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DataError(f"cannot read tar archive: {e}", archive) from None
    articles = pd.read_csv(articles_path, dtype=str, keep_default_na=False)
    missing = [c for c in ("article_id", "prod_name", *label_columns) if c not in articles.columns]
    if missing:
        raise DataError(f"missing columns {missing}", articles_path)
    articles = articles.drop_duplicates("article_id")
    articles["image"] = articles["article_id"].map(image_member)
    articles = articles[articles["image"].isin(members)]
    if articles.empty:
        raise DataError("no article of the metadata has a photo in the archive", articles_path)
    with tempfile.TemporaryDirectory(prefix="hm-catalogue-") as scratch:
        labels_csv = os.path.join(scratch, "labels.csv")
        articles[["article_id", "image", "prod_name", *label_columns]].to_csv(labels_csv, index=False)
        return ingest_catalogue(labels_csv, archive, out_dir, label_columns=label_columns,
                                id_column="article_id", text_columns=("prod_name",),
                                holdout_fractions=holdout_fractions, seed=seed,
                                image_shards=image_shards, overwrite=overwrite,
                                name=name or "hm-catalogue", progress=progress)
