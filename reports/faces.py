"""Extraction figures and tables: what the face manifests hold."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from swaplab.datasets.manifest import FaceRecord, check_relative_path  # noqa: E402
from swaplab.core.media import read_image  # noqa: E402


def extraction_table(records: Sequence[FaceRecord]) -> pd.DataFrame:
    """One row per video: identity, frames, frames with a face, rule, mean detector score."""
    frame = pd.DataFrame({
        "identity": [r.identity for r in records],
        "video_id": [r.video_id for r in records],
        "has_face": [r.has_face for r in records],
        "det_score": [r.det_score if r.has_face else np.nan for r in records],
        "selection": [r.selection for r in records],
    })
    grouped = frame.groupby(["identity", "video_id"], sort=True)
    return grouped.agg(frames=("has_face", "size"), faces=("has_face", "sum"),
                       selection=("selection", "first"), mean_det_score=("det_score", "mean")).reset_index()


def contact_sheet(records: Sequence[FaceRecord], manifest: Path, per_video: int = 6) -> plt.Figure:
    """A grid of crops: one row per video, ``per_video`` evenly spaced faces."""
    by_video: dict[str, list[FaceRecord]] = {}
    for record in records:
        if record.has_face:
            by_video.setdefault(record.video_id, []).append(record)
    rows = max(1, len(by_video))
    fig, axes = plt.subplots(rows, per_video, figsize=(1.6 * per_video, 1.8 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for row, (video, faces) in enumerate(sorted(by_video.items())):
        picks = np.linspace(0, len(faces) - 1, min(per_video, len(faces))).round().astype(int)
        for col, index in enumerate(picks):
            face = faces[index]
            axes[row, col].imshow(read_image(check_relative_path(face.crop_path, manifest)))
            axes[row, col].set_title(f"{video} #{face.frame_index}", fontsize=6)
    fig.tight_layout()
    return fig
