"""The face-recognition backend plug-in point: a Protocol and its registry."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from swaplab.registry import Registry


class FRBackend(Protocol):
    """Embeds face crops; scores are cosine similarities (higher = more genuine)."""

    name: str
    input_size: int

    def embed(self, faces: np.ndarray) -> np.ndarray:
        """Embed RGB uint8 crops (N, S, S, 3) as L2-normalised float32 rows (N, D)."""
        ...


FR_BACKENDS: Registry[FRBackend] = Registry("FR backend")


def cosine_scores(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (N, D) embedding sets, shape (N,)."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)
