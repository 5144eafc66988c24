"""Reading and writing single images with OpenCV (no video stack: training imports only this).

Images come out upright as RGB ``uint8`` arrays of shape ``(H, W, 3)``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import atomic_path, require_input_file

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


def read_image(path: Path) -> np.ndarray:
    """Read an image file as upright RGB uint8 (H, W, 3).

    EXIF orientation is applied; grayscale, palette, CMYK and 16-bit images (scaled to 8 bit)
    become 8-bit RGB; an alpha channel is dropped. Multi-page files give their first page.

    Raises
    ------
    SwaplabError
        Missing, empty, corrupt or unknown-format file.
    """
    path = require_input_file(Path(path))
    if path.is_dir():
        raise SwaplabError(f"{path}: is a folder, not an image file")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)  # applies EXIF orientation, converts depth and channels
    if image is None:
        raise SwaplabError(f"{path}: not a readable image (corrupt or unknown format)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def write_image(path: Path, image: np.ndarray) -> None:
    """Write an RGB uint8 image (H, W, 3) atomically; the format follows the suffix (png, jpg)."""
    ok, encoded = cv2.imencode(Path(path).suffix, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise SwaplabError(f"{path}: could not encode image")
    with atomic_path(Path(path)) as tmp:
        encoded.tofile(tmp)
