"""Swap quality, measured for every swapped video (``quality.json``).

identity     FaceNet cosine similarity of the swapped faces to src's template and to the
             original dst faces of the same frames (mean over frames): a good swap moves
             the face towards src
retrieval    share of swapped frames whose nearest enrolled identity (src or dst template)
             is src
pose         landmark error between the swapped frame (MTCNN again) and the original dst
             frame, divided by the inter-ocular distance: pose and expression preserved
flicker      mean absolute frame-to-frame change inside dst's face box (0-255 scale),
             swapped and original; their ratio
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from swaplab.datasets.manifest import FaceRecord, read_manifest
from swaplab.faces.backends import FR_BACKENDS, mean_template
from swaplab.faces.embed import embed_records, manifest_faces
from swaplab.core.fileio import write_json_atomic
from swaplab.faces.detector import FaceDetector
from swaplab.core.media import iter_frames


def identity_figures(fakes: Path, dst_faces: Path, src_faces: Path, device: str = "auto") -> dict[str, float]:
    """FaceNet similarity to src and dst, and the share of frames retrieved as src."""
    backend = FR_BACKENDS.get("facenet", device=device)
    fake_emb = embed_records(backend, manifest_faces(fakes), label="quality fakes")
    dst_emb = embed_records(backend, manifest_faces(dst_faces), label="quality dst")
    src_template = mean_template(embed_records(backend, manifest_faces(src_faces, step=3), label="quality src"))
    dst_template = mean_template(dst_emb)
    to_src, to_dst_template = fake_emb @ src_template, fake_emb @ dst_template
    return {"similarity_to_src": float(to_src.mean()),
            "similarity_to_dst": float(np.mean(np.sum(fake_emb * dst_emb, axis=1))),
            "similarity_dst_to_src": float((dst_emb @ src_template).mean()),
            "retrieval_src_share": float(np.mean(to_src > to_dst_template)), "frames": len(fake_emb)}


def pose_error(video: Path, dst_records: list[FaceRecord], device: str = "auto") -> float:
    """Mean landmark error / inter-ocular distance between swapped frames and dst's landmarks."""
    detector, errors = FaceDetector(device=device), []
    for frame in iter_frames(video):
        original = dst_records[frame.index]
        found = detector.detect(frame.image[None])[0] if original.has_face else []
        if not found:
            continue
        truth = original.landmarks_array
        nearest = min(found, key=lambda d: np.linalg.norm(d.landmarks - truth))
        inter_ocular = np.linalg.norm(truth[1] - truth[0])
        errors.append(np.linalg.norm(nearest.landmarks - truth, axis=1).mean() / inter_ocular)
    return float(np.mean(errors)) if errors else float("nan")


def _face_box_mask(record: FaceRecord, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    if record.has_face:
        x0, y0, x1, y1 = (int(round(v)) for v in record.bbox)
        mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = True
    return mask


def flicker(video: Path, original: Path, dst_records: list[FaceRecord]) -> dict[str, float]:
    """Mean |frame_t - frame_t-1| inside dst's face box (both frames), swapped vs original."""
    changes: dict[str, list[float]] = {"swapped": [], "original": []}
    previous: dict[str, np.ndarray] = {}
    for swapped, source in zip(iter_frames(video), iter_frames(original), strict=True):
        mask = _face_box_mask(dst_records[swapped.index], swapped.image.shape[:2])
        for name, frame in (("swapped", swapped.image), ("original", source.image)):
            current = frame.astype(np.float32)
            if name in previous and mask.any():
                changes[name].append(float(np.abs(current - previous[name])[mask].mean()))
            previous[name] = current
    swapped_mean, original_mean = (float(np.mean(v)) if v else float("nan") for v in changes.values())
    return {"flicker_swapped": swapped_mean, "flicker_original": original_mean,
            "flicker_ratio": swapped_mean / original_mean if original_mean else float("nan")}


def write_quality(out: Path, video: Path, dst: Path, src_faces: Path, device: str = "auto") -> Path:
    """Measure one swapped video and write ``quality.json`` beside it."""
    dst_faces = out / "dst_faces" / "faces.csv"
    figures = identity_figures(out / "fakes" / "faces.csv", dst_faces, src_faces, device)
    dst_records = read_manifest(dst_faces)
    figures["pose_error_iod"] = pose_error(video, dst_records, device)
    figures.update(flicker(video, dst, dst_records))
    target = out / "quality.json"
    write_json_atomic(target, figures)
    return target
