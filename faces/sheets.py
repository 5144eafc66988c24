"""Contact sheets: one PNG grid of faces per identity cluster, so a user can see who is who.

Each sheet shows up to ``columns x rows`` of the cluster's face crops, spread evenly over its
faces (so every track and shot shows), under a title band with the cluster id and counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from swaplab.core.media import read_image, write_image

THUMB = 96
COLUMNS = 8
ROWS = 5
BAND = 28


def spread(items: Sequence, count: int) -> list:
    """Up to ``count`` items evenly spaced over ``items`` (first and last included)."""
    if len(items) <= count:
        return list(items)
    picks = np.linspace(0, len(items) - 1, count).round().astype(int)
    return [items[k] for k in picks]


def contact_sheet(crops: Sequence[Path], title: str, target: Path, *, columns: int = COLUMNS,
                  rows: int = ROWS) -> Path:
    """Write a grid of the crops at ``crops`` (spread to fit) under ``title``; return ``target``.

    The sheet is (BAND + rows_used * THUMB, columns * THUMB, 3) uint8 RGB.
    """
    chosen = spread(list(crops), columns * rows)
    used_rows = max(1, -(-len(chosen) // columns))
    sheet = np.full((BAND + used_rows * THUMB, columns * THUMB, 3), 32, np.uint8)
    for k, path in enumerate(chosen):
        thumb = cv2.resize(read_image(path), (THUMB, THUMB), interpolation=cv2.INTER_AREA)
        top, left = BAND + (k // columns) * THUMB, (k % columns) * THUMB
        sheet[top:top + THUMB, left:left + THUMB] = thumb
    cv2.putText(sheet, title, (6, BAND - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    write_image(target, sheet)
    return target
