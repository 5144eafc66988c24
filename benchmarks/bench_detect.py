"""Detector speed with 2 CPU threads: IQM features faces/s, CNN inference faces/s.

Usage: python benchmarks/bench_detect.py [MANIFEST]   (default: random faces)

Targets (issue): IQM >= 20 faces/s, MesoInception-4 >= 50 faces/s at 256 px.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from swaplab.detect.cnn import EfficientNetDetector, MesoInceptionDetector
from swaplab.detect.iqm_detectors import iqm_matrix


def faces_from(manifest: Path | None, count: int) -> np.ndarray:
    if manifest is None:
        return np.random.default_rng(0).integers(0, 255, (count, 256, 256, 3), dtype=np.uint8)
    from swaplab.datasets.manifest import check_relative_path, faces_only, read_manifest
    from swaplab.core.media import read_image

    records = faces_only(read_manifest(manifest))[:count]
    return np.stack([read_image(check_relative_path(r.crop_path, manifest)) for r in records])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path, nargs="?")
    parser.add_argument("--count", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(2)
    faces = faces_from(args.manifest, args.count)
    print(f"{len(faces)} faces of {faces.shape[1]} px, torch threads {torch.get_num_threads()}")
    for size in (128, 256):
        start = time.perf_counter()
        iqm_matrix(faces, size)
        print(f"IQM (139 features) at {size} px: {len(faces) / (time.perf_counter() - start):.1f} faces/s")
    for name, detector in (("MesoInception-4", MesoInceptionDetector(input_size=256)),
                           ("EfficientNet-B0", EfficientNetDetector(input_size=256))):
        detector.net_ = detector.build().eval()
        detector.score(faces[:8])
        start = time.perf_counter()
        detector.score(faces)
        print(f"{name} inference at 256 px: {len(faces) / (time.perf_counter() - start):.1f} faces/s "
              f"({sum(p.numel() for p in detector.net_.parameters()) / 1e3:.1f} k parameters)")


if __name__ == "__main__":
    main()
