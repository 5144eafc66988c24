"""Similarity alignment of 5 facial landmarks to a canonical template, and its inverse.

The template is the widely used 5-point layout for 112x112 face crops (eye
centres, nose tip, mouth corners), normalised to the unit square. Face types
widen the crop around it, as DeepFaceLab's face types do:

face        tight: eyebrows to chin, the classic swap area
whole_face  the whole face with forehead and some margin
head        the whole head with hair
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from swaplab.core.errors import SwaplabError

TEMPLATE_NAME = "five-point-112-v1"
# Unit-square positions of: left eye, right eye, nose tip, left mouth corner, right mouth corner.
_UNIT_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
) / 112.0
CROP_SIZES = (64, 96, 128, 160, 256)


@dataclass(frozen=True)
class FaceType:
    """How much of the head a crop holds: template ``zoom`` about its centre and a vertical ``shift``."""

    name: str
    zoom: float
    shift: float


FACE_TYPES = {
    "face": FaceType("face", 1.0, 0.0),
    "whole_face": FaceType("whole_face", 0.78, 0.02),
    "head": FaceType("head", 0.6, 0.06),
}


def face_type(name: str) -> FaceType:
    """Look up a face type by name; unknown names list the valid ones."""
    try:
        return FACE_TYPES[name]
    except KeyError:
        raise SwaplabError(f"unknown face type {name!r}; choose one of: {', '.join(FACE_TYPES)}") from None


def template(size: int, kind: str = "face") -> np.ndarray:
    """Canonical landmarks in crop pixels for a ``size`` x ``size`` crop, shape (5, 2)."""
    spec = face_type(kind)
    centre = np.array([0.5, 0.5])
    points = centre + (_UNIT_TEMPLATE - centre) * spec.zoom + np.array([0.0, spec.shift])
    return points * size


def umeyama(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) taking ``source`` to ``target``.

    Umeyama (1991), "Least-squares estimation of transformation parameters
    between two point patterns", without reflection.

    Parameters
    ----------
    source, target : ndarray, shape (N, 2)
        Corresponding points, N >= 2.

    Returns
    -------
    ndarray, shape (2, 3)
        ``M`` such that ``target ~= source @ M[:, :2].T + M[:, 2]``.
    """
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    variance = (src_c**2).sum() / len(src)
    if variance <= 0:
        raise ValueError("landmarks are degenerate (all at one point)")
    scale = np.trace(np.diag(singular) @ sign) / variance
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - matrix[:, :2] @ src_mean
    return matrix


def alignment_matrix(landmarks: np.ndarray, size: int, kind: str = "face") -> np.ndarray:
    """Frame->crop similarity (2, 3) for 5 landmarks (5, 2) in frame pixels."""
    return umeyama(landmarks, template(size, kind))


def invert(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix, shape (2, 3)."""
    return cv2.invertAffineTransform(np.asarray(matrix, dtype=np.float64))


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map points (N, 2) through a 2x3 affine matrix."""
    points = np.asarray(points, dtype=np.float64)
    return points @ np.asarray(matrix)[:, :2].T + np.asarray(matrix)[:, 2]


def crop(frame: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Warp ``frame`` (H, W, C) into a ``size`` x ``size`` crop through ``matrix`` (2, 3)."""
    return cv2.warpAffine(frame, np.asarray(matrix), (size, size), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REPLICATE)


def paste(crop_image: np.ndarray, matrix: np.ndarray, frame_size: tuple[int, int],
          interpolation: int = cv2.INTER_CUBIC) -> np.ndarray:
    """Warp a crop back to frame pixels through the inverse of ``matrix``.

    Parameters
    ----------
    crop_image : ndarray, shape (S, S[, C])
    matrix : ndarray, shape (2, 3)
        The frame->crop matrix used to make the crop.
    frame_size : (width, height)

    Returns
    -------
    ndarray, shape (height, width[, C]); zeros outside the crop's footprint.
    """
    return cv2.warpAffine(crop_image, invert(matrix), frame_size, flags=interpolation,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
