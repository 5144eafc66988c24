"""Cross-dataset test: detectors trained on the study's fakes, scored on third-party deepfakes.

The test set is a video index in the ``faceforensics``, ``celebdf`` or ``deepfaketimit`` layout
(``swaplab datasets index``). Each of its videos is extracted once with the study's extraction
settings (crop size and face type of the detector's training faces); every detector trained by
``study run`` scores every ``frame_step``-th face. Threshold-free figures (AUC, EER) and BPCER at
APCER = 10 %, per detector and training tier, at frame and video (mean score) level, condition
``cross-dataset``. Writes ``crossdata/scores.csv``, ``metrics.csv`` and ``metrics.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from swaplab.core import metrics
from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import write_json_atomic, write_text_atomic
from swaplab.core.media import read_image
from swaplab.datasets.manifest import check_relative_path, faces_only, read_manifest, write_manifest
from swaplab.datasets.outputs import ExtractOutput
from swaplab.datasets.video_index import VideoRecord, read_index
from swaplab.detect.base import load_detector, load_preprocessing
from swaplab.faces import extract

THIRD_PARTY = ("faceforensics", "celebdf", "deepfaketimit")


@dataclass(frozen=True)
class ThirdPartySet:
    """Extracted faces of a third-party index: one manifest per video, real and fake rows labelled;
    ``skipped``: videos in which no face was found (left out, counted)."""

    manifests: tuple[Path, ...]
    name: str
    skipped: tuple[str, ...] = ()


def _folder_name(record: VideoRecord) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", record.path)


def extract_test_set(index: Path, out: Path, crop_size: int, face_type: str, device: str) -> ThirdPartySet:
    """Extract every video of the index (skipped when done); fake rows relabelled ``fake``."""
    root, records = read_index(index)
    if not {r.label for r in records} >= {"real", "fake"}:
        raise SwaplabError(f"{index}: a cross-dataset test needs real and fake videos")
    manifests, skipped = [], []
    for record in records:
        faces = ExtractOutput(Path(out) / "faces" / _folder_name(record))
        if not faces.manifest.exists():
            try:
                extract.run(extract.ExtractConfig(inputs=(root / record.path,), out=faces.folder,
                                                  identity=record.identity, crop_size=crop_size, face_type=face_type,
                                                  device=device, min_face_score=0.0))  # fakes' unclear faces too
            except SwaplabError:
                skipped.append(record.path)
                continue
            if record.label == "fake":
                rows = [replace(r, label="fake", source_identity=record.source_identity,
                                generator_run=record.method or "third-party") for r in read_manifest(faces.manifest)]
                write_manifest(rows, faces.manifest)
        manifests.append(faces.manifest)
    return ThirdPartySet(tuple(manifests), Path(index).stem, tuple(skipped))


def face_table(test: ThirdPartySet, step: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Faces (N, S, S, 3) and their rows (video, frame, label 1 = fake)."""
    images, rows = [], []
    for manifest in test.manifests:
        for record in faces_only(read_manifest(manifest))[::step]:
            images.append(read_image(check_relative_path(record.crop_path, manifest)))
            rows.append((f"{manifest.parent.name}/{record.video_id}", record.frame_index, int(record.label == "fake")))
    if not images:
        raise SwaplabError(f"{test.name}: no faces found in the test set")
    return np.stack(images), pd.DataFrame(rows, columns=["video", "frame", "label"])


def figures(scores: pd.DataFrame) -> dict[str, float]:
    """AUC, EER and BPCER at APCER = 10 % of one score table (label 1 = fake)."""
    fake, real = scores.score[scores.label == 1].to_numpy(), scores.score[scores.label == 0].to_numpy()
    return {"auc": metrics.auc(real, fake), "eer": metrics.detection_eer(fake, real)[0],
            "bpcer_apcer10%": metrics.bpcer_at_apcer(fake, real, 0.10)[0],
            "n_real": int(real.size), "n_fake": int(fake.size)}


def score_detectors(detectors: dict[str, Path], test: ThirdPartySet, out: Path, step: int = 2) -> Path:
    """Score the test set with each detector (``name-tier`` -> saved detector folder); write and
    return ``metrics.csv``."""
    images, rows = face_table(test, step)
    tables, results = [], []
    for name, folder in sorted(detectors.items()):
        scores = rows.assign(detector=name, score=load_detector(folder).score(images))
        tables.append(scores)
        videos = scores.groupby("video", as_index=False).agg(label=("label", "first"), score=("score", "mean"))
        for level, table in (("frame", scores), ("video", videos)):
            results.append({"detector": name, "test_set": test.name, "level": level,
                            "condition": "cross-dataset", **figures(table), "videos_without_face": len(test.skipped)})
    write_text_atomic(Path(out) / "scores.csv", pd.concat(tables).to_csv(index=False))
    write_json_atomic(Path(out) / "metrics.json", results)
    target = Path(out) / "metrics.csv"
    write_text_atomic(target, pd.DataFrame(results).to_csv(index=False))
    return target


def run(index: Path, detectors: dict[str, Path], out: Path, device: str = "auto") -> Path:
    """Extract the third-party set with the detectors' crop settings and score it."""
    if not detectors:
        raise SwaplabError("no trained detector to test on the third-party set")
    settings = {(p.crop_size, p.face_type) for p in map(load_preprocessing, detectors.values())}
    if len(settings) > 1:
        raise SwaplabError(f"detectors trained on different crops {sorted(settings)}")
    crop_size, face_type = settings.pop()
    return score_detectors(detectors, extract_test_set(index, out, crop_size, face_type, device), out)
