"""``swaplab evaluate verify A B``: are these two images/videos the same person?"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from swaplab.core.errors import SwaplabError
from swaplab.faces.backends import FR_BACKENDS, AlignedFace, FRBackend, mean_template
from swaplab.faces import align
from swaplab.faces.detector import FaceDetector
from swaplab.core.media import iter_frames, probe

CROP_SIZE = 256
FACE_TYPE = "whole_face"


@dataclass(frozen=True)
class VerifyConfig:
    """Settings of ``swaplab evaluate verify``: two media files and the FR backend.

    Videos contribute up to ``max_frames`` evenly spaced frames; their mean
    embedding represents the video.
    """

    first: Path
    second: Path
    backend: str = "facenet"
    max_frames: int = 16
    device: str = "auto"


def aligned_faces(path: Path, detector: FaceDetector, max_frames: int) -> list[AlignedFace]:
    """The largest face of up to ``max_frames`` evenly spaced frames, aligned."""
    info = probe(path)
    step = max(1, info.frame_count // max_frames)
    faces = []
    for frame in iter_frames(path, info):
        if frame.index % step:
            continue
        found = detector.detect(frame.image[None])[0]
        if found:
            det = max(found, key=lambda d: d.area)
            matrix = align.alignment_matrix(det.landmarks, CROP_SIZE, FACE_TYPE)
            faces.append(AlignedFace(align.crop(frame.image, matrix, CROP_SIZE), matrix, det.box, FACE_TYPE))
    if not faces:
        raise SwaplabError(f"{path}: no face found")
    return faces


def media_embedding(path: Path, backend: FRBackend, detector: FaceDetector, max_frames: int) -> np.ndarray:
    """One L2-normalised embedding (D,) for an image or a video (mean over its faces)."""
    faces = aligned_faces(path, detector, max_frames)
    rows = backend.embed(np.stack([backend.prepare(face) for face in faces]))
    return mean_template(rows)


def run(config: VerifyConfig) -> float:
    """Cosine similarity of the two sides' faces (higher = more likely the same person)."""
    backend = FR_BACKENDS.get(config.backend, device=config.device)
    detector = FaceDetector(device=config.device)
    first = media_embedding(config.first, backend, detector, config.max_frames)
    second = media_embedding(config.second, backend, detector, config.max_frames)
    return float(first @ second)
