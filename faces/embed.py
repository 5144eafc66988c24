"""Embedding the faces of a manifest with an FR backend."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from swaplab.datasets.manifest import FaceRecord, check_relative_path, faces_only, read_manifest
from swaplab.faces.backends import AlignedFace, FRBackend
from swaplab.core.media import read_image
from swaplab.core.progress import track


def manifest_faces(manifest: Path, step: int = 1) -> list[tuple[FaceRecord, Path]]:
    """Every ``step``-th face row of a manifest, paired with the manifest (as embed_records takes them)."""
    return [(record, Path(manifest)) for record in faces_only(read_manifest(manifest))[::step]]


def embed_records(backend: FRBackend, records: Sequence[tuple[FaceRecord, Path]], chunk: int = 64,
                  label: str = "embed") -> np.ndarray:
    """Embed every (record, manifest path) face; returns (N, D) L2-normalised rows."""
    rows = []
    chunks = range(0, len(records), chunk)
    for start in track(chunks, f"{label} ({backend.name})", total=len(chunks)):
        inputs = [backend.prepare(AlignedFace.from_record(read_image(check_relative_path(rec.crop_path, manifest)), rec))
                  for rec, manifest in records[start:start + chunk]]
        rows.append(backend.embed(np.stack(inputs)))
    return np.concatenate(rows)
