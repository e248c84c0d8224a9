"""Hyper-parameters of the image CNNs (`vision/backbones.py`) that models build and train."""
import dataclasses

from tfvisrec.config import field


def image_size_field():
    """`image_size`, shared by the CNN models and the GAN (one flag, one meaning)."""
    return field(64, "Square size of the item images a model reads (a CNN backbone's input; the "
                     "GAN's generated images): 224 in the recommendation papers, 128 in DVBPR's GAN.")


@dataclasses.dataclass
class CNNConfig:
    """The CNN a model reads images with (mixed into the configs of the image models)."""

    image_size: int = image_size_field()
    backbone: str = field("cnnf", "Image backbone: cnnf | alexnet | resnet50.")
    backbone_weights: str = field("", "Path to backbone weights (a checkpoint of configs/attributes.cfg or a Keras weights file).")
    dropout: float = field(0.5, "Dropout rate inside CNN backbones.")
    weight_decay: float = field(1e-4, "Weight decay on CNN weights.")
    fc_width: int = field(4096, "Width of the fully connected layers fc6/fc7 of CNN-F and AlexNet (4096 in the papers; e.g. 512 on CPU).")
    conv1_stride: int = field(0, "Stride of conv1 of CNN-F and AlexNet (0: 4 from 128 px up, 2 below; 2 at 128 px doubles every map's side).")
    cnn_top: str = field("fc", "What CNN-F and AlexNet put on their last conv: fc (pool5, fc6, fc7: the papers') | gap "
                               "(a global average pool, CAM's architecture: Grad-AAM maps then show where each attribute's evidence lies) | gmp "
                               "(a global max pool: small parts such as a neckline weigh as much as large ones).")

    def backbone_spec(self) -> dict:
        """The keyword arguments of `backbones.build_backbone` this config describes."""
        spec = {"name": self.backbone, "image_size": self.image_size, "dropout": self.dropout,
                "weight_decay": self.weight_decay, "fc_width": self.fc_width}
        if self.conv1_stride:
            spec["conv1_stride"] = self.conv1_stride
        if self.cnn_top != "fc":
            spec["top"] = self.cnn_top
        return spec


@dataclasses.dataclass
class FineTunedCNNConfig(CNNConfig):
    """A CNN trained inside a recommender, possibly only its last layers."""

    trainable_backbone_layers: int = field(-1, "Train only the last N layers of the backbone trunk, the rest stays as loaded (-1 = all; ImgRec-EtE's paper: 50 of ResNet-50).")

    def keeps_loaded_layers(self) -> bool:
        """True when some CNN layers stay as loaded for a while (they should be pretrained)."""
        return self.trainable_backbone_layers != -1
