"""`Detector`: a loaded, verified model that turns uint8 tile batches into probabilities."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rams.detector.card import load_weights, read_card, resolve_model_dir
from rams.detector.model import DOWNSAMPLE_PX, RamsNet, build_model, fuse_batchnorm
from rams.errors import RamsError


class Detector:
    """Inference wrapper: ``predict(uint8 (N,C,H,W)) -> float32 probabilities (N,3,H,W)``.

    Runs on CUDA with fp16 autocast when available, else on the CPU in float32.
    """

    def __init__(self, model: RamsNet, card: dict[str, Any], device: str | None = None) -> None:
        self.card = card
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = fuse_batchnorm(model.eval()).to(self.device)
        self.in_channels = len(card["input_bands"])

    @classmethod
    def load(cls, name_or_dir: str | os.PathLike[str], device: str | None = None) -> Detector:
        """Load ``models/<name>`` or a model folder, refusing weights whose sha256 differs."""
        model_dir = resolve_model_dir(name_or_dir)
        card = read_card(model_dir)
        model = build_model(card["arch"])
        try:
            model.load_state_dict(load_weights(model_dir, card))
        except RuntimeError as err:
            raise RamsError(Path(model_dir) / "model.safetensors",
                            f"weights do not fit the card's architecture ({err})") from err
        return cls(model, card, device)

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
            prob = torch.sigmoid(self.model(x).float())
        return prob[:, :, :h, :w].cpu().numpy()
