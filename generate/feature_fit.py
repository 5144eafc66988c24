"""The swapped face moved onto dst's features ("feature fit").

A short training renders src near the head turns src was filmed at. Where dst keeps its head
turned further than src ever does, the rendered face sits frontal inside dst's turned crop: its
eyes, nose and mouth lie beside dst's (a pose error of 0.12-0.16 inter-ocular distances measured on
such pairs, most of it one offset over the whole clip), and dst's own features can show beside the
swap's. For each swapped face:

1. Face Mesh finds the swapped face's features (eyes, brows, nose, lips) in its aligned crop;
2. the similarity transform (shift, rotation, scale) that best moves them onto dst's same features
   in the same crop is fitted by least squares;
3. the face is moved by a share of that transform (``weight``), smoothed over the track's frames,
   inside dst's mask; the move is folded into the paste's matrix (one resampling, no softer face);
4. past its own outline the face's skin is spread outwards (:func:`extend_skin`): where the face
   moved away from the mask's edge, what the model drew beside the face (src's hair or background)
   showed as a dark patch at lp_s18's jaw. Cutting the paste to the moved face's outline instead hid
   the patch but left a seam and more flicker (README).

A similarity keeps the pasted face's own shape (its proportions, which the FR judges read); only
where it sits changes. A fit further than ``MAX_SHIFT`` / ``MAX_TURN`` / ``MAX_SCALE`` from none is
taken for a misfit and counts as no move (a face of a track eases back towards where it was
rendered, as after a frame where either mesh is not found).
"""

from __future__ import annotations

import cv2
import numpy as np

from swaplab.faces import mesh
from swaplab.generate.faceset import hull_mask

