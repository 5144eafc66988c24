"""The face-recognition backend plug-in point: a Protocol and its registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from swaplab.datasets.manifest import FaceRecord
from swaplab.core.registry import Registry
from swaplab.faces.preprocessing import Preprocessing


@dataclass(frozen=True)
class AlignedFace:
    """An aligned crop and what is needed to re-cut it.

    ``crop`` (S, S, 3) uint8 RGB; ``matrix`` (2, 3) frame->crop; ``bbox`` (4,)
    the detector box in frame pixels; ``face_type`` as in :mod:`swaplab.faces.align`.
    """

    crop: np.ndarray
    matrix: np.ndarray
    bbox: np.ndarray
    face_type: str

    @classmethod
    def from_record(cls, crop: np.ndarray, record: FaceRecord) -> AlignedFace:
        return cls(crop, record.matrix_array, np.asarray(record.bbox), record.face_type)


class FRBackend(Protocol):
    """Embeds faces; scores are cosine similarities of embeddings (higher = more genuine).

    Every builder takes keyword-only settings and at least ``device`` (``FR_BACKENDS.get(name,
    device="cpu")`` works for all; CPU-only backends ignore it). ``preprocessing`` says how the
    backend cuts and normalises its input; ``licence`` names the licences of its code and weights.
    """

    name: str
    licence: str

    @property
    def preprocessing(self) -> Preprocessing:
        """The backend's input crop (:class:`swaplab.faces.preprocessing.Preprocessing`)."""
        ...

    def prepare(self, face: AlignedFace) -> np.ndarray:
        """Turn an aligned face into this backend's input."""
        ...

    def embed(self, inputs: np.ndarray) -> np.ndarray:
        """Embed a batch of prepared inputs (N, ...) as L2-normalised float32 rows (N, D)."""
        ...


FR_BACKENDS: Registry[FRBackend] = Registry("FR backend")


def l2_normalise(rows: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm, float32."""
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def mean_template(embeddings: np.ndarray) -> np.ndarray:
    """A template from embeddings (N, D): their L2-normalised mean, (D,)."""
    return l2_normalise(np.asarray(embeddings).mean(axis=0, keepdims=True))[0]
