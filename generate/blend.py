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


# Texture, not structure: on real talking heads the fine band's median amplitude inside the face
# is about 1 grey level and its 90th percentile 4-5 (skin, stubble, grain), while edges of brows,
# eyeliner and glasses reach 15-35. Those edges belong to dst's features, which the swap moves, so
# at full strength they paint dst's brows beside src's as outlines; a soft limit keeps the texture.
DETAIL_LIMIT = 6 / 255


def filmed_detail(frame: np.ndarray, upscale: float, limit: float | None = None) -> np.ndarray:
    """The filmed frame's grey-level texture finer than an enlargement by ``upscale`` keeps.

    Parameters
    ----------
    frame : (H, W, 3) uint8 RGB, the original frame (or a region of it)
    upscale : frame pixels per model pixel (see :func:`upscale_of`)
    limit : soft bound of the result's magnitude (``limit * tanh(x / limit)``; None: ``DETAIL_LIMIT``;
        inf: none; 0: no detail)

    Returns
    -------
    (H, W, 1) float32, zero-mean: the grey frame minus its Gaussian blur of sigma
    :func:`unsharp_sigma` (``upscale / 2``), i.e. periods shorter than about 2.7 model pixels,
    which a model of that resolution cannot render (pores, stubble, hair strands, film grain),
    softly bounded by ``limit`` so that strong edges (dst's brows, eyeliner) do not come through.
    """
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    fine = grey - cv2.GaussianBlur(grey, (0, 0), unsharp_sigma(upscale))
    limit = DETAIL_LIMIT if limit is None else limit
    if limit <= 0:
        return np.zeros_like(fine)[..., None]
    if np.isfinite(limit):
        fine = limit * np.tanh(fine / limit)
    return fine[..., None]


def face_box(matrix: np.ndarray, resolution: int, shape: tuple[int, ...], reach: int) -> tuple[slice, slice] | None:
    """(rows, columns) of the frame box where a crop of ``resolution`` lands, widened by ``reach`` px;
    None when it lies outside the frame."""
    corners = align.apply(align.invert(matrix), np.array([[0, 0], [resolution, 0], [0, resolution],
                                                          [resolution, resolution]], np.float64))
    height, width = shape[:2]
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int) - reach, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int) + reach, [width, height])
    if x1 <= x0 or y1 <= y0:
        return None
    return slice(y0, y1), slice(x0, x1)


def refine_pasted(face_frame: np.ndarray, frame: np.ndarray, matrix: np.ndarray, resolution: int,
                  sharpen: float = 0.0, detail: float = 0.0, rendered: int | None = None) -> np.ndarray:
    """Sharpen the enlarged face and add the filmed frame's fine detail, only in the face's box.

    Parameters
    ----------
    face_frame : (H, W, 3) float32 in [0, 1], the face warped into the frame
    frame : (H, W, 3) uint8 RGB, the original frame
    matrix : (2, 3) frame->crop matrix at ``resolution``
    sharpen : unsharp-mask amount (see :func:`sharpen_pasted`)
    detail : weight of :func:`filmed_detail` added (0: none; 1: the frame's fine detail as filmed).
        It fades with the enlargement (full from 2x, none at 1x or less: a face the model renders
        at the frame's own scale lost no detail to the enlargement).
    rendered : the resolution the model rendered the face at, when it was enlarged to
        ``resolution`` before the paste (src's detail added, see ``generate.exemplar``); None: the
        same. Sharpening and dst's detail act at the model's enlargement.
    """
    upscale = upscale_of(matrix) * resolution / (rendered or resolution)
    detail = detail * float(np.clip(upscale - 1, 0, 1))
    if sharpen <= 0 and detail <= 0:
        return face_frame
    box = face_box(matrix, resolution, frame.shape, int(np.ceil(3 * unsharp_sigma(upscale))))
    if box is None:
        return face_frame
    out = face_frame.copy()
    region = sharpen_pasted(face_frame[box], sharpen, upscale)
    if detail > 0:
        region = np.clip(region + detail * filmed_detail(frame[box], upscale), 0, 1)
    out[box] = region
    return out


def blend_into_frame(frame: np.ndarray, face: np.ndarray, mask: np.ndarray, matrix: np.ndarray,
                     method: str = "alpha", sharpen: float = 0.0, detail: float = 0.0,
                     rendered: int | None = None, face_matrix: np.ndarray | None = None) -> tuple[np.ndarray,
                                                                                                 np.ndarray]:
    """Paste a crop-space face into its frame.

    Parameters
    ----------
    frame : (H, W, 3) uint8 RGB
    face : (R, R, 3) float32 in [0, 1]
    mask : (R, R) float32 in [0, 1]
    matrix : (2, 3) frame->crop matrix at resolution R
    method : alpha or poisson
    sharpen : unsharp-mask amount applied after the face is enlarged into the frame (0: none)
    detail : weight of the frame's own fine detail added to the enlarged face (0: none; see
        :func:`filmed_detail`)
    rendered : the model's resolution when ``face`` is larger than the model rendered it (see
        :func:`refine_pasted`)
    face_matrix : (2, 3) frame->crop matrix of the face when it is pasted elsewhere than its mask (moved
        onto dst's features, see ``generate.feature_fit``); None: ``matrix``

    Returns
    -------
    (blended frame (H, W, 3) uint8, blend mask in frame space (H, W) float32)
    """
    height, width = frame.shape[:2]
    face_frame = align.paste(face, matrix if face_matrix is None else face_matrix, (width, height), cv2.INTER_LINEAR)
    face_frame = refine_pasted(face_frame, frame, matrix, face.shape[0], sharpen, detail, rendered)
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
