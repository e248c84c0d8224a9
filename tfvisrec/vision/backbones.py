"""Image backbones: one builder function per architecture, the paper in its docstring.

Every builder returns a `Backbone`: float images [B, S, S, 3] in [-1, 1] → [B, output_dim]
(or the penultimate features when `output_dim` is 0). A backbone is a trunk (a functional
model: image → {"feature_map": last conv activations, "penultimate": features}) plus an
optional head (dropout → dense output_dim, the paper's last layer). Pretrained weights live in
the trunk, so a recommender loads a fashion-pretrained trunk under its own fresh head.

Small inputs: all convolutions and pools use SAME padding, so each spatial size is
ceil(size / stride) and never reaches 0. Below 128 px, CNN-F and AlexNet use stride 2 instead
of 4 in conv1 (`conv1_stride=None` chooses): at 64 px the conv5 map is then 8×8 and the fc6
input 4×4×256 instead of 4×4 and 2×2×256, enough cells for Grad-CAM and region pooling, at
about 3× the compute. At 224 px the paper strides give DVBPR's 7×7×256 fc6 input exactly.
"""
from typing import Dict, List, Optional

import tensorflow as tf
import tf_keras as keras

BACKBONES = ("cnnf", "alexnet", "resnet50")
TOPS = ("fc", "gap", "gmp")  # what CNN-F / AlexNet put on conv5: the papers' fc6/fc7, CAM's average or a max pool
SMALL_INPUT = 128          # below this, conv1 stride 4 → 2 (CNN-F, AlexNet)
RESNET_MIN_SIZE = 32       # ResNet-50 downsamples by 32


class Backbone(keras.Model):
    """Trunk (image → feature map, penultimate features) + optional output head.

    `spec` holds the builder arguments, so `build_backbone(**backbone.spec)` rebuilds it.
    """

    def __init__(self, trunk: keras.Model, spec: Dict, **kwargs):
        super().__init__(name=kwargs.pop("name", spec["name"]), **kwargs)
        self.trunk = trunk
        self.spec = dict(spec)
        self.output_dim = int(spec["output_dim"])
        self.feature_dim = int(trunk.output["penultimate"].shape[-1])
        self.head_dropout = keras.layers.Dropout(spec["dropout"], name="head_dropout")
        self.head = (keras.layers.Dense(self.output_dim, name="head") if self.output_dim > 0 else None)
        self.weight_decay = float(spec["weight_decay"])
        size = spec["image_size"]
        self(tf.zeros([1, size, size, 3]))   # create every variable now

    def endpoints(self, images, training=False) -> Dict[str, tf.Tensor]:
        """One pass → {"feature_map", "penultimate", "output"} (Grad-CAM needs all three)."""
        out = dict(self.trunk(images, training=training))
        if self.head is None:
            out["output"] = out["penultimate"]
        else:
            out["output"] = self.head(self.head_dropout(out["penultimate"], training=training))
        return out

    def call(self, images, training=False):
        return self.endpoints(images, training=training)["output"]

    def penultimate(self, images, training=False):
        """The features below the output layer (fc7 / pooled ResNet features)."""
        return self.trunk(images, training=training)["penultimate"]

    def feature_map_model(self, layer: str = "") -> keras.Model:
        """A model image → the feature map [B, h, w, C] of conv layer `layer` (default: the
        last conv, the "feature_map" endpoint), sharing weights."""
        return keras.Model(self.trunk.input, self.feature_map_tensor(layer))

    def feature_map_tail(self, layer: str = "") -> keras.Model:
        """A model feature map [B, h, w, C] of `layer` (default the last conv) → penultimate
        features: the trunk's layers above it (for the last conv of CNN-F, AlexNet: pool5,
        fc6, fc7; ResNet-50: the average pool), sharing their weights, so a gradient can be
        taken w.r.t. a given feature map (Grad-AAM)."""
        try:
            return keras.Model(self.feature_map_tensor(layer), self.trunk.output["penultimate"])
        except ValueError as e:   # a layer inside a residual block: its output is not a cut
            raise ValueError(f"the trunk cannot be split at layer {layer!r}: the layers above it also read "
                             f"other tensors ({e}); choose one of {', '.join(self.feature_map_layers())}") from None

    def feature_map_tensor(self, layer: str = ""):
        """The trunk's symbolic output of `layer` ("" = the last conv's feature map); ValueError
        naming the choices when it is not a layer with a [B, h, w, C] output."""
        if not layer:
            return self.trunk.output["feature_map"]
        choices = self.feature_map_layers()
        if layer not in choices:
            raise ValueError(f"no layer {layer!r} with a [B, h, w, C] output in the {self.spec['name']} trunk; "
                             f"choose one of {', '.join(choices)}")
        return self.trunk.get_layer(layer).output

    def feature_map_layers(self) -> List[str]:
        """Names of the trunk's layers with a 4-D output, input to the last conv, in order."""
        last = self.trunk.output["feature_map"].node.layer.name
        names = []
        for layer in self.trunk.layers[1:]:
            if layer.output.shape.rank == 4:
                names.append(layer.name)
            if layer.name == last:
                break
        return names

    def train_last_layers(self, n: int) -> List[str]:
        """Make only the last `n` trunk layers trainable (-1, or n ≥ depth: all; 0: none);
        the head always trains. Returns the names of the trained trunk layers."""
        layers = self.trunk.layers
        chosen = layers if n < 0 or n >= len(layers) else layers[len(layers) - n:] if n > 0 else []
        trained = {layer.name for layer in chosen}
        self.trunk.trainable = True
        for layer in layers:
            layer.trainable = layer.name in trained
        return [layer.name for layer in chosen]

    def weight_penalty(self, trainable_only: bool = False) -> tf.Tensor:
        """λ · Σ ½‖W‖² over conv and dense kernels (DVBPR's λ·tf.nn.l2_loss; biases free);
        `trainable_only`: over the kernels currently trained (a partly frozen CNN)."""
        kernels = self.kernels()
        if trainable_only:
            trained = {v.ref() for v in self.trainable_weights}
            kernels = [k for k in kernels if k.ref() in trained]
        if self.weight_decay == 0.0 or not kernels:
            return tf.constant(0.0)
        return self.weight_decay * tf.add_n([tf.nn.l2_loss(k) for k in kernels])

    def kernels(self):
        layers = [m for m in self.submodules if isinstance(m, (keras.layers.Conv2D, keras.layers.Dense))]
        return [layer.kernel for layer in layers]


