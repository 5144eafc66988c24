"""How small a face FaceNet can still tell apart: genuine and impostor distances against face width.

Usage: python benchmarks/identity_by_face_size.py [--media ../shared/media] [--frames 4]
                                                  [--widths 16 20 24 32 40 48 64 96]

Takes ``--frames`` frames spread over each real talking head of ``talking/`` (17 people, one video
each), finds the face (MTCNN), shrinks the whole frame so that the face box is W pixels wide
(area averaging, as a smaller face in a wider shot), cuts FaceNet's input from it as extraction
does and embeds it. Per width it prints the genuine (same video, different frames) and impostor
(different people) cosine distances, and the share of impostor pairs under the clustering
threshold: where that share rises, tracks of faces that small chain different people into one
identity cluster (``faces.clusters.MIN_IDENTITY_WIDTH``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

from swaplab.core.media import iter_frames, probe
from swaplab.faces.clusters import CLUSTER_DISTANCE, genuine_impostor
from swaplab.faces.detector import FaceDetector
from swaplab.faces.facenet import facenet, facenet_crop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "media")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--widths", type=int, nargs="*", default=[16, 20, 24, 32, 40, 48, 64, 96])
    args = parser.parse_args()
    torch.set_num_threads(2)
    detector, embedder = FaceDetector(device="cpu"), facenet(device="cpu")
    crops: dict[int, list[np.ndarray]] = {w: [] for w in [*args.widths, 0]}
    labels = []
    for video in sorted((args.media / "talking").glob("*.mp4")):
        info = probe(video)
        wanted = set(np.linspace(0, info.frame_count - 1, args.frames).astype(int).tolist())
        for frame in iter_frames(video, info):
            if frame.index not in wanted:
                continue
            faces = detector.detect(frame.image[None])[0]
            if not faces:
                continue
            box = max(faces, key=lambda det: det.area).box
            labels.append(video.stem)
            crops[0].append(facenet_crop(frame.image, box))
            for width in args.widths:
                scale = width / (box[2] - box[0])
                small = cv2.resize(frame.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                crops[width].append(facenet_crop(small, box * scale))
    print(f"{len(labels)} faces of {len(set(labels))} people; threshold {CLUSTER_DISTANCE}")
    print("| face width (px) | genuine median | genuine 95th pct | impostor 1st pct | impostor 5th pct | impostor pairs < threshold |")
    print("|---|---|---|---|---|---|")
    for width, faces in crops.items():
        impostor, genuine = genuine_impostor(embedder.embed(np.stack(faces)), labels)
        print(f"| {width or 'as filmed'} | {np.median(genuine):.3f} | {np.percentile(genuine, 95):.3f} | "
              f"{np.percentile(impostor, 1):.3f} | {np.percentile(impostor, 5):.3f} | "
              f"{np.mean(impostor < CLUSTER_DISTANCE):.1%} |")


if __name__ == "__main__":
    main()
