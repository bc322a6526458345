"""RamsNet: a compact fully-convolutional encoder-decoder for the three evidence maps.

Input: uint8 (or float in 0-255) tiles (N, C, H, W); normalisation happens inside the model.
Output: logits (N, 3, H, W) at full tile resolution, channels 0 trench mask, 1 position mask,
2 submunition centre heatmap. H and W must be multiples of 32 px (tiles are 256 or 512 px).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn

CLASSES = ("trench", "position", "submunition")
RGB_BANDS = ("red", "green", "blue")
Net = TypeVar("Net", bound=nn.Module)
DOWNSAMPLE_PX = 32  # tile sides must be multiples of the deepest stride
ORIENTATIONS = (1, 4, 8)  # looks a model may take at each input: none, quarter turns, and mirrored


def turned(x: torch.Tensor, k: int) -> torch.Tensor:
    """Look ``k`` (0-7) at images (..., H, W): ``k % 4`` quarter turns, mirrored left-right when
    ``k >= 4``. Ground seen from above has no preferred orientation."""
    x = torch.rot90(x, k % 4, (-2, -1))
    return x.flip(-1) if k >= 4 else x


def unturned(y: torch.Tensor, k: int) -> torch.Tensor:
    """Maps (..., H, W) computed on ``turned(x, k)`` brought back onto ``x``'s grid."""
    y = y.flip(-1) if k >= 4 else y
    return torch.rot90(y, -(k % 4), (-2, -1))


def _conv_bn(c_in: int, c_out: int, k: int = 3, stride: int = 1, groups: int = 1,
             dilation: int = 1, act: bool = True) -> nn.Sequential:
    pad = dilation * (k - 1) // 2
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, k, stride, pad, dilation=dilation, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class SeparableBlock(nn.Module):
    """Depthwise 3x3 (maybe strided / dilated), pointwise 1x1; residual when shapes match."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.dw = _conv_bn(c_in, c_in, 3, stride, groups=c_in, dilation=dilation)
        self.pw = _conv_bn(c_in, c_out, 1, act=False)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pw(self.dw(x))
        return F.relu(y + x if self.residual else y, inplace=True)


class UInt8Net(nn.Module):
    """Base of rams' networks: uint8 (or 0-255 float) pixels in, normalised inside the model.

    ``mean`` and ``std`` (per band, in grey levels) are buffers, saved with the weights.
    """

    def __init__(self, in_channels: int, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 or 0-255 float pixels -> standardised float input."""
        return (x.float() - self.mean) / self.std


def arch_arguments(arch: dict | None, widths: Sequence[int]) -> dict:
    """Constructor arguments of a network from a card's ``arch`` entry (``widths`` by default)."""
    arch = dict(arch or {})
    return {"in_channels": int(arch.get("in_channels", 3)),
            "widths": tuple(arch.get("widths", widths)),
            "mean": tuple(arch.get("mean", (127.5, 127.5, 127.5))),
            "std": tuple(arch.get("std", (64.0, 64.0, 64.0)))}


