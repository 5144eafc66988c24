"""Training faces held in memory as tensors, with target masks and eye/mouth weights.

Faces are decoded once from a manifest, resized to the model's resolution
and kept as one uint8 tensor (N, 3, R, R); augmentation then works on
tensors. With only 5 landmarks, the target face mask is an ellipse over the
template's eyes-to-chin region (every aligned face shares the template), and
the eye/mouth weight map is three small ellipses on the landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from swaplab.datasets.manifest import check_relative_path, faces_only, read_manifest
from swaplab.core.errors import SwaplabError
from swaplab.faces import align
from swaplab.core.media import read_image


@dataclass(frozen=True)
class FaceSet:
    """``faces`` (N, 3, R, R) uint8; ``landmarks`` (N, 5, 2) in crop pixels at R; ``face_type``."""

    faces: torch.Tensor
    landmarks: torch.Tensor
    face_type: str
    identity: str

    @property
    def resolution(self) -> int:
        return int(self.faces.shape[-1])


def load_faceset(manifest: Path, resolution: int, max_faces: int | None = None) -> FaceSet:
    """Read a manifest's face crops at ``resolution``; every crop must share one face type."""
    records = faces_only(read_manifest(manifest))
    if not records:
        raise SwaplabError(f"{manifest}: holds no faces to train on")
    types = {r.face_type for r in records}
    if len(types) > 1:
        raise SwaplabError(f"{manifest}: mixes face types {sorted(types)}")
    if max_faces and len(records) > max_faces:
        records = [records[i] for i in np.linspace(0, len(records) - 1, max_faces).round().astype(int)]
    faces, points = [], []
    for record in records:
        crop = read_image(check_relative_path(record.crop_path, manifest))
        scale = resolution / crop.shape[0]
        faces.append(cv2.resize(crop, (resolution, resolution), interpolation=cv2.INTER_AREA))
        points.append(align.apply(record.matrix_array, record.landmarks_array) * scale)
    stacked = torch.from_numpy(np.stack(faces)).permute(0, 3, 1, 2).contiguous()
    identities = sorted({r.identity for r in records})
    return FaceSet(stacked, torch.tensor(np.stack(points), dtype=torch.float32), types.pop(), "+".join(identities))


def face_mask(resolution: int, face_type: str) -> np.ndarray:
    """Target mask (R, R) float32 in [0, 1]: a soft ellipse from brows to chin over the template."""
    points = align.template(resolution, face_type)
    eyes, mouth = points[:2].mean(axis=0), points[3:].mean(axis=0)
    gap = np.linalg.norm(points[1] - points[0])
    centre = (eyes + mouth) / 2 + np.array([0, 0.1 * gap])
    axes = (int(round(1.05 * gap)), int(round(1.45 * gap)))
    mask = np.zeros((resolution, resolution), np.float32)
    cv2.ellipse(mask, tuple(int(round(v)) for v in centre), axes, 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), max(1.0, resolution / 64))


def eyes_mouth_weights(landmarks: torch.Tensor, resolution: int) -> torch.Tensor:
    """(N, 1, R, R) float: 1 on both eyes and the mouth, 0 elsewhere."""
    ys, xs = torch.meshgrid(torch.arange(resolution, dtype=torch.float32),
                            torch.arange(resolution, dtype=torch.float32), indexing="ij")
    gap = (landmarks[:, 1] - landmarks[:, 0]).norm(dim=1).view(-1, 1, 1)
    weight = torch.zeros(len(landmarks), resolution, resolution)
    mouth = landmarks[:, 3:].mean(dim=1)
    for centre, rx, ry in ((landmarks[:, 0], 0.28, 0.18), (landmarks[:, 1], 0.28, 0.18), (mouth, 0.45, 0.22)):
        inside = ((xs - centre[:, 0].view(-1, 1, 1)) / (rx * gap)) ** 2 + ((ys - centre[:, 1].view(-1, 1, 1)) / (ry * gap)) ** 2
        weight = torch.maximum(weight, (inside <= 1).float())
    return weight[:, None]
