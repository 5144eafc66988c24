"""Training faces held in memory as tensors, with target masks and eye/mouth weights.

Faces are decoded once from one or more manifests (their union), resized to the model's
resolution and kept as one uint8 tensor (N, 3, R, R); augmentation then works on tensors.

Masks come from dense landmarks: MediaPipe Face Mesh runs once per crop when a face set is
loaded (cached as ``.npy`` beside the model), the face mask is the convex hull of the mesh's
face oval, and the eye/mouth weight map fills the hulls of both eyes and the outer lips. So
the loss never rewards reproducing src's background. A crop where the mesh finds no face falls
back to the template ellipse and to ellipses on the 5 detector landmarks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import atomic_path
from swaplab.core.images import read_image
from swaplab.core.progress import track
from swaplab.datasets.manifest import FaceRecord, check_relative_path, faces_only, read_manifest
from swaplab.faces import align, mesh

MESH_POINTS = mesh.N_POINTS


@dataclass(frozen=True)
class FaceSet:
    """``faces`` (N, 3, R, R) uint8; ``landmarks`` (N, 5, 2) and ``dense`` (N, 478, 2) in crop pixels
    at R (``dense`` is NaN where the mesh found no face); ``face_type``; ``identity``."""

    faces: torch.Tensor
    landmarks: torch.Tensor
    face_type: str
    identity: str
    dense: torch.Tensor | None = None

    @property
    def resolution(self) -> int:
        return int(self.faces.shape[-1])


def as_manifests(manifests: Path | Sequence[Path]) -> tuple[Path, ...]:
    """One manifest or several, as a tuple of paths."""
    return (Path(manifests),) if isinstance(manifests, str | Path) else tuple(Path(m) for m in manifests)


def _records(manifests: tuple[Path, ...], max_faces: int | None) -> list[tuple[FaceRecord, Path]]:
    rows = [(record, manifest) for manifest in manifests for record in faces_only(read_manifest(manifest))]
    if not rows:
        raise SwaplabError(f"{', '.join(map(str, manifests))}: hold no faces to train on")
    types = {record.face_type for record, _ in rows}
    if len(types) > 1:
        raise SwaplabError(f"{', '.join(map(str, manifests))}: mix face types {sorted(types)}")
    if max_faces and len(rows) > max_faces:
        rows = [rows[i] for i in np.linspace(0, len(rows) - 1, max_faces).round().astype(int)]
    return rows


def faceset_key(rows: Sequence[tuple[FaceRecord, Path]], resolution: int) -> str:
    """A short hash naming a face set: its crops (manifest folder + crop path) and the resolution."""
    text = "\n".join(f"{manifest.resolve().parent}/{record.crop_path}" for record, manifest in rows)
    return hashlib.sha256(f"{resolution}\n{text}".encode()).hexdigest()[:12]


def load_faceset(manifests: Path | Sequence[Path], resolution: int, max_faces: int | None = None,
                 mesh_cache: Path | None = None) -> FaceSet:
    """Read the face crops of one or more manifests at ``resolution``; all must share one face type.

    ``mesh_cache``: a ``.npy`` path (``{key}`` in its name is replaced by :func:`faceset_key`)
    where dense landmarks are read from, or computed and written; None computes no dense landmarks.
    """
    rows = _records(as_manifests(manifests), max_faces)
    faces, points, crops = [], [], []
    for record, manifest in rows:
        crop = read_image(check_relative_path(record.crop_path, manifest))
        scale = resolution / crop.shape[0]
        faces.append(cv2.resize(crop, (resolution, resolution), interpolation=cv2.INTER_AREA))
        points.append(align.apply(record.matrix_array, record.landmarks_array) * scale)
        crops.append(crop if mesh_cache is not None else None)
    dense = None
    if mesh_cache is not None:
        target = Path(str(mesh_cache).replace("{key}", faceset_key(rows, resolution)))
        dense = torch.from_numpy(_dense_landmarks(crops, resolution, target))
    stacked = torch.from_numpy(np.stack(faces)).permute(0, 3, 1, 2).contiguous()
    identities = sorted({record.identity for record, _ in rows})
    return FaceSet(stacked, torch.tensor(np.stack(points), dtype=torch.float32), rows[0][0].face_type,
                   "+".join(identities), dense)


def _dense_landmarks(crops: list[np.ndarray], resolution: int, cache: Path) -> np.ndarray:
    """(N, 478, 2) float32 Face Mesh points at ``resolution`` (NaN where none), read from or written to ``cache``."""
    if cache.is_file():
        cached = np.load(cache, allow_pickle=False)
        if cached.shape == (len(crops), MESH_POINTS, 2):
            return cached.astype(np.float32)
    face_mesh, out = mesh.FaceMesh(), np.full((len(crops), MESH_POINTS, 2), np.nan, np.float32)
    try:
        for i, crop in enumerate(track(crops, "face mesh", len(crops))):
            found = face_mesh.crop_landmarks(crop)
            if found is not None:
                out[i] = found[:, :2] * (resolution / crop.shape[0])
    finally:
        face_mesh.close()
    cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache) as tmp, open(tmp, "wb") as handle:
        np.save(handle, out, allow_pickle=False)
    return out


def face_mask(resolution: int, face_type: str) -> np.ndarray:
    """Template mask (R, R) float32 in [0, 1]: a soft ellipse from brows to chin over the template."""
    points = align.template(resolution, face_type)
    eyes, mouth = points[:2].mean(axis=0), points[3:].mean(axis=0)
    gap = np.linalg.norm(points[1] - points[0])
    centre = (eyes + mouth) / 2 + np.array([0, 0.1 * gap])
    axes = (int(round(1.05 * gap)), int(round(1.45 * gap)))
    mask = np.zeros((resolution, resolution), np.float32)
    cv2.ellipse(mask, tuple(int(round(v)) for v in centre), axes, 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), max(1.0, resolution / 64))


def hull_mask(points: np.ndarray, resolution: int, blur: bool = True) -> np.ndarray:
    """(R, R) float32 in [0, 1]: the filled convex hull of ``points`` (K, 2), softened by R/64 px."""
    mask = np.zeros((resolution, resolution), np.float32)
    hull = cv2.convexHull(np.round(np.asarray(points, np.float64)[:, :2] * 16).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1.0, lineType=cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(mask, (0, 0), max(1.0, resolution / 64)) if blur else mask


def mesh_face_mask(dense: np.ndarray, resolution: int) -> np.ndarray:
    """(R, R) float32: the hull of the Face Mesh face oval of one crop (478, 2)."""
    return hull_mask(dense[list(mesh.FACE_OVAL)], resolution)


def opening_mask(dense: np.ndarray, rings: Sequence[Sequence[int]], resolution: int,
                 soften: float | None = None) -> np.ndarray:
    """(R, R) float32 in [0, 1]: the insides of closed mesh contours ``rings`` (indices into one crop's Face Mesh
    (478, 2)), softened by a Gaussian of sigma ``soften`` px (None: like :func:`hull_mask`, R/64 px and at least 1)."""
    mask = np.zeros((resolution, resolution), np.float32)
    points = np.asarray(dense, np.float64)
    shapes = [np.round(points[list(ring), :2] * 16).astype(np.int32) for ring in rings]
    if shapes:
        cv2.fillPoly(mask, shapes, 1.0, lineType=cv2.LINE_AA, shift=4)
    sigma = max(1.0, resolution / 64) if soften is None else soften
    return cv2.GaussianBlur(mask, (0, 0), sigma) if sigma > 0 else mask


def mouth_interior_mask(dense: np.ndarray, resolution: int, soften: float | None = None) -> np.ndarray:
    """(R, R) float32 in [0, 1]: the mouth opening inside the inner lip line of one crop's Face Mesh (478, 2)
    (:func:`opening_mask`; nothing but the outline's anti-aliased line for a closed mouth)."""
    return opening_mask(dense, (mesh.LIPS_INNER,), resolution, soften)


def grown(mask: np.ndarray, grow: float) -> np.ndarray:
    """An (R, R) float32 mask in [0, 1] with its inside (>= 0.5) grown outwards by ``grow`` px, anti-aliased so a
    fraction of a pixel still counts: an outside pixel whose centre lies ``d`` px from the nearest inside pixel's
    centre lies ``d - 1/2`` px past the edge and is covered by ``grow - (d - 1/2) + 1/2``, clipped to [0, 1]."""
    if grow <= 0:
        return mask
    outside = (mask < 0.5).astype(np.uint8)
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.maximum(mask, np.clip(grow + 1 - distance, 0.0, 1.0)).astype(np.float32)


def closed_lips_mask(dense: np.ndarray, resolution: int, grow: float, soften: float) -> np.ndarray:
    """(R, R) float32 in [0, 1]: the lips of a closed mouth, inside the outer lip line of one crop's Face Mesh
    (478, 2), grown by ``grow`` px and softened by a Gaussian of sigma ``soften`` px, at the weight
    :func:`mesh.mouth_closure` gives that mouth (all 0 for an open one)."""
    weight = mesh.mouth_closure(dense)
    if weight == 0:
        return np.zeros((resolution, resolution), np.float32)
    lips = grown(opening_mask(dense, (mesh.LIPS_OUTER,), resolution, 0), grow)
    lips = cv2.GaussianBlur(lips, (0, 0), soften) if soften > 0 else lips
    return weight * lips


# An eye counts as open where its lid margins enclose at least this share of the square of its width
# (``mesh.eye_fills``; the measured fills are beside the constant).
EYE_MIN_FILL = mesh.EYE_OPEN_FILL
# A shut or narrowed eye is kept whole, with its lids (:func:`shut_eyes_mask`), up to a fill of EYE_MIN_FILL, and not
# from EYE_LIDS_KEPT_UNTIL on, in proportion between. The models draw src's open eye there. With a ramp from 0.03 to
# 0.08 instead, the eyes narrowed in a laugh (pexels_wolfgang_langer frame 288, fill about 0.05) showed the model's
# open eye and dst's lashes at once, a double exposure; open eyes fill 0.13 or more on lp_s18, lp_d12 and lp_d20
# in all but 5 % of frames.
EYE_LIDS_KEPT_UNTIL = 0.12


def eye_openings_mask(dense: np.ndarray, resolution: int, soften: float | None = None) -> np.ndarray:
    """(R, R) float32 in [0, 1]: the openings of both eyes that are open (``EYE_MIN_FILL``), inside the lid
    margins of one crop's Face Mesh (478, 2) (:func:`opening_mask`); all 0 for shut eyes."""
    # a shut eye's ring is left out: filled, its anti-aliased outline alone would leave a line of its lid margin
    fills = mesh.eye_fills(dense)
    rings = [ring for ring, fill in zip((mesh.RIGHT_EYE, mesh.LEFT_EYE), fills, strict=True) if fill >= EYE_MIN_FILL]
    return opening_mask(dense, rings, resolution, soften)


def shut_eye_weights(dense: np.ndarray) -> np.ndarray:
    """(2,) how much of the right and the left eye of one crop's Face Mesh (478, 2) to keep with its lids: 1 at a
    fill (``mesh.eye_fills``) up to ``EYE_MIN_FILL``, 0 from ``EYE_LIDS_KEPT_UNTIL`` on, linear between (so the
    weight eases in as a lid closes)."""
    fills = mesh.eye_fills(dense)
    return np.clip((EYE_LIDS_KEPT_UNTIL - fills) / (EYE_LIDS_KEPT_UNTIL - EYE_MIN_FILL), 0.0, 1.0)


def shut_eyes_mask(dense: np.ndarray, resolution: int, grow: float, soften: float) -> np.ndarray:
    """(R, R) float32 in [0, 1]: the shut and narrowed eyes of one crop's Face Mesh (478, 2): each eye's lid
    margins (their hull, at least a line) grown by ``grow`` px and softened by a Gaussian of sigma ``soften`` px,
    at the weight :func:`shut_eye_weights` gives that eye (all 0 for open eyes)."""
    mask = np.zeros((resolution, resolution), np.float32)
    for ring, weight in zip((mesh.RIGHT_EYE, mesh.LEFT_EYE), shut_eye_weights(dense), strict=True):
        if not weight > 0:  # open, or no mesh (NaN)
            continue
        outline = np.round(np.asarray(dense, np.float64)[list(ring), :2]).astype(np.int32)
        eye = np.zeros((resolution, resolution), np.float32)
        cv2.fillConvexPoly(eye, cv2.convexHull(outline), 1.0)
        cv2.polylines(eye, [outline], True, 1.0)  # a shut eye's hull is a sliver: its line at least
        eye = grown(eye, grow)
        eye = cv2.GaussianBlur(eye, (0, 0), soften) if soften > 0 else eye
        mask = np.maximum(mask, weight * eye)
    return mask


def target_masks(faceset: FaceSet) -> torch.Tensor:
    """(N, 1, R, R) float training masks: the mesh face-oval hull, the template ellipse where no mesh."""
    resolution = faceset.resolution
    fallback = face_mask(resolution, faceset.face_type)
    if faceset.dense is None:
        return torch.from_numpy(fallback)[None, None].expand(len(faceset.faces), -1, -1, -1).clone()
    masks = [fallback if torch.isnan(points).any() else mesh_face_mask(points.numpy(), resolution)
             for points in faceset.dense]
    return torch.from_numpy(np.stack(masks))[:, None]


def eyes_mouth_weights(landmarks: torch.Tensor, resolution: int) -> torch.Tensor:
    """(N, 1, R, R) float from 5 landmarks (N, 5, 2): 1 on ellipses over both eyes and the mouth, 0 elsewhere."""
    ys, xs = torch.meshgrid(torch.arange(resolution, dtype=torch.float32),
                            torch.arange(resolution, dtype=torch.float32), indexing="ij")
    gap = (landmarks[:, 1] - landmarks[:, 0]).norm(dim=1).view(-1, 1, 1)
    weight = torch.zeros(len(landmarks), resolution, resolution)
    mouth = landmarks[:, 3:].mean(dim=1)
    for centre, rx, ry in ((landmarks[:, 0], 0.28, 0.18), (landmarks[:, 1], 0.28, 0.18), (mouth, 0.45, 0.22)):
        dx, dy = xs - centre[:, 0].view(-1, 1, 1), ys - centre[:, 1].view(-1, 1, 1)
        inside = (dx / (rx * gap)) ** 2 + (dy / (ry * gap)) ** 2
        weight = torch.maximum(weight, (inside <= 1).float())
    return weight[:, None]


def mesh_eyes_mouth(dense: np.ndarray, resolution: int) -> np.ndarray:
    """(R, R) float32 in {0, 1}: hulls of both eyes and the outer lips of one crop (478, 2), grown by R/32 px."""
    weight = np.zeros((resolution, resolution), np.float32)
    for part in (mesh.LEFT_EYE, mesh.RIGHT_EYE, mesh.LIPS_OUTER):
        weight = np.maximum(weight, hull_mask(dense[list(part)], resolution, blur=False))
    grow = max(1, resolution // 32)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2)
    return (cv2.dilate(weight, kernel) > 0.5).astype(np.float32)


def focus_weights(faceset: FaceSet) -> torch.Tensor:
    """(N, 1, R, R) eye/mouth weights: from the mesh, else from the 5 landmarks."""
    coarse = eyes_mouth_weights(faceset.landmarks, faceset.resolution)
    if faceset.dense is None:
        return coarse
    for i, points in enumerate(faceset.dense):
        if not torch.isnan(points).any():
            coarse[i, 0] = torch.from_numpy(mesh_eyes_mouth(points.numpy(), faceset.resolution))
    return coarse
