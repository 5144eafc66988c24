"""How sharp can a swap of each model resolution be? The swap path with a perfect model.

Usage: python benchmarks/resolution_ceiling.py --probe DST.mp4 --probe-faces faces.csv
       [--resolutions 64,128,256] [--frames 24] [--threads 2]

A stand-in model returns dst's own aligned face at the model's resolution, unchanged; the rest is
``swaplab generate swap`` as it runs (Face Mesh mask, colour transfer, paste-back with the
default ``--detail`` and without it). ``sharpness_ratio`` (``quality.json``'s variance of the
Laplacian inside the face, pasted / original) of such a swap is the most any model of that
resolution can reach on this clip: what the enlargement into the frame loses. The seam and
colour figures of ``quality.json`` are printed too (a perfect model leaves none). The frames are
taken apart (every Nth), so the swap's temporal filter (``--temporal``) is not applied; it lowers
a real swap's sharpness a little more (by 0.00-0.19 on six models, README).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from swaplab.core.media import iter_frames, probe
from swaplab.datasets.manifest import read_manifest
from swaplab.generate import blend, quality
from swaplab.generate.models import ModelSpec
from swaplab.generate.swap import Swapper, SwapConfig, kept


class PerfectModel(nn.Module):
    """A 'model' whose swap is its input: dst's face, as a lossless autoencoder would render it."""

    def __init__(self, resolution: int) -> None:
        super().__init__()
        self.spec = ModelSpec("df", resolution, 8, 8, 8)

    def swap(self, faces: torch.Tensor, into: str = "src") -> tuple[torch.Tensor, torch.Tensor]:
        return faces, torch.ones_like(faces[:, :1])


def ceiling(probe_clip: Path, manifest: Path, resolution: int, detail: float, frames: int) -> dict:
    rows = {r.frame_index: r for r in read_manifest(manifest) if kept(r)}
    stride = max(1, probe(probe_clip).frame_count // frames)
    config = SwapConfig(model=Path("perfect"), dst=probe_clip, out=Path("unused"), detail=detail, device="cpu")
    swapper = Swapper(config, PerfectModel(resolution), {"face_type": next(iter(rows.values())).face_type},
                      torch.device("cpu"))
    sums, upscales = quality.RealismSums(), []
    try:
        for frame in iter_frames(probe_clip):
            record = rows.get(frame.index)
            if record is None or frame.index % stride:
                continue
            swapped, mask = swapper.swap_face(frame.image, record)
            quality.measure_frame(sums, swapped, frame.image, mask)
            upscales.append(blend.upscale_of(record.matrix_array * (resolution / record.crop_size)))
    finally:
        swapper.close()
    figures = quality.realism_from(sums)
    return {"resolution": resolution, "detail": detail, "upscale_median": float(np.median(upscales)),
            **{k: figures[k] for k in ("sharpness_ratio", "seam_colour_ratio", "seam_gradient_ratio",
                                       "colour_anomaly_share", "realism_frames")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probe", type=Path, required=True)
    parser.add_argument("--probe-faces", type=Path, required=True)
    parser.add_argument("--resolutions", default="64,128,256")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for resolution in (int(r) for r in args.resolutions.split(",")):
        for detail in (0.0, SwapConfig.detail):
            print(json.dumps(ceiling(args.probe, args.probe_faces, resolution, detail, args.frames)), flush=True)


if __name__ == "__main__":
    main()
