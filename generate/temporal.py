"""A steady swapped face: the model's soft face carried along dst's own motion from frame to frame.

The model renders each frame on its own, so the soft face it renders (its shading, the shape of
its features: everything coarser than a couple of frame pixels) wavers between frames where dst's
face barely moves. A real face changes only as dst's does. So, per swapped face:

1. dst's optical flow from this frame back to the previous one (OpenCV DIS, grey, the face's box)
   carries the previous *output* frame onto this one;
2. where that flow explains dst (``confidence = exp(-(r / RESIDUAL_LEVEL)^2)``, r the mean RGB
   difference between dst and dst's previous frame so carried: small on a moving head, large at
   an opening mouth, a blink, an occlusion or a cut), the current face's low frequencies (a Gaussian
   of sigma ``face width / SIGMA_DIVISOR``) move towards the carried frame's, with weight
   ``weight * confidence * mask_now * mask_before``;
3. the fine band above it (src's filmed detail, dst's texture) stays as rendered, so the face keeps
   its sharpness: averaging frames would blur detail that is not the same from frame to frame.

The filter is recursive (the previous output, already steadied, is carried), so a weight of 0.8
holds up to about five frames of history where dst's motion is explained, and none across a cut.
Outside the blend mask the frame is dst's, untouched. Measured on real pairs in the README.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# The low band's scale: the Gaussian's sigma is the aligned face's width in the frame over this
# (1.3-1.8 frame px on the talking heads measured in the README, 512 px and 720p). Measured on six
# swapped clips (sigma 1.0-3.0 px tried): the flicker comes mostly from this band, the sharpness
# from the band above it.
SIGMA_DIVISOR = 256
# Mean |RGB| difference (0-255) between dst and its flow-carried previous frame at which the
# confidence in the carried face falls to exp(-1).
RESIDUAL_LEVEL = 8.0
# The residual is blurred by this Gaussian (frame px) first, so single noisy pixels do not decide.
RESIDUAL_SIGMA_PX = 2.0
# A face box narrower than this (frame px) is not steadied (DIS needs 12 px on a side).
MIN_BOX_PX = 12


@dataclass(frozen=True)
class PastedFace:
    """One swapped face of a frame: its blend mask (H, W) float32 in [0, 1] and its width in the frame (px)."""

    mask: np.ndarray
    width: float


def face_box(mask: np.ndarray, pad: int) -> tuple[slice, slice] | None:
    """(rows, cols) slices of the mask's nonzero box grown by ``pad`` px, clipped to the frame; None when empty."""
    rows, cols = np.nonzero(mask > 0)
    if rows.size == 0:
        return None
    height, width = mask.shape
    return (slice(max(rows.min() - pad, 0), min(rows.max() + pad + 1, height)),
            slice(max(cols.min() - pad, 0), min(cols.max() + pad + 1, width)))


def union(faces: list[PastedFace], shape: tuple[int, int]) -> np.ndarray:
    """(H, W) float32: the largest of the faces' blend masks at each pixel (zeros without faces)."""
    mask = np.zeros(shape, np.float32)
    for face in faces:
        mask = np.maximum(mask, face.mask)
    return mask


class TemporalFilter:
    """Steadies the swapped faces of consecutive frames of one video (call once per frame, in order)."""

    def __init__(self, weight: float = 0.8) -> None:
        self.weight = weight
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # dst, output, mask

    def __call__(self, dst: np.ndarray, swapped: np.ndarray, faces: list[PastedFace]) -> np.ndarray:
        """The swapped frame steadied against the previous one.

        Parameters
        ----------
        dst : (H, W, 3) uint8, dst's frame before the swap
        swapped : (H, W, 3) uint8, the same frame with ``faces`` pasted
        faces : the frame's swapped faces (none: the frame passes and becomes the previous one)

        Returns
        -------
        (H, W, 3) uint8, a new array (the filter keeps it as the previous output). Where faces
        overlap, the larger of their weights applies, once.
        """
        if faces and self._previous is not None and self.weight > 0:
            image, applied = swapped.astype(np.float32), np.zeros(dst.shape[:2], np.float32)
            steadied = image.copy()
            for face in faces:
                step = self._step(image, dst, face)
                if step is not None:
                    box, weight, shift = step
                    wins = weight > applied[box]
                    steadied[box][wins] = image[box][wins] + weight[wins, None] * shift[wins]
                    applied[box][wins] = weight[wins]
            out = np.clip(steadied + 0.5, 0, 255).astype(np.uint8)
        else:
            out = swapped.copy()
        self._previous = (dst, out, union(faces, dst.shape[:2]))
        return out

    def _step(self, image: np.ndarray, dst: np.ndarray,
              face: PastedFace) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray] | None:
        """One face's box, weight (h, w) and low-band shift (h, w, 3) towards the previous output carried
        by dst's flow; None when the face is too small for the flow or was not swapped in the previous frame.

        ``image`` is the swapped frame (H, W, 3) float32, ``dst`` dst's frame (H, W, 3) uint8.
        """
        sigma = face.width / SIGMA_DIVISOR
        box = face_box(face.mask, int(np.ceil(4 * sigma)) + 8)
        if box is None:
            return None
        before_dst, before_out, before_mask = (frame[box] for frame in self._previous)
        if min(before_mask.shape) < MIN_BOX_PX or not before_mask.any():
            return None
        now = dst[box]
        flow = self.flow.calc(cv2.cvtColor(now, cv2.COLOR_RGB2GRAY), cv2.cvtColor(before_dst, cv2.COLOR_RGB2GRAY), None)
        grid = np.stack(np.meshgrid(np.arange(flow.shape[1], dtype=np.float32),
                                    np.arange(flow.shape[0], dtype=np.float32))) + flow.transpose(2, 0, 1)

        def carried(frame: np.ndarray, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
            return cv2.remap(frame.astype(np.float32), grid[0], grid[1], cv2.INTER_CUBIC, borderMode=border)

        residual = cv2.GaussianBlur(np.abs(now.astype(np.float32) - carried(before_dst)).mean(2), (0, 0),
                                    RESIDUAL_SIGMA_PX)
        was_face = np.clip(carried(before_mask, cv2.BORDER_CONSTANT), 0, 1)
        weight = self.weight * np.exp(-(residual / RESIDUAL_LEVEL) ** 2) * face.mask[box] * was_face
        shift = cv2.GaussianBlur(carried(before_out), (0, 0), sigma) - cv2.GaussianBlur(image[box], (0, 0), sigma)
        return box, weight, shift
