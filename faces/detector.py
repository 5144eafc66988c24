"""Face detection with MTCNN (facenet-pytorch's shipped weights) and ONet tracking between keyframes.

Full MTCNN runs an image pyramid through three networks (our cascade,
:mod:`swaplab.faces.mtcnn`); it is the costly part of extraction. Between keyframes we track: the previous face box is
squared, cut and fed to MTCNN's last stage (ONet) alone, exactly as MTCNN's
own third stage does, which refines the box and gives 5 landmarks and a
confidence. A face ONet loses is looked for again by full MTCNN on a window around its last box
(:meth:`FaceDetector.redetect`), a fraction of the frame's cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version

import numpy as np
import torch

from swaplab.core.device import resolve_device
from swaplab.faces.mtcnn import detect_faces, onet_outputs, square


@dataclass(frozen=True)
class Detection:
    """One face: ``box`` (4,) as x0, y0, x1, y1; ``score`` in [0, 1]; ``landmarks`` (5, 2).

    Landmarks are left eye, right eye, nose, left and right mouth corner, in
    frame pixels.
    """

    box: np.ndarray
    score: float
    landmarks: np.ndarray

    @property
    def area(self) -> float:
        return float(max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1]))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


class FaceDetector:
    """Batched MTCNN detection plus single-stage ONet tracking.

    Parameters
    ----------
    min_face_size : int
        Smallest face MTCNN looks for, in pixels; larger is faster.
    thresholds : (float, float, float)
        P-, R- and O-Net score thresholds.
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    """

    def __init__(self, *, min_face_size: int = 40, thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
                 device: str = "auto") -> None:
        from facenet_pytorch import MTCNN

        self.device = resolve_device(device)
        self.thresholds = thresholds
        self.min_face_size = min_face_size
        self._mtcnn = MTCNN(keep_all=True, min_face_size=min_face_size, thresholds=list(thresholds),
                            post_process=False, device=self.device)
        # channels_last: PyTorch's CPU max-pooling is 7-11x faster on it; a hikers frame takes 43 ms
        # instead of 58 on one thread, ONet tracking 0.9 ms instead of 1.7, boxes equal to 1e-4 px
        self._mtcnn.to(memory_format=torch.channels_last)
        self._mtcnn.eval()

    def describe(self) -> str:
        """Detector name and settings, for manifests."""
        return (f"mtcnn(facenet-pytorch {version('facenet-pytorch')} weights, swaplab cascade, "
                f"min_face={self.min_face_size}, thresholds={list(self.thresholds)})")

    @torch.inference_mode()
    def detect(self, frames: np.ndarray) -> list[list[Detection]]:
        """Detect every face in each RGB frame of (B, H, W, 3) uint8, largest first."""
        nets = (self._mtcnn.pnet, self._mtcnn.rnet, self._mtcnn.onet)
        found = []
        for frame in np.asarray(frames):
            boxes, scores, landmarks = detect_faces(nets, frame, self.min_face_size, self.thresholds)
            found.append([Detection(box, float(score), points)
                          for box, score, points in zip(boxes, scores, landmarks, strict=True)])
        return found

    @torch.inference_mode()
    def redetect(self, frame: np.ndarray, previous: Detection, reach: float = 1.0,
                 min_iou: float = 0.3) -> Detection | None:
        """Full MTCNN on a window around ``previous``'s box on ``frame`` (H, W, 3); the face there or None.

        The window is the box grown by ``reach`` box sides on every side (clipped to the frame);
        the detection overlapping ``previous`` most is returned, in frame pixels, when their
        intersection over union reaches ``min_iou`` (a neighbour's face in the window is not taken).
        """
        height, width = frame.shape[:2]
        x0, y0, x1, y1 = previous.box
        grow_x, grow_y = (x1 - x0) * reach, (y1 - y0) * reach
        left, top = int(max(0, x0 - grow_x)), int(max(0, y0 - grow_y))
        right, bottom = int(min(width, x1 + grow_x + 1)), int(min(height, y1 + grow_y + 1))
        if min(right - left, bottom - top) < self.min_face_size:
            return None
        found = self.detect(np.ascontiguousarray(frame[top:bottom, left:right])[None])[0]
        offset = np.array([left, top], np.float64)
        moved = [Detection(det.box + np.tile(offset, 2), det.score, det.landmarks + offset) for det in found]
        best = max(moved, key=lambda det: iou(det.box, previous.box), default=None)
        return best if best is not None and iou(best.box, previous.box) >= min_iou else None

    @torch.inference_mode()
    def track(self, frame: np.ndarray, previous: Detection) -> Detection | None:
        """Refine ``previous``'s box on ``frame`` (H, W, 3) with ONet; None when the face is lost."""
        boxes, scores, landmarks, inside = onet_outputs(self._mtcnn.onet, frame, square(previous.box[None]),
                                                        self.device)
        if not inside[0] or scores[0] <= self.thresholds[2]:
            return None
        return Detection(boxes[0], float(scores[0]), landmarks[0])
