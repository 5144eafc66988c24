"""Eye patches cut at Face Mesh's eye corners, and how much one eye looks like a set of real eyes.

A swap can pass both FR judges while an eye is broken (a swirl of skin where the eye should
be): FR embeddings weigh the whole face, and one eye's structure hardly moves them. This module
compares eyes alone. Each eye is cut from an aligned crop by the similarity that puts its two
corners (Face Mesh points) on fixed places of a small patch, so eyes of any face, turn and size
line up; the patch keeps the eye's structure (lids, iris, sclera) and drops shading and colour
(grey, band-passed, zero mean, unit norm). The image-right eye is mirrored, so both eyes of every
face are compared as one kind of eye.

``eye_likeness(patch, bank)`` is the best normalised cross-correlation of one patch against a bank
of real eyes: 0.5-0.6 on average for real eyes of another person against a face set, lower for gazes
the set never shows (see ``generate.quality``), far lower for a patch with no eye in it.
"""

from __future__ import annotations

import cv2
import numpy as np

# Face Mesh's corners of the subject's right eye (image left) and left eye (image right), outer then inner
# for the first, inner then outer for the second: both pairs run from image left to image right.
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (362, 263)
PATCH_WIDTH, PATCH_HEIGHT = 48, 32
CORNER_MARGIN = 8  # px of the patch left beside each corner
FINE_SIGMA, SHADING_SIGMA = 0.8, 6.0  # px of the patch: the band kept lies between them


def _corner_matrix(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(2, 3) similarity putting ``first`` and ``second`` (2,) on the patch's two corner places."""
    span = second - first
    # corners at pixels CORNER_MARGIN and PATCH_WIDTH - 1 - CORNER_MARGIN: mirroring the patch swaps them exactly
    scale = (PATCH_WIDTH - 1 - 2 * CORNER_MARGIN) / max(float(np.linalg.norm(span)), 1e-6)
    angle = -np.arctan2(span[1], span[0])
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    matrix = np.array([[cos, -sin, 0.0], [sin, cos, 0.0]])
    matrix[:, 2] = np.array([CORNER_MARGIN, (PATCH_HEIGHT - 1) / 2]) - matrix[:, :2] @ first
    return matrix


def eye_patch(grey: np.ndarray, points: np.ndarray, corners: tuple[int, int], mirror: bool) -> np.ndarray:
    """One eye of a grey image (H, W) float32, cut at the mesh ``points`` (478, 2) in its pixels.

    Returns
    -------
    ndarray (PATCH_HEIGHT * PATCH_WIDTH,) float32
        the band-passed patch, zero mean and unit norm (all zeros for a flat patch).
    """
    matrix = _corner_matrix(*(np.asarray(points[i, :2], np.float64) for i in corners))
    patch = cv2.warpAffine(grey, matrix, (PATCH_WIDTH, PATCH_HEIGHT), flags=cv2.INTER_AREA,
                           borderMode=cv2.BORDER_REFLECT)
    if mirror:
        patch = patch[:, ::-1]
    band = cv2.GaussianBlur(patch, (0, 0), FINE_SIGMA) - cv2.GaussianBlur(patch, (0, 0), SHADING_SIGMA)
    band = (band - band.mean()).ravel()
    norm = float(np.linalg.norm(band))
    return (band / norm if norm > 1e-6 else np.zeros_like(band)).astype(np.float32)


def eye_patches(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Both eyes of one face: (2, PATCH_HEIGHT * PATCH_WIDTH) float32, image-left eye first.

    ``image`` is (H, W, 3) uint8 RGB, ``points`` its Face Mesh (478, 2+) in the same pixels.
    """
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.stack([eye_patch(grey, points, RIGHT_EYE_CORNERS, mirror=False),
                     eye_patch(grey, points, LEFT_EYE_CORNERS, mirror=True)])


def eye_likeness(patches: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """Best normalised cross-correlation of each patch (N, D) with the bank's real eyes (M, D): (N,) in [-1, 1]."""
    return (np.asarray(patches, np.float32) @ np.asarray(bank, np.float32).T).max(axis=1)
