"""``swaplab detect score --model DIR VIDEO``: one video's fake score, end to end."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from swaplab.datasets.manifest import check_relative_path, faces_only, read_manifest
from swaplab.detect.base import load_detector, load_preprocessing
from swaplab.detect.protocol import AGGREGATIONS
from swaplab.core.errors import SwaplabError
from swaplab.faces import extract
from swaplab.core.media import read_image


@dataclass(frozen=True)
class ScoreConfig:
    """Settings of ``swaplab detect score``: a trained detector folder and a video."""

    model: Path
    video: Path
    aggregation: str = "mean"
    device: str = "auto"


def run(config: ScoreConfig) -> float:
    """Extract the video's faces, score each, aggregate; higher = more likely fake."""
    if config.aggregation not in AGGREGATIONS:
        raise SwaplabError(f"aggregation {config.aggregation!r}: choose one of {AGGREGATIONS}")
    detector = load_detector(Path(config.model))
    preprocessing = load_preprocessing(Path(config.model))  # the training faces' crop, from detector.json
    with tempfile.TemporaryDirectory(prefix="swaplab-score-") as work:
        manifest = extract.run(extract.ExtractConfig(inputs=(Path(config.video),), out=Path(work),
                                                     crop_size=preprocessing.crop_size,
                                                     face_type=preprocessing.face_type, device=config.device,
                                                     min_face_score=0.0))  # a fake's unclear face is scored too
        records = faces_only(read_manifest(manifest))
        faces = np.stack([read_image(check_relative_path(r.crop_path, manifest)) for r in records])
    scores = detector.score(faces)
    return float(getattr(np, config.aggregation)(scores))