class LocalResponseNormalization(keras.layers.Layer):
    """Cross-channel LRN of AlexNet (Krizhevsky et al. 2012, sec. 3.3): k=2, n=5, α=1e-4, β=0.75."""

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        self.depth_radius, self.bias, self.alpha, self.beta = depth_radius, bias, alpha, beta

    def call(self, x):
        return tf.nn.local_response_normalization(x, self.depth_radius, self.bias, self.alpha, self.beta)

    def get_config(self):
        return {**super().get_config(), "depth_radius": self.depth_radius, "bias": self.bias,
                "alpha": self.alpha, "beta": self.beta}


class CaffePreprocessing(keras.layers.Layer):
    """[-1, 1] RGB → the BGR, mean-subtracted 0..255 input of ImageNet ResNet-50 weights."""

    MEAN_BGR = (103.939, 116.779, 123.68)

    def call(self, x):
        bgr = (x[..., ::-1] + 1.0) * 127.5
        return bgr - tf.constant(self.MEAN_BGR, x.dtype)


def conv1_stride_for(image_size: int, conv1_stride: Optional[int] = None) -> int:
    """`conv1_stride` when given (≥ 1), else 4 from 128 px up and 2 below."""
    if conv1_stride is None or conv1_stride == 0:
        return 4 if image_size >= SMALL_INPUT else 2
    if conv1_stride < 1:
        raise ValueError(f"conv1_stride must be positive (0 or None: by the image size), got {conv1_stride}")
    return int(conv1_stride)


