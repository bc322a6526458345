"""Cut the committed real-ground test crops from the public frames (run from this folder).

The frames are those of ``real-ground/`` beside the checkout (see the README here); each crop
starts on the 8 px JPEG block grid of its frame and is saved at quality 95, so it keeps the
frame's own compression.
"""

import sys
from pathlib import Path

from PIL import Image

CROPS = (  # (flight, frame, column, row, side px)
    ("caliterra", "IMG_9387.jpg", 1920, 1472, 512),
    ("caliterra", "IMG_9387.jpg", 2560, 768, 512),
    ("brighton", "DJI_0018.JPG", 3480, 520, 512),
    ("caliterra", "IMG_9429.jpg", 1920, 1024, 1024),  # a held-out test frame: the survey test's ground
)

if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "../../../../shared/real-ground")
    for flight, frame, col, row, side in CROPS:
        with Image.open(root / flight / frame) as im:
            crop = im.crop((col, row, col + side, row + side))
            crop.save(f"{flight}_{Path(frame).stem}_{col}_{row}.jpg", quality=95)
