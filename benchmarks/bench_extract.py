"""Extraction speed and landmark accuracy on a 640x360 clip with 2 CPU threads.

Usage: python benchmarks/bench_extract.py [--seconds 6] [--strides 1 2 4 6]

For each detection stride k (full MTCNN every k-th frame, ONet tracking
between), reports frames/s of the whole extraction (decode, detect, track,
align, crop, write PNG; model loading excluded) and the mean landmark error
against ground truth: the sample's known head motion carried through the
still's landmarks.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from swaplab.datasets import sample
from swaplab.datasets.manifest import read_manifest
from swaplab.faces.detector import FaceDetector
from swaplab.faces.extract import ExtractConfig, Extractor
from swaplab.datasets.manifest import write_manifest


def ground_truth(portrait_index: int, seed: int, frames: int, fps: int) -> np.ndarray:
    portrait = sample.PORTRAITS[portrait_index]
    still_lm = max(FaceDetector().detect(portrait.load()[None])[0], key=lambda d: d.area).landmarks
    motion = sample.Motion.draw(np.random.default_rng(seed))
    return np.stack([cv2.perspectiveTransform(still_lm[None], sample.frame_homography(
        portrait, motion, t / fps, (640, 360)))[0] for t in range(frames)])


def raw_mtcnn_fps(clip: Path) -> float:
    """Baseline: facenet-pytorch MTCNN with its default settings, batches of 8, detection only."""
    from facenet_pytorch import MTCNN

    from swaplab.core.media import iter_frames

    frames = np.stack([f.image for f in iter_frames(clip)])
    mtcnn = MTCNN(keep_all=True, device="cpu")
    start = time.perf_counter()
    for i in range(0, len(frames), 8):
        mtcnn.detect(frames[i:i + 8], landmarks=True)
    return len(frames) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--strides", type=int, nargs="+", default=[1, 2, 4, 6])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="swaplab-bench-"))
    sample.run(sample.SampleConfig(out=work / "sample", clips=1, seconds=args.seconds))
    print(f"torch threads: {torch.get_num_threads()}; clip: {args.seconds:.0f} s, 640x360, 25 fps")
    print("| identity | stride k | frames/s | landmark error px (mean) | error / inter-ocular |")
    print("|---|---|---|---|---|")
    for index, portrait in enumerate(sample.PORTRAITS):
        clip = work / "sample" / portrait.name / f"{portrait.name}_00.mp4"
        truth = ground_truth(index, index * 100, int(args.seconds * 25), 25)
        print(f"| {portrait.name} | raw MTCNN, defaults, every frame, detection only | "
              f"{raw_mtcnn_fps(clip):.1f} | | |")
        iod = np.linalg.norm(truth[:, 0] - truth[:, 1], axis=1).mean()
        for stride in args.strides:
            out = work / f"{portrait.name}_k{stride}"
            extractor = Extractor(ExtractConfig(inputs=(clip,), out=out, detect_every=stride, device="cpu"))
            start = time.perf_counter()
            records = extractor.extract(clip)
            elapsed = time.perf_counter() - start
            write_manifest(records, out / "faces.csv")
            found = np.stack([r.landmarks_array for r in read_manifest(out / "faces.csv")])
            error = np.nanmean(np.linalg.norm(found - truth, axis=2))
            print(f"| {portrait.name} | {stride} | {len(records) / elapsed:.1f} | {error:.2f} | {error / iod:.3f} |")


if __name__ == "__main__":
    main()
