"""Colour transfer plug-ins: make the generated face take the colours of the dst face it replaces.

Each takes ``face`` and ``target`` (R, R, 3) float32 RGB in [0, 1] and a
``mask`` (R, R) in [0, 1]; statistics come from pixels where mask > 0.5.

none  unchanged
rct   Reinhard et al. 2001, "Color transfer between images": per-channel mean and std in L*a*b*
lct   linear transfer matching the RGB mean and covariance (symmetric square roots)
mkl   Pitié & Kokaram 2007, "The linear Monge-Kantorovitch colour mapping": the optimal-transport
      linear map between the two RGB Gaussians
hist  per-channel histogram matching
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from swaplab.core.registry import Registry


class ColourTransfer(Protocol):
    def __call__(self, face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray: ...


COLOUR_TRANSFERS: Registry[ColourTransfer] = Registry("colour transfer")


def _pixels(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    inside = mask > 0.5
    return image[inside] if inside.sum() >= 16 else image.reshape(-1, 3)


def _sqrtm(cov: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(cov)
    return vectors @ np.diag(np.sqrt(np.clip(values, 1e-8, None))) @ vectors.T


def _apply_linear(face: np.ndarray, matrix: np.ndarray, mu_face: np.ndarray, mu_target: np.ndarray) -> np.ndarray:
    out = (face.reshape(-1, 3) - mu_face) @ matrix.T + mu_target
    return np.clip(out.reshape(face.shape), 0, 1).astype(np.float32)


@COLOUR_TRANSFERS.register("none")
def _none() -> ColourTransfer:
    return lambda face, target, mask: face


def rct(face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    lab_face = cv2.cvtColor(face.astype(np.float32), cv2.COLOR_RGB2LAB)
    lab_target = cv2.cvtColor(target.astype(np.float32), cv2.COLOR_RGB2LAB)
    src, ref = _pixels(lab_face, mask), _pixels(lab_target, mask)
    scale = ref.std(axis=0) / np.maximum(src.std(axis=0), 1e-6)
    moved = (lab_face - src.mean(axis=0)) * scale + ref.mean(axis=0)
    return np.clip(cv2.cvtColor(moved.astype(np.float32), cv2.COLOR_LAB2RGB), 0, 1)


def lct(face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    src, ref = _pixels(face, mask), _pixels(target, mask)
    cov_src, cov_ref = np.cov(src.T) + 1e-6 * np.eye(3), np.cov(ref.T) + 1e-6 * np.eye(3)
    matrix = _sqrtm(cov_ref) @ np.linalg.inv(_sqrtm(cov_src))
    return _apply_linear(face, matrix, src.mean(axis=0), ref.mean(axis=0))


def mkl(face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    src, ref = _pixels(face, mask), _pixels(target, mask)
    cov_src, cov_ref = np.cov(src.T) + 1e-6 * np.eye(3), np.cov(ref.T) + 1e-6 * np.eye(3)
    root = _sqrtm(cov_src)
    inverse_root = np.linalg.inv(root)
    matrix = inverse_root @ _sqrtm(root @ cov_ref @ root) @ inverse_root
    return _apply_linear(face, matrix, src.mean(axis=0), ref.mean(axis=0))


def hist(face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    src, ref = _pixels(face, mask), _pixels(target, mask)
    out = np.empty_like(face, dtype=np.float32)
    quantiles = np.linspace(0, 1, 256)
    for c in range(3):
        src_q, ref_q = np.quantile(src[:, c], quantiles), np.quantile(ref[:, c], quantiles)
        out[..., c] = np.interp(face[..., c], src_q, ref_q)
    return np.clip(out, 0, 1)


for _name, _fn in (("rct", rct), ("lct", lct), ("mkl", mkl), ("hist", hist)):
    COLOUR_TRANSFERS.register(_name)(lambda fn=_fn: fn)


def clamp_chroma(face: np.ndarray, target: np.ndarray, mask: np.ndarray, percentile: float) -> np.ndarray:
    """The (R, R, 3) face with each pixel's CIELAB a*b* pulled back into the target's own range of hues.

    The range is the target's a*b* where ``mask`` > 0.5: its median and covariance, out to the ``percentile``-th
    Mahalanobis radius of the target's own pixels. A face pixel beyond that radius is moved along its line to the
    median onto it; lightness and every pixel inside are left as they are. Run after a colour transfer, this takes
    the hue blotches a transfer of global statistics leaves (a model's purple lids and nostrils) to the nearest hue
    the target's skin shows, where a transfer by region turned cheeks grey (README).
    """
    lab_face = cv2.cvtColor(face.astype(np.float32), cv2.COLOR_RGB2LAB)
    reference = _pixels(cv2.cvtColor(target.astype(np.float32), cv2.COLOR_RGB2LAB), mask)[:, 1:].astype(np.float64)
    median = np.median(reference, axis=0)
    inverse = np.linalg.inv(np.cov(reference.T) + 1e-3 * np.eye(2))

    def radius(chroma: np.ndarray) -> np.ndarray:
        offset = chroma - median
        return np.sqrt(np.einsum("...i,ij,...j->...", offset, inverse, offset))

    limit = np.percentile(radius(reference), percentile)
    chroma = lab_face[..., 1:].astype(np.float64)
    distance = radius(chroma)
    shrink = np.where(distance > limit, limit / np.maximum(distance, 1e-9), 1.0)
    lab_face[..., 1:] = median + (chroma - median) * shrink[..., None]
    return np.clip(cv2.cvtColor(lab_face, cv2.COLOR_LAB2RGB), 0, 1).astype(np.float32)


def masked_low_band(channels: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """(R, R, C) float32: each of ``channels`` (R, R, C) blurred by a Gaussian of ``sigma`` px over the pixels
    where ``weight`` (R, R, in [0, 1]) is not 0, each pixel counting by its weight (normalised convolution), so
    what lies outside the weight (background, hair, dst's kept eyes and mouth) never darkens or lightens the
    band near an edge."""
    weight = np.clip(weight, 0, 1).astype(np.float32)
    total = np.maximum(cv2.GaussianBlur(weight, (0, 0), sigma), 1e-6)
    blurred = cv2.GaussianBlur(channels.astype(np.float32) * weight[..., None], (0, 0), sigma)
    return blurred.reshape(channels.shape) / total[..., None]


def match_shading(face: np.ndarray, target: np.ndarray, mask: np.ndarray, sigma: float,
                  strength: float = 1.0) -> np.ndarray:
    """The (R, R, 3) face relit as the target is lit: its low band of CIELAB lightness moved onto the target's.

    Parameters
    ----------
    face, target : (R, R, 3) float32 RGB in [0, 1]; the swap's face and dst's crop at the same place
    mask : (R, R) float in [0, 1]: the pixels that count (the face, without what dst keeps of its own)
    sigma : the low band's Gaussian sigma in px; the shading below it (broad light and shadow: a lit chin, dark
        eye sockets, a forehead in shadow) is dst's, the face's own shapes above it stay
    strength : share of the shift applied (0: none; 1: dst's low band)

    Returns
    -------
    (R, R, 3) float32 in [0, 1]; a* b* and the lightness above the band are the face's.
    """
    if strength <= 0:
        return face
    lab_face = cv2.cvtColor(face.astype(np.float32), cv2.COLOR_RGB2LAB)
    lightness = cv2.cvtColor(target.astype(np.float32), cv2.COLOR_RGB2LAB)[..., 0]
    bands = masked_low_band(np.stack([lightness, lab_face[..., 0]], axis=-1), mask, sigma)
    lab_face[..., 0] = lab_face[..., 0] + strength * (bands[..., 0] - bands[..., 1])
    return np.clip(cv2.cvtColor(lab_face, cv2.COLOR_LAB2RGB), 0, 1).astype(np.float32)
