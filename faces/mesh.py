"""Dense landmarks: MediaPipe Face Mesh (478 points with iris), shipped inside the mediapipe 0.10.14 wheel.

The mesh runs on an aligned face crop (one face at a time, so it serves frames with many faces) and
its points are mapped back into frame pixels through the crop's 2x3 alignment matrix. Nothing is
downloaded: ``face_landmark_with_attention.tflite`` and BlazeFace ship in the wheel.

Licence: MediaPipe and its Face Mesh model are Apache-2.0 (model card: "Face Mesh V2").

Useful index sets (MediaPipe's canonical mesh topology) are given below: the face oval for masks,
and the inner and outer lips for mouth features.
"""

from __future__ import annotations

import os
import warnings
from importlib.metadata import version

import numpy as np

from swaplab.core.errors import SwaplabError

N_POINTS = 478
# MediaPipe's canonical face-oval contour, in order around the face.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
             176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
LIPS_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
LIPS_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
# Upper and lower inner lip midpoints, and the mouth corners.
LIP_UPPER_INNER, LIP_LOWER_INNER, MOUTH_LEFT, MOUTH_RIGHT = 13, 14, 291, 61
LIP_UPPER_OUTER, LIP_LOWER_OUTER = 0, 17
# Inner-lip gap / inter-ocular distance (:func:`mouth_openings`) of a closed and of an open mouth. lp_s18's closed
# lips measure 0.002 in every frame; lp_d12, talking, has 14 % of its faces below 0.02 and 1 % between the two.
MOUTH_CLOSED_GAP = 0.02
MOUTH_OPEN_GAP = 0.04
# An eye's fill (:func:`eye_fills`) when shut and when open. The eyes of lp_s18 and lp_d12 (every frame) fill
# 0.27 and 0.24 at the median and 0.17-0.18 at the 5th percentile; 1.6-2.8 % of them, the blinks, fall below 0.08
# (down to 0.003). pexels_wolfgang_langer (crying, then laughing) has an eye under 0.03 in 26 % of its frames and
# under 0.08 in 37 %: few eyes lie between.
EYE_SHUT_FILL = 0.03
EYE_OPEN_FILL = 0.08


class FaceMesh:
    """478-point Face Mesh on aligned crops.

    Parameters
    ----------
    min_confidence : float
        MediaPipe's detection and presence threshold; below it a crop gets no mesh.

    Examples
    --------
    >>> mesh = FaceMesh()                                   # doctest: +SKIP
    >>> points = mesh.crop_landmarks(crop)                  # (478, 3) in crop pixels, or None
    >>> frame_points = to_frame(points, matrix)             # (478, 2) in frame pixels
    """

    def __init__(self, *, min_confidence: float = 0.5) -> None:
        self.min_confidence = min_confidence
        self._mesh = None

    def describe(self) -> str:
        """Model name and version, for manifests."""
        return f"mediapipe-face-mesh(mediapipe {version('mediapipe')}, 478 points, refine_landmarks)"

    def _load(self):
        if self._mesh is None:
            self._mesh = new_mediapipe_mesh(static=True, min_confidence=self.min_confidence)
        return self._mesh

    def crop_landmarks(self, crop: np.ndarray) -> np.ndarray | None:
        """Dense landmarks of the face in an aligned crop.

        Parameters
        ----------
        crop : ndarray (S, S, 3) uint8 RGB

        Returns
        -------
        ndarray (478, 3) float32 or None
            x, y in crop pixels, z (relative depth) in the same pixel scale; None when no face is found.
        """
        found = self._load().process(np.ascontiguousarray(crop))
        if not found.multi_face_landmarks:
            return None
        height, width = crop.shape[:2]
        points = np.array([(p.x, p.y, p.z) for p in found.multi_face_landmarks[0].landmark], dtype=np.float32)
        return points * np.array([width, height, width], dtype=np.float32)

    def close(self) -> None:
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None


def new_mediapipe_mesh(*, static: bool, min_confidence: float = 0.5):
    """MediaPipe's FaceMesh solution (one face, 478 points with iris), quiet on stderr.

    ``static`` runs detection on every image (aligned crops of different faces); otherwise the mesh
    tracks one face from frame to frame (a video). Its C++ log and protobuf's deprecation warning,
    which mediapipe 0.10.14 triggers on every run, are silenced so a command's output stays readable.
    """
    os.environ.setdefault("GLOG_minloglevel", "2")
    warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
    try:
        from mediapipe.python.solutions import face_mesh
    except ImportError as err:  # pragma: no cover - the Makefile installs it
        raise SwaplabError(f"dense landmarks need mediapipe==0.10.14 ({err})") from None
    return face_mesh.FaceMesh(static_image_mode=static, max_num_faces=1, refine_landmarks=True,
                              min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence)


def to_frame(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Map crop-pixel points (N, 2+) back to frame pixels through the frame->crop matrix (2, 3): (N, 2)."""
    full = np.vstack([np.asarray(matrix, np.float64), [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(full)[:2]
    xy = np.asarray(points, np.float64)[:, :2]
    return xy @ inverse[:, :2].T + inverse[:, 2]


def ring_area(outline: np.ndarray) -> float:
    """The area enclosed by a closed contour of points (K, 2), in their pixels squared (the shoelace formula)."""
    x, y = outline[:, 0], outline[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def mouth_openings(points: np.ndarray) -> np.ndarray:
    """Mouth shape of one face, normalised by the inter-ocular distance.

    Parameters
    ----------
    points : ndarray (478, 2+)

    Returns
    -------
    ndarray (4,)
        inner-lip gap, outer-lip gap, mouth width, inner-lip area (area / IOD^2).
    """
    xy = np.asarray(points, np.float64)[:, :2]
    iod = np.linalg.norm(xy[list(LEFT_EYE)].mean(axis=0) - xy[list(RIGHT_EYE)].mean(axis=0))
    iod = max(iod, 1e-6)
    inner = np.linalg.norm(xy[LIP_UPPER_INNER] - xy[LIP_LOWER_INNER]) / iod
    outer = np.linalg.norm(xy[LIP_UPPER_OUTER] - xy[LIP_LOWER_OUTER]) / iod
    width = np.linalg.norm(xy[MOUTH_LEFT] - xy[MOUTH_RIGHT]) / iod
    return np.array([inner, outer, width, ring_area(xy[list(LIPS_INNER)]) / iod**2])


def eye_fills(points: np.ndarray) -> np.ndarray:
    """(2,) how open the right and the left eye of one face are, from its Face Mesh (478, 2+): the area inside each
    eye's lid margins over the square of its width (about 0.25 for an open eye, under 0.03 for a shut one)."""
    xy = np.asarray(points, np.float64)[:, :2]
    fills = []
    for ring in (RIGHT_EYE, LEFT_EYE):
        outline = xy[list(ring)]
        fills.append(ring_area(outline) / max(float(np.ptp(outline, axis=0).max()), 1e-6) ** 2)
    return np.array(fills)


def mouth_closure(points: np.ndarray) -> float:
    """How closed one face's mouth is, from its Face Mesh (478, 2+): 1 at an inner-lip gap up to
    ``MOUTH_CLOSED_GAP``, 0 from ``MOUTH_OPEN_GAP`` on, linear between (so a weight taken from it does not jump
    from one frame to the next as the lips part)."""
    gap = mouth_openings(points)[0]
    return float(np.clip((MOUTH_OPEN_GAP - gap) / (MOUTH_OPEN_GAP - MOUTH_CLOSED_GAP), 0.0, 1.0))
