"""`Detector`: a loaded, verified model that turns uint8 tile batches into probabilities."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rams.detector.card import load_model
from rams.detector.model import (
    CLASSES,
    DOWNSAMPLE_PX,
    ORIENTATIONS,
    RamsNet,
    build_model,
    fuse_batchnorm,
    keep_maps,
    on_device,
    turned,
    unturned,
)
from rams.detector.verifier import Verifier
from rams.elevation import ELEVATION_BAND
from rams.errors import RamsError


class Detector:
    """Inference wrapper: ``predict(uint8 (N,C,H,W)) -> float32 probabilities (N,3,H,W)``.

    Runs on CUDA with fp16 autocast when available, else on the CPU in float32 (channels-last,
    see :func:`~rams.detector.model.on_device`). Maps the card does not list under
    ``outputs`` are not computed and come back as zeros. A card's ``orientations`` (1, 4 or 8,
    default 1) makes each batch seen in that many turns (see :func:`~rams.detector.model.turned`) and
    averages the probabilities, each turned back. ``context`` is the card's ``context_model``
    (a detector run on block-averaged imagery, see :mod:`rams.detector.context`) or None;
    ``verifier`` is the card's ``verifier_model`` (see :mod:`rams.detector.verifier`) or None.
    """

    def __init__(self, model: RamsNet, card: dict[str, Any], device: str | None = None,
                 context: Detector | None = None, verifier: Verifier | None = None) -> None:
        self.card = card
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.in_channels = len(card["input_bands"])
        self.outputs = tuple(card.get("outputs", CLASSES))
        self._maps = [i for i, c in enumerate(CLASSES) if c in self.outputs]
        model = fuse_batchnorm(model.eval())
        if len(self._maps) < len(CLASSES):
            model = keep_maps(model, self._maps)
        self.model = on_device(model, self.device)
        self.orientations = int(card.get("orientations", 1))
        self.context = context
        self.verifier = verifier

    @property
    def uses_elevation(self) -> bool:
        """Whether this model or its context model takes the elevation band (see
        :mod:`rams.elevation`) after the RGB bands."""
        return ELEVATION_BAND in self.card["input_bands"] or bool(self.context and self.context.uses_elevation)

    @classmethod
    def load(cls, name_or_dir: str | os.PathLike[str], device: str | None = None, *,
             with_verifier: bool = True) -> Detector:
        """Load ``models/<name>`` or a model folder (and its context model and, unless not
        ``with_verifier``, its verifier), refusing weights whose sha256 differs from the card's.
        Without its verifier a detector proposes candidates only (as when training one)."""
        model, model_dir, card = load_model(name_or_dir, build_model)
        if card.get("orientations", 1) not in ORIENTATIONS:
            raise RamsError(model_dir / "card.yaml", f"orientations must be 1, 4 or 8, not {card['orientations']}")
        context = None
        if card.get("context_model"):
            context = cls.load(companion_dir(model_dir, card["context_model"]), device)
            if "input_gsd_m" not in context.card:
                raise RamsError(model_dir / "card.yaml",
                                f"context model {card['context_model']} has no input_gsd_m")
        verifier = None
        if card.get("verifier_model") and with_verifier:
            verifier = Verifier.load(companion_dir(model_dir, card["verifier_model"]), device)
        return cls(model, card, device, context, verifier)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities (N, 3, H, W) float32 for a uint8 batch (N, C, H, W).

        Sides that are not multiples of 32 px are padded (edge pixels repeated) and cropped back.
        """
        if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[1] != self.in_channels:
            raise RamsError("detector", f"expected uint8 (N,{self.in_channels},H,W), "
                                        f"got {batch.dtype} {batch.shape}")
        n, _, h, w = batch.shape
        ph, pw = (-h) % DOWNSAMPLE_PX, (-w) % DOWNSAMPLE_PX
        x = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
        if ph or pw:
            x = torch.nn.functional.pad(x.float(), (0, pw, 0, ph), mode="replicate")
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.float16,
                                                    enabled=self.device.type == "cuda"):
            prob = sum(unturned(torch.sigmoid(self.model(turned(x, k)).float()), k)
                       for k in range(self.orientations)) / self.orientations
        out = np.zeros((n, len(CLASSES), h, w), np.float32)
        out[:, self._maps] = prob[:, :, :h, :w].cpu().numpy()
        return out


def companion_dir(model_dir: Path, name: str) -> str:
    """A context or verifier model named in a card: a folder inside this model's folder (a
    model that carries its own, as `rams train --from-reviews` writes it), else beside it, else
    the name (a model under the models folder)."""
    for folder in (Path(model_dir) / name, Path(model_dir).parent / name):
        if (folder / "card.yaml").is_file():
            return str(folder)
    return name
