"""Image models: backbones (CNN-F, AlexNet, ResNet-50), the multi-task attribute classifier
that pretrains them on a labelled catalogue, loading of pretrained weights, the
feature-extraction CLI (`python -m tfvisrec.vision.features`), and SAERS' Semantic Extraction
Network on top of the classifier (`semantic_extraction`: Grad-AAM maps, attribute regions,
ROI-pooled region features)."""
