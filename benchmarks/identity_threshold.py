"""Measure the identity-clustering threshold: genuine vs impostor FaceNet cosine distances on real media.

Usage: python benchmarks/identity_threshold.py [--media ../shared/media] [--segments 4]

Two sets, as ``faces/clusters.py`` uses embeddings:

photos   ``photos/meds_*`` (7 people, 5-11 photos each, years apart; recognition only): one embedding
         per photo (largest face).
talking  ``talking/*.mp4`` (17 people, one video each): each video cut into ``--segments`` equal
         segments, one "track" embedding per segment = mean of 3 frames' largest faces (as a track's
         embedding is the mean of its best faces). Genuine = two segments of one video.

Prints, per set, the genuine and impostor distance ranges and percentiles, and for a few thresholds
the share of genuine pairs split apart (FNMR) and impostor pairs merged (FMR).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from swaplab.core.media import image_files, iter_frames, probe, read_image
from swaplab.faces.backends import FR_BACKENDS, mean_template
from swaplab.faces.clusters import genuine_impostor
from swaplab.faces.detector import FaceDetector
from swaplab.faces.facenet import facenet_crop


def largest_embedding(detector: FaceDetector, embedder, images: list[np.ndarray]) -> np.ndarray | None:
    crops = []
    for image in images:
        faces = detector.detect(image[None])[0]
        if faces:
            crops.append(facenet_crop(image, max(faces, key=lambda d: d.area).box))
    return mean_template(embedder.embed(np.stack(crops))) if crops else None


def photo_set(media: Path, detector: FaceDetector, embedder) -> tuple[np.ndarray, list[str]]:
    rows, labels = [], []
    for person in sorted((media / "photos").iterdir()):
        for path in image_files(person):
            emb = largest_embedding(detector, embedder, [read_image(path)])
            if emb is not None:
                rows.append(emb)
                labels.append(person.name)
    return np.stack(rows), labels


def talking_set(media: Path, detector: FaceDetector, embedder, segments: int) -> tuple[np.ndarray, list[str]]:
    rows, labels = [], []
    for video in sorted((media / "talking").glob("*.mp4")):
        info = probe(video)
        count = max(info.frame_count, 1)
        wanted = {int(count * (s + 0.5) / segments) + d: s for s in range(segments) for d in (-6, 0, 6)}
        frames: dict[int, list[np.ndarray]] = {}
        for frame in iter_frames(video, info):
            if frame.index in wanted:
                frames.setdefault(wanted[frame.index], []).append(frame.image)
        for images in frames.values():
            emb = largest_embedding(detector, embedder, images)
            if emb is not None:
                rows.append(emb)
                labels.append(video.stem)
    return np.stack(rows), labels


def report(name: str, embeddings: np.ndarray, labels: list[str]) -> None:
    impostor, genuine = genuine_impostor(embeddings, labels)
    pct = (1, 5, 50, 95, 99)
    print(f"## {name}: {len(labels)} embeddings of {len(set(labels))} people; "
          f"{len(genuine)} genuine, {len(impostor)} impostor pairs")
    print(f"genuine  min {genuine.min():.3f} pct{pct} {np.round(np.percentile(genuine, pct), 3)} max {genuine.max():.3f}")
    print(f"impostor min {impostor.min():.3f} pct{pct} {np.round(np.percentile(impostor, pct), 3)} max {impostor.max():.3f}")
    print("| threshold | genuine split (FNMR) | impostor merged (FMR) |\n|---|---|---|")
    for threshold in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        print(f"| {threshold:.2f} | {np.mean(genuine > threshold):.3f} | {np.mean(impostor <= threshold):.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "media")
    parser.add_argument("--segments", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    detector, embedder = FaceDetector(device="cpu"), FR_BACKENDS.get("facenet", device="cpu")
    report("photos (MEDS, one embedding per photo)", *photo_set(args.media, detector, embedder))
    report(f"talking (17 videos, {args.segments} segment-track embeddings each)",
           *talking_set(args.media, detector, embedder, args.segments))


if __name__ == "__main__":
    main()