# The features that place a face (eyes and brows, nose ridge and tip, lips); not the face oval, which
# follows the crop and the mask rather than the face drawn inside it.
LEFT_BROW = (276, 283, 282, 295, 285, 300, 293, 334, 296, 336)
RIGHT_BROW = (46, 53, 52, 65, 55, 70, 63, 105, 66, 107)
NOSE = (168, 6, 197, 195, 5, 4, 1, 2, 98, 327)
FEATURES = tuple(sorted(set(mesh.LEFT_EYE + mesh.RIGHT_EYE + LEFT_BROW + RIGHT_BROW + NOSE + mesh.LIPS_OUTER)))
# Bounds of a believable fit, relative to the crop: a shift of 15 % of its width (38 px at 256 px; the
# pose offset of 0.16 inter-ocular distances on lp_s18 is about 10 px there), 12 degrees, 15 % in scale. Beyond them the mesh has most
# likely misread one of the two faces. The bound on the shift also keeps the moved crop's edge (black
# beyond it) well outside dst's mask.
MAX_SHIFT = 0.15
MAX_TURN = np.deg2rad(12.0)
MAX_SCALE = 0.15
# Weight of the previous frames' transform in a track's running transform (the mesh of a soft face
# wavers by a fraction of a pixel from frame to frame; the face should not).
SMOOTHING = 0.6
# The face's own outline pulled in by this share of the crop (8 px at 256 px; its edge softened over a
# third of that) before its skin is spread past it: the model draws the outline soft, half skin, half
# what lies beside the face. And the spread's sigma.
SKIN_INSET = 1 / 32
SKIN_SPREAD = 1 / 16


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(4,) [a, b, tx, ty]: the least-squares similarity x' = a x - b y + tx, y' = b x + a y + ty moving
    points ``source`` (N, 2) onto ``target`` (N, 2)."""
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    mean_s, mean_t = source.mean(0), target.mean(0)
    s, t = source - mean_s, target - mean_t
    norm = (s ** 2).sum()
    a = (s * t).sum() / norm
    b = (s[:, 0] * t[:, 1] - s[:, 1] * t[:, 0]).sum() / norm
    tx = mean_t[0] - (a * mean_s[0] - b * mean_s[1])
    ty = mean_t[1] - (b * mean_s[0] + a * mean_s[1])
    return np.array([a, b, tx, ty])


def as_matrix(params: np.ndarray) -> np.ndarray:
    """(2, 3) matrix of similarity parameters [a, b, tx, ty]."""
    a, b, tx, ty = params
    return np.array([[a, -b, tx], [b, a, ty]])


def centre_shift(params: np.ndarray, size: int) -> float:
    """How far (px) a similarity moves the centre of a crop of ``size`` px: what a viewer sees move."""
    centre = (size - 1) / 2
    return float(np.hypot(*(as_matrix(params) @ np.array([centre, centre, 1.0]) - centre)))


def believable(params: np.ndarray, size: int) -> bool:
    """Whether a similarity fit within a crop of ``size`` px stays within the misfit bounds."""
    a, b, _, _ = params
    scale, turn = np.hypot(a, b), np.arctan2(b, a)
    return bool(abs(scale - 1) <= MAX_SCALE and abs(turn) <= MAX_TURN and centre_shift(params, size) <= MAX_SHIFT * size)


IDENTITY = np.array([1.0, 0.0, 0.0, 0.0])


class FeatureFit:
    """Per swap: moves each swapped face onto dst's features and keeps each track's running transform."""

    def __init__(self, weight: float, face_mesh: mesh.FaceMesh) -> None:
        self.weight, self.mesh = weight, face_mesh
        self._running: dict[int, np.ndarray] = {}
        self.shifts: list[float] = []  # the centre shift applied to each face, in crop px at its size

    def transform(self, face: np.ndarray, dst_points: np.ndarray | None,
                  track: int = -1) -> tuple[np.ndarray, np.ndarray | None]:
        """(4,) similarity parameters to apply to a swapped (S, S, 3) float face in [0, 1], and the face's own
        Face Mesh (478, 2) (None: not found), given dst's Face Mesh (478, 2+) in the same crop's pixels
        (None: not found, no move)."""
        size = face.shape[0]
        found = self.mesh.crop_landmarks((np.clip(face, 0, 1) * 255).round().astype(np.uint8))
        params = IDENTITY
        if found is not None and dst_points is not None:
            fitted = similarity(found[list(FEATURES), :2], np.asarray(dst_points)[list(FEATURES), :2])
            if believable(fitted, size):
                params = IDENTITY + self.weight * (fitted - IDENTITY)
        previous = self._running.get(track) if track >= 0 else None
        if previous is not None:
            params = SMOOTHING * previous + (1 - SMOOTHING) * params
        if track >= 0:
            self._running[track] = params
        return params, None if found is None else found[:, :2]

    def apply(self, face: np.ndarray, dst_points: np.ndarray | None, matrix: np.ndarray,
              track: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """A swapped face moved onto dst's features: the face to paste and its frame->crop matrix.

        Parameters
        ----------
        face : (S, S, 3) float32 in [0, 1], the swapped face in dst's crop
        dst_points : (478, 2+) dst's Face Mesh in that crop's pixels (None: not found, no move)
        matrix : (2, 3) dst's frame->crop matrix at S, which the mask keeps
        track : the face's track id (its move is smoothed over the track's frames; -1: a face of its own)

        Returns
        -------
        ((S, S, 3) float32 face, its skin extended past its own outline (:func:`extend_skin`) where its
        mesh was found; (2, 3) frame->crop matrix with the move folded in, so the face is resampled once)
        """
        params, found = self.transform(face, dst_points, track)
        self.shifts.append(centre_shift(params, face.shape[0]))
        if found is not None:
            face = extend_skin(face, found[list(mesh.FACE_OVAL)])
        return face, moved_matrix(matrix, params)


def extend_skin(face: np.ndarray, oval: np.ndarray) -> np.ndarray:
    """The face inside its own outline, and beyond it a smooth spread of the skin along that outline.

    Parameters
    ----------
    face : (S, S, 3) float32 in [0, 1]
    oval : (K, 2) the face's own Face Mesh face oval, in its pixels

    Returns
    -------
    (S, S, 3) float32: ``face`` inside the oval pulled in by ``SKIN_INSET`` of S; outside it, the mean of
    the face's skin near each point (a normalised Gaussian of sigma ``SKIN_SPREAD`` of S), blended over a
    soft edge. What the model drew beside the face (src's hair and background) never reaches dst's mask
    when the face is moved (measured: without it, a dark patch at lp_s18's jaw).
    """
    size = face.shape[0]
    inside = hull_mask(oval, size, blur=False)
    inset = max(1, round(SKIN_INSET * size))
    inside = cv2.GaussianBlur(cv2.erode(inside, np.ones((2 * inset + 1,) * 2, np.uint8)), (0, 0), inset / 3)
    if inside.max() <= 0:
        return face
    sigma = SKIN_SPREAD * size
    spread = cv2.GaussianBlur(face * inside[..., None], (0, 0), sigma)
    weight = cv2.GaussianBlur(inside, (0, 0), sigma)[..., None]
    skin = spread / np.maximum(weight, 1e-3)
    return (face * inside[..., None] + skin * (1 - inside[..., None])).astype(np.float32)


def moved_matrix(matrix: np.ndarray, params: np.ndarray) -> np.ndarray:
    """(2, 3) frame->crop matrix of a crop's image moved within the crop by the similarity ``params``.

    A face moved by T shows at crop point x what it showed at T^-1 x, so its frame->crop matrix is
    T^-1 composed after ``matrix`` (2, 3).
    """
    back = np.vstack([cv2.invertAffineTransform(as_matrix(params)), [0.0, 0.0, 1.0]])
    return (back @ np.vstack([np.asarray(matrix, np.float64), [0.0, 0.0, 1.0]]))[:2]