def cnnf(image_size: int = 224, output_dim: int = 100, fc_width: int = 4096, dropout: float = 0.5,
         weight_decay: float = 0.0, conv1_stride: Optional[int] = None, top: str = "fc",
         name: str = "cnnf") -> Backbone:
    """CNN-F as DVBPR uses it (Kang et al. 2017, "Visually-Aware Fashion Recommendation and
    Design with Generative Image Models", Table II; CNN-F of Chatfield et al. 2014).

    conv1 64×11×11 st.4, x2 pool | conv2 256×5×5 st.1, x2 pool | conv3 256×3×3 | conv4 256×3×3 |
    conv5 256×3×3, x2 pool | full6 4096, dropout | full7 4096, dropout | full8 K (= output_dim).
    ReLU after every conv/full layer but the last; x2 pool = 2×2 max pool, stride 2; no LRN,
    as in DVBPR's reference implementation. `fc_width` replaces 4096; `conv1_stride` defaults
    to 4 from 128 px up and 2 below (see the module docstring); `top="gap"` / `"gmp"` replace
    pool5 → full6 → full7 by a global average / max pool of conv5 (see `_top`).
    """
    stride = conv1_stride_for(image_size, conv1_stride)
    inputs = keras.Input([image_size, image_size, 3], name="image")
    conv = lambda filters, k, s, n: keras.layers.Conv2D(filters, k, s, "same", activation="relu", name=n)
    pool = lambda n: keras.layers.MaxPool2D(2, 2, "same", name=n)
    x = pool("pool1")(conv(64, 11, stride, "conv1")(inputs))
    x = pool("pool2")(conv(256, 5, 1, "conv2")(x))
    x = conv(256, 3, 1, "conv3")(x)
    x = conv(256, 3, 1, "conv4")(x)
    feature_map = conv(256, 3, 1, "conv5")(x)
    penultimate = _top(feature_map, top, pool("pool5"), fc_width, dropout)
    trunk = keras.Model(inputs, {"feature_map": feature_map, "penultimate": penultimate}, name=f"{name}_trunk")
    return Backbone(trunk, dict(name="cnnf", image_size=image_size, output_dim=output_dim or 0,
                                fc_width=fc_width, dropout=dropout, weight_decay=weight_decay,
                                conv1_stride=stride, **_top_spec(top)), name=name)


def alexnet(image_size: int = 224, output_dim: int = 1000, fc_width: int = 4096, dropout: float = 0.5,
            weight_decay: float = 0.0, conv1_stride: Optional[int] = None, top: str = "fc",
            name: str = "alexnet") -> Backbone:
    """AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet Classification with Deep
    Convolutional Neural Networks", Fig. 2 and sec. 3).

    conv1 96×11×11 st.4, LRN, 3×3 max pool st.2 | conv2 256×5×5, LRN, pool | conv3 384×3×3 |
    conv4 384×3×3 | conv5 256×3×3, pool | fc6 4096, dropout | fc7 4096, dropout | fc8 output_dim.
    Single tower: the paper's two-GPU channel groups are merged (as torchvision does).
    `top="gap"` / `"gmp"`: a global average / max pool of conv5 instead of pool5 → fc6 → fc7 (see `_top`).
    """
    stride = conv1_stride_for(image_size, conv1_stride)
    inputs = keras.Input([image_size, image_size, 3], name="image")
    conv = lambda filters, k, s, n: keras.layers.Conv2D(filters, k, s, "same", activation="relu", name=n)
    pool = lambda n: keras.layers.MaxPool2D(3, 2, "same", name=n)
    x = pool("pool1")(LocalResponseNormalization(name="lrn1")(conv(96, 11, stride, "conv1")(inputs)))
    x = pool("pool2")(LocalResponseNormalization(name="lrn2")(conv(256, 5, 1, "conv2")(x)))
    x = conv(384, 3, 1, "conv3")(x)
    x = conv(384, 3, 1, "conv4")(x)
    feature_map = conv(256, 3, 1, "conv5")(x)
    penultimate = _top(feature_map, top, pool("pool5"), fc_width, dropout)
    trunk = keras.Model(inputs, {"feature_map": feature_map, "penultimate": penultimate}, name=f"{name}_trunk")
    return Backbone(trunk, dict(name="alexnet", image_size=image_size, output_dim=output_dim or 0,
                                fc_width=fc_width, dropout=dropout, weight_decay=weight_decay,
                                conv1_stride=stride, **_top_spec(top)), name=name)


