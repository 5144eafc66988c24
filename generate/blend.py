"""Putting the generated face into the frame: mask shaping, paste-back, alpha or Poisson blending."""

from __future__ import annotations

import cv2
import numpy as np

from swaplab.core.errors import SwaplabError
from swaplab.faces import align

BLENDS = ("alpha", "poisson")


def shape_mask(mask: np.ndarray, erode: int, blur: int) -> np.ndarray:
    """Erode (px, negative dilates) then Gaussian-blur (px) a (R, R) mask in [0, 1]."""
    out = mask.astype(np.float32)
    if erode:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(erode) + 1,) * 2)
        out = cv2.erode(out, kernel) if erode > 0 else cv2.dilate(out, kernel)
    if blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), blur / 2)
    return np.clip(out, 0, 1)


def upscale_of(matrix: np.ndarray) -> float:
    """Frame pixels per crop pixel of a (2, 3) frame->crop matrix (> 1: the face is enlarged when pasted)."""
    return float(1 / np.sqrt(abs(np.linalg.det(matrix[:, :2]))))


def unsharp_sigma(upscale: float) -> float:
    """Gaussian sigma (frame px) of the blur an enlargement by ``upscale`` left: half of it, at least 0.8."""
    return max(0.8, upscale / 2)


def sharpen_pasted(face_frame: np.ndarray, amount: float, upscale: float) -> np.ndarray:
    """Unsharp mask of a face pasted into frame space, at the scale its upscaling blurred it.

    Parameters
    ----------
    face_frame : (H, W, 3) float32 in [0, 1], the face warped into the frame
    amount : strength (0: unchanged; 1: the detail lost to a blur of sigma ``upscale / 2`` is added back once)
    upscale : frame pixels per model pixel (see :func:`upscale_of`)

    Returns
    -------
    (H, W, 3) float32 in [0, 1]. It adds no detail the model did not make: it steepens the edges
    the upscaling softened.
    """
    if amount <= 0:
        return face_frame
    blurred = cv2.GaussianBlur(face_frame, (0, 0), unsharp_sigma(upscale))
    return np.clip(face_frame + amount * (face_frame - blurred), 0, 1)


def _sharpen_region(face_frame: np.ndarray, matrix: np.ndarray, resolution: int, amount: float) -> np.ndarray:
    """Sharpen only the box where the crop lands (plus the blur's reach), not the whole frame."""
    upscale = upscale_of(matrix)
    corners = align.apply(align.invert(matrix), np.array([[0, 0], [resolution, 0], [0, resolution],
                                                          [resolution, resolution]], np.float64))
    reach = int(np.ceil(3 * unsharp_sigma(upscale)))
    height, width = face_frame.shape[:2]
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int) - reach, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int) + reach, [width, height])
    if x1 <= x0 or y1 <= y0:
        return face_frame
    out = face_frame.copy()
    out[y0:y1, x0:x1] = sharpen_pasted(face_frame[y0:y1, x0:x1], amount, upscale)
    return out


def blend_into_frame(frame: np.ndarray, face: np.ndarray, mask: np.ndarray, matrix: np.ndarray,
                     method: str = "alpha", sharpen: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Paste a crop-space face into its frame.

    Parameters
    ----------
    frame : (H, W, 3) uint8 RGB
    face : (R, R, 3) float32 in [0, 1]
    mask : (R, R) float32 in [0, 1]
    matrix : (2, 3) frame->crop matrix at resolution R
    method : alpha or poisson
    sharpen : unsharp-mask amount applied after the face is enlarged into the frame (0: none)

    Returns
    -------
    (blended frame (H, W, 3) uint8, blend mask in frame space (H, W) float32)
    """
    height, width = frame.shape[:2]
    face_frame = align.paste(face, matrix, (width, height), cv2.INTER_LINEAR)
    if sharpen > 0:
        face_frame = _sharpen_region(face_frame, matrix, face.shape[0], sharpen)
    mask_frame = np.clip(align.paste(mask, matrix, (width, height), cv2.INTER_LINEAR), 0, 1)
    if method == "alpha":
        out = frame.astype(np.float32) / 255 * (1 - mask_frame[..., None]) + face_frame * mask_frame[..., None]
        return (out * 255).round().clip(0, 255).astype(np.uint8), mask_frame
    if method == "poisson":
        return _poisson(frame, face_frame, mask_frame), mask_frame
    raise SwaplabError(f"unknown blend {method!r}; choose one of {BLENDS}")


def _poisson(frame: np.ndarray, face_frame: np.ndarray, mask_frame: np.ndarray) -> np.ndarray:
    binary = (mask_frame > 0.5).astype(np.uint8) * 255
    ys, xs = np.nonzero(binary)
    if len(xs) == 0:
        return frame.copy()
    binary[[0, -1], :] = 0
    binary[:, [0, -1]] = 0
    centre = (int((xs.min() + xs.max() + 1) // 2), int((ys.min() + ys.max() + 1) // 2))
    source = (face_frame * 255).round().clip(0, 255).astype(np.uint8)
    return cv2.seamlessClone(source, frame, binary, centre, cv2.NORMAL_CLONE)