class RamsNet(UInt8Net):
    """Encoder at strides 2-32 px, a light top-down decoder, heads at stride 2 plus a full-res skip.

    The full-resolution skip (a few channels straight from the pixels) keeps 2-5 px submunitions
    sharp in the heatmap; the stride-32 context with dilations gives a receptive field of a few
    hundred px, enough to see a whole firing position.
    """

    def __init__(self, in_channels: int = 3, widths: Sequence[int] = (16, 24, 40, 64, 96),
                 mean: Sequence[float] = (127.5, 127.5, 127.5),
                 std: Sequence[float] = (64.0, 64.0, 64.0)) -> None:
        super().__init__(in_channels, mean, std)
        w = list(widths)
        self.widths = tuple(w)
        self.stem = _conv_bn(in_channels, w[0], 3, stride=2)  # /2
        self.enc = nn.ModuleList([
            nn.Sequential(SeparableBlock(w[0], w[1], 2), SeparableBlock(w[1], w[1])),  # /4
            nn.Sequential(SeparableBlock(w[1], w[2], 2), SeparableBlock(w[2], w[2])),  # /8
            nn.Sequential(SeparableBlock(w[2], w[3], 2), SeparableBlock(w[3], w[3])),  # /16
            nn.Sequential(SeparableBlock(w[3], w[4], 2), SeparableBlock(w[4], w[4], dilation=2),
                          SeparableBlock(w[4], w[4], dilation=4)),  # /32
        ])
        # lateral 1x1 projections of each encoder level to the decoder width of the level below
        self.lateral = nn.ModuleList([_conv_bn(w[i + 1], w[i], 1) for i in range(4)])
        self.fuse = nn.ModuleList([SeparableBlock(w[i], w[i]) for i in range(4)])
        self.full_res = _conv_bn(in_channels, 8, 3)
        self.head_half = nn.Conv2d(w[0], 3, 1)
        self.head_full = nn.Conv2d(8 + 3, 3, 3, padding=1)
        self.kept: list[int] | None = None  # maps the forward pass returns (all when None)
        with torch.no_grad():  # start from a low prior so rare positives do not swamp the loss
            self.head_half.bias.fill_(-2.19)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_normalised(self.normalise(x))

    def forward_normalised(self, z: torch.Tensor) -> torch.Tensor:
        feats = [self.stem(z)]
        for stage in self.enc:
            feats.append(stage(feats[-1]))
        y = feats[-1]
        for i in range(3, -1, -1):
            up = F.interpolate(self.lateral[i](y), size=feats[i].shape[-2:], mode="bilinear",
                               align_corners=False)
            y = self.fuse[i](up + feats[i])
        coarse = F.interpolate(self.head_half(y), size=z.shape[-2:], mode="bilinear",
                               align_corners=False)
        kept = coarse if self.kept is None else coarse[:, self.kept]
        return kept + self.head_full(torch.cat([self.full_res(z), coarse], dim=1))


def _fused(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """One convolution doing what ``conv`` then ``bn`` (in eval mode) do."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                      conv.padding, conv.dilation, conv.groups, bias=True)
    with torch.no_grad():
        fused.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        fused.bias.copy_(bn.bias + (bias - bn.running_mean) * scale)
    return fused


def fuse_batchnorm(model: Net) -> Net:
    """Fold every BatchNorm into the convolution before it, in place (inference only): in a
    ``Sequential(conv, bn, ...)`` or a module holding ``conv`` and ``bn`` attributes (applied in
    that order, as :class:`rams.detector.backbone.ConvBN` does)."""
    for module in model.modules():
        if isinstance(module, nn.Sequential) and len(module) >= 2 \
                and isinstance(module[0], nn.Conv2d) and isinstance(module[1], nn.BatchNorm2d):
            module[0], module[1] = _fused(module[0], module[1]), nn.Identity()
        elif isinstance(getattr(module, "conv", None), nn.Conv2d) \
                and isinstance(getattr(module, "bn", None), nn.BatchNorm2d):
            module.conv, module.bn = _fused(module.conv, module.bn), nn.Identity()
    return model


def on_device(model: Net, device: torch.device) -> Net:
    """``model`` moved to ``device``; on the CPU in the channels-last layout, whose convolutions
    run there faster than in the default one, for inference and training alike (see
    ``benchmarks/bench_layout.py``). Saved weights are the same in either layout."""
    layout = torch.channels_last if device.type == "cpu" else torch.contiguous_format
    return model.to(device, memory_format=layout)


def keep_maps(model: RamsNet, channels: Sequence[int]) -> RamsNet:
    """Cut the full-resolution head to ``channels`` (indices into :data:`CLASSES`), in place
    (inference only): the forward pass then returns only those maps, in that order.

    The full-resolution head is the costliest layer; a model whose card lists fewer outputs need
    not compute the rest. The coarse head stays whole, since every map reads all of it.
    """
    if model.kept is not None:
        raise ValueError("the model's head is already cut")
    keep = list(channels)
    old = model.head_full
    head = nn.Conv2d(old.in_channels, len(keep), old.kernel_size, padding=old.padding).to(old.weight.device)
    with torch.no_grad():
        head.weight.copy_(old.weight[keep])
        head.bias.copy_(old.bias[keep])
    model.head_full = head
    model.kept = keep
    return model


def build_model(arch: dict | None = None) -> RamsNet:
    """The network described by a model card's ``arch`` entry (defaults when None)."""
    return RamsNet(**arch_arguments(arch, (16, 24, 40, 64, 96)))
