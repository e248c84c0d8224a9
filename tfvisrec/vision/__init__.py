"""Image models: backbones (CNN-F, AlexNet, ResNet-50), the multi-task attribute classifier
that pretrains them on a labelled catalogue, loading of pretrained weights, and the
feature-extraction CLI (`python -m tfvisrec.vision.features`)."""
