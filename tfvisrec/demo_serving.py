"""The demo's last step: export a trained model, serve it with the embedded TF-Serving-protocol
server on a loopback port and call it through the gRPC client, checking each answer against
the model in memory; a model that reads photos (DVBPR) also scores garments that are in no
catalogue, from their JPEG bytes alone (`score_images`).

A re-run whose model is unchanged (resumed from its finished run: the same weights, dataset and
export settings) serves the version it exported before instead of adding another copy of it
(~10 MB each): `<work_dir>/export/<name>.demo.json` records what the demo exported last.
"""
import hashlib
import json
import os
from typing import Optional

import numpy as np

from tfvisrec import atomic


def serve_and_call(name, model, dataset, work_dir, world_dir, new_items=6, seed=0, k=5):
    """Export `model`, serve it, ask for one user's top-k (and, for a photo model, scores of
    `new_items` freshly drawn garments) over gRPC."""
    from tfvisrec.client import RecommenderClient
    from tfvisrec.data import schema
    from tfvisrec.export import export_model
    from tfvisrec.serving import model_config
    from tfvisrec.serving.model_server import ModelServer
    from tfvisrec.atomic import write_json
    base = os.path.abspath(os.path.join(work_dir, "export", name))
    top_k = max(k, 10)
    exported = {"fingerprint": export_fingerprint(model, dataset, top_k)}
    path = version_to_reuse(base, _read_record(base + RECORD_SUFFIX), exported["fingerprint"])
    if path is None:
        path = export_model(model, dataset, base, top_k=top_k)
        write_json(base + RECORD_SUFFIX, dict(exported, version=int(os.path.basename(path))))
        print(f"[5/5] exported {name} to {shown_path(path)}; serving it over gRPC (TF Serving protocol)")
    else:
        print(f"[5/5] {name} is unchanged since its export {shown_path(path)}; serving that version again "
              "over gRPC (TF Serving protocol; a model that changed is exported as a new version)")
    server = ModelServer(model_config.single_model(name, base), port=0, host="127.0.0.1")
    port = server.start()
    try:
        user = dataset.user_ids[0]
        with RecommenderClient(f"127.0.0.1:{port}", model=name, timeout=60) as client:
            served = client.recommend(user, k=k)
            own = _own_top_k(model, dataset, k)
            print(f"    client.recommend({user!r}, k={k}) from 127.0.0.1:{port}:")
            for rec in served:
                print(f"      {rec.item_id}  {rec.score:.4f}")
            agree = [r.item_id for r in served] == own
            print(f"    served top-{k} {'equals' if agree else 'DIFFERS FROM'} the model's own top-{k}")
            if schema.IMAGE in model.item_feature_keys and new_items > 0:
                _score_new_garments(client, model, dataset, user, work_dir, world_dir, new_items, seed)
    finally:
        server.stop()


RECORD_SUFFIX = ".demo.json"   # beside the export's folder of versions, not in it


def export_fingerprint(model, dataset, top_k: int) -> str:
    """A digest of what an export of `model` holds: its weights (values, in order), the dataset
    it serves (`data.dataset.fingerprint`) and the export setting the demo passes (top_k)."""
    from tfvisrec.data.dataset import fingerprint
    digest = hashlib.sha256(f"{fingerprint(dataset)} top_k={top_k}".encode("utf-8"))
    for weight in model.weights:
        value = np.ascontiguousarray(weight.numpy())
        digest.update(f"{value.dtype}{value.shape}".encode("utf-8") + value.tobytes())
    return digest.hexdigest()


def version_to_reuse(base: str, record: Optional[dict], fingerprint: str) -> Optional[str]:
    """The version folder under `base` a re-run serves again, or None to export anew: the one
    `record` (what the demo exported last) names, when it holds an export of the same
    `fingerprint`, is still there and is the newest version (the one the server serves)."""
    from tfvisrec.serving import layout
    if not record or record.get("fingerprint") != fingerprint:
        return None
    versions = layout.version_dirs(base)
    version = record.get("version")
    if not versions or version != max(versions):
        return None
    return versions[version] if os.path.isfile(os.path.join(versions[version], "saved_model.pb")) else None


def _read_record(path: str) -> Optional[dict]:
    """The demo's record of its last export, or None (none yet, or unreadable: export anew)."""
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _own_top_k(model, dataset, k):
    from tfvisrec.evaluation.scoring import score_users
    scores = score_users(model, dataset, np.array([0]))[0]
    scores[dataset.user_items(("train",))[0]] = -np.inf
    return [dataset.item_ids[i] for i in np.argsort(-scores, kind="stable")[:k]]


def _score_new_garments(client, model, dataset, user, work_dir, world_dir, count, seed):
    """Draw `count` garments nobody has seen (saved as JPEGs), score them for `user` over gRPC,
    compare with the model in memory and with the user's true taste."""
    import tensorflow as tf
    from tfvisrec.data import images
    from tfvisrec.data.synthetic import load_truth
    from tfvisrec.data.synthetic import new_items as new_items_lib
    values, jpegs = new_items_lib.draw_new_items(count, seed=seed + 1)
    folder = os.path.join(work_dir, "new_items")
    paths = [os.path.join(folder, f"new{n + 1:02d}.jpg") for n in range(len(jpegs))]
    for path, jpeg in zip(paths, jpegs):   # whole or not at all, as every output
        atomic.write_bytes(path, jpeg)
    served = np.asarray(client.score_images(user, jpegs), np.float64)
    pixels = images.decode_batch(tf.constant(jpegs), model.image_size)
    user_index = dataset.user_ids.index(user)
    own = model.score(tf.fill([count], tf.constant(user_index, tf.int64)), {"image": pixels}).numpy()
    taste = new_items_lib.user_taste(load_truth(world_dir), user, values)
    print(f"    client.score_images({user!r}, {count} JPEGs in no catalogue, {shown_path(folder)}/):")
    print(f"      {'garment':<34s} served score  true taste")
    for n in np.argsort(-served, kind="stable"):
        label = f"{os.path.basename(paths[n])} {new_items_lib.describe(values[n])}"
        print(f"      {label:<34s} {served[n]:12.4f}  {taste[n]:10.2f}")
    close = np.allclose(served, own, rtol=1e-4, atol=1e-4)
    print(f"    served scores {'equal' if close else 'DIFFER FROM'} the model's own (tolerance 1e-4); "
          f"their order agrees with {user}'s true taste on {_concordance(served, taste):.0%} of the "
          "pairs (chance: 50%)")


def shown_path(path: str) -> str:
    """`path` relative to the working directory when it is below it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _concordance(scores, truth):
    """Share of the pairs with distinct true values that `scores` order the same way."""
    ds = np.sign(scores[:, None] - scores[None, :])
    dt = np.sign(truth[:, None] - truth[None, :])
    pairs = dt != 0
    return float(np.sum((ds == dt) & pairs) / max(int(pairs.sum()), 1))
