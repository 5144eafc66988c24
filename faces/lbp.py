"""A classical, independent FR baseline: uniform LBP histograms on a grid of the aligned face.

Ahonen, Hadid & Pietikäinen (2006), "Face description with local binary
patterns". The tight face (eyes to mouth) is cut from the aligned crop,
converted to grey, resized to 96x96; uniform LBP with 8 neighbours at radius
1 (59 codes) is histogrammed in a 6x6 grid of cells; the concatenated
histogram is square-rooted (Hellinger) and L2-normalised so that a cosine
score compares faces. No learning: nothing ships or downloads (licence: ours).
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.feature import local_binary_pattern

from swaplab.faces.backends import FR_BACKENDS, AlignedFace, l2_normalise
from swaplab.faces import align
from swaplab.faces.preprocessing import Preprocessing

FACE_SIZE = 96
GRID = 6
CODES = 59  # uniform patterns of 8 neighbours (58) + one bin for all others


def _uniform_lookup() -> np.ndarray:
    """Map each 8-bit LBP code to its uniform-pattern bin (0..57) or 58 for non-uniform codes."""
    table, next_bin = np.full(256, CODES - 1, dtype=np.int64), 0
    for code in range(256):
        bits = [(code >> i) & 1 for i in range(8)]
        if sum(bits[i] != bits[(i + 1) % 8] for i in range(8)) <= 2:
            table[code] = next_bin
            next_bin += 1
    return table


_LOOKUP = _uniform_lookup()


class LBPHistograms:
    """Grid of uniform-LBP histograms (6 x 6 cells x 59 bins = 2124-d)."""

    name = "lbp"
    licence = "no learned weights"
    preprocessing = Preprocessing(crop_size=FACE_SIZE, face_type="face", input_size=FACE_SIZE, normalisation="grey")

    def prepare(self, face: AlignedFace) -> np.ndarray:
        """(96, 96) uint8 grey tight face, re-aligned from the aligned crop."""
        size = face.crop.shape[0]
        to_tight = align.umeyama(align.template(size, face.face_type), align.template(FACE_SIZE, "face"))
        tight = cv2.warpAffine(face.crop, to_tight, (FACE_SIZE, FACE_SIZE), flags=cv2.INTER_AREA,
                              borderMode=cv2.BORDER_REPLICATE)
        return cv2.cvtColor(tight, cv2.COLOR_RGB2GRAY)

    def embed(self, inputs: np.ndarray) -> np.ndarray:
        """(N, 96, 96) uint8 -> (N, 2124) L2-normalised float32."""
        return l2_normalise(np.stack([self._describe(face) for face in inputs]))

    @staticmethod
    def _describe(face: np.ndarray) -> np.ndarray:
        codes = _LOOKUP[local_binary_pattern(face, 8, 1, method="default").astype(np.int64)]
        cell = FACE_SIZE // GRID
        hists = [np.bincount(codes[r:r + cell, c:c + cell].ravel(), minlength=CODES)
                 for r in range(0, FACE_SIZE, cell) for c in range(0, FACE_SIZE, cell)]
        return np.sqrt(np.concatenate(hists) / (cell * cell))


@FR_BACKENDS.register("lbp")
def lbp(*, device: str = "auto") -> LBPHistograms:
    """Uniform-LBP histogram grid (classical baseline, no learning); numpy only, ``device`` is ignored."""
    return LBPHistograms()
