"""Names of the precomputed-feature files a dataset folder may hold (written by
`python -m tfvisrec.vision.features`), importable without TensorFlow or flags."""

FEATURES_FILE = "features.npy"         # f_i [items, F]: the backbone's penultimate features
PROBS_FILE = "attribute_probs.npz"     # the attribute classifier's class probabilities per item
INFO_FILE = "features.json"            # what made them (weights, backbone, attribute vocabularies)
REGIONS_FILE = "regions.npz"           # SAERS' attribute regions per item (features, boxes, classes)
FEATURE_MAPS_FILE = "feature_maps.npz"  # `maps` [items, H, W, C]: a CNN's last convolutional maps (outfit models)