def resnet50(image_size: int = 224, output_dim: int = 1000, dropout: float = 0.0, weight_decay: float = 0.0,
             imagenet_preprocessing: bool = False, name: str = "resnet50", **_unused) -> Backbone:
    """ResNet-50 (He et al. 2016, "Deep Residual Learning for Image Recognition", Table 1),
    the `tf_keras.applications.ResNet50` layers with `weights=None`; features are the
    global-average-pooled conv5_x output (2048-d), the head a dense `output_dim` layer.

    Set `imagenet_preprocessing` when loading ImageNet Keras weights from a file: the trunk
    then feeds the network the BGR, mean-subtracted input those weights expect.
    Inputs must be at least 32 px (five stride-2 stages).
    """
    if image_size < RESNET_MIN_SIZE:
        raise ValueError(f"resnet50 needs image_size >= {RESNET_MIN_SIZE}, got {image_size}")
    inputs = keras.Input([image_size, image_size, 3], name="image")
    x = CaffePreprocessing(name="caffe_preprocessing")(inputs) if imagenet_preprocessing else inputs
    body = keras.applications.ResNet50(include_top=False, weights=None, input_tensor=x)
    feature_map = body.output
    penultimate = keras.layers.GlobalAveragePooling2D(name="avg_pool")(feature_map)
    trunk = keras.Model(inputs, {"feature_map": feature_map, "penultimate": penultimate}, name=f"{name}_trunk")
    return Backbone(trunk, dict(name="resnet50", image_size=image_size, output_dim=output_dim or 0,
                                dropout=dropout, weight_decay=weight_decay,
                                imagenet_preprocessing=imagenet_preprocessing), name=name)


_BUILDERS = {"cnnf": cnnf, "alexnet": alexnet, "resnet50": resnet50}


def build_backbone(name: str, image_size: int, output_dim: int = 0, dropout: float = 0.5,
                   weight_decay: float = 0.0, fc_width: int = 4096, **kwargs) -> Backbone:
    """The backbone called `name` (cnnf | alexnet | resnet50); `output_dim` 0 = no head."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown backbone {name!r}; expected one of {', '.join(BACKBONES)}")
    if image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    for setting in ("conv1_stride", "top"):
        if setting in kwargs and name == "resnet50":
            raise ValueError(f"{setting} is a CNN-F / AlexNet setting; resnet50 has none")
    return _BUILDERS[name](image_size=image_size, output_dim=output_dim, fc_width=fc_width,
                           dropout=dropout, weight_decay=weight_decay, **kwargs)


def _top(feature_map, top, pool5, fc_width, dropout):
    """The penultimate features on the last conv map: "fc" → pool5 → full6 → full7 (the
    papers'); "gap" → the map's global average [B, channels], the architecture of CAM (Zhou et
    al. 2016, "Learning Deep Features for Discriminative Localization", §2), whose box procedure
    (20 % of the map's maximum → largest connected region → box) SAERS's Grad-AAM boxes use.
    Through a global average, the gradient of a linear head is the same at every cell, so
    Grad-AAM (eq. 2–3) equals CAM's map: it shows where each class's evidence lies.
    "gmp" → the map's global maximum per channel: a channel scores by its strongest cell, not
    by the area it fires over, so small parts (a neckline, a print) weigh as much as the
    garment's colour (on the synthetic parts world it reads them better: bench/README.md)."""
    if top == "fc":
        return _fully_connected(pool5(feature_map), fc_width, dropout)
    if top == "gap":
        return keras.layers.GlobalAveragePooling2D(name="gap")(feature_map)
    if top == "gmp":
        return keras.layers.GlobalMaxPooling2D(name="gmp")(feature_map)
    raise ValueError(f"unknown top {top!r} (--cnn_top); expected one of {', '.join(TOPS)}")


def _top_spec(top):
    """The spec entry of `top`: none for the papers' "fc", so older specs and checkpoints
    (written before the setting existed) read the same."""
    return {} if top == "fc" else {"top": top}


def _fully_connected(x, width, dropout):
    """full6 → dropout → full7 (ReLU both); the dropout after full7 belongs to the head."""
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(width, activation="relu", name="fc6")(x)
    x = keras.layers.Dropout(dropout, name="drop6")(x)
    return keras.layers.Dense(width, activation="relu", name="fc7")(x)
