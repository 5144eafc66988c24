"""Training speed per device, batch and precision, measured from a face pool (``pool.pt``).

Usage: python benchmarks/gpu_train.py --pool POOL [--device cuda] [--steps 25] [--json out.json]

Each row times ``--steps`` optimiser steps after 5 warm-up steps, twice: the model step alone on
one batch drawn beforehand ("step"), and with a fresh augmented batch per step drawn by the
CPU as in training ("train"). Faces/s counts both sides: 2 x batch per step. Rows that run out
of memory are reported as such. A pool holds no video: this needs torch, OpenCV and swaplab, not
the video or detection stack.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from swaplab.generate import pretrain
from swaplab.generate.train import Batcher, TrainConfig, new_state, train_step

ROWS = [("lq", 8, "fp32"), ("lq", 8, "bf16"), ("lq", 64, "fp32"), ("lq", 64, "bf16"), ("lq", 256, "bf16"),
        ("hq", 8, "fp32"), ("hq", 8, "bf16"), ("hq", 64, "fp32"), ("hq", 64, "bf16"), ("hq", 256, "bf16")]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


_FACES: dict[int, object] = {}


def faces_per_s(pool: dict, preset: str, batch: int, precision: str, device: torch.device, steps: int) -> dict:
    config = TrainConfig(src=Path("pool"), dst=Path("pool"), out=Path("unused"), preset=preset, batch_size=batch,
                         precision=precision, device=str(device))
    resolution = config.spec().resolution
    faces = _FACES.setdefault(resolution, pretrain.pool_faceset(pool, resolution))
    state = new_state(config, device)
    batcher = Batcher(faces, faces, config, device)
    fixed = batcher.draw(state.generator)
    timings = {}
    for mode in ("step", "train"):
        for i in range(steps + 5):
            if i == 5:
                _sync(device)
                start = time.perf_counter()
            train_step(state, fixed if mode == "step" else batcher.draw(state.generator), config)
        _sync(device)
        timings[mode] = 2 * batch * steps / (time.perf_counter() - start)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=Path, required=True)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    device = torch.device(args.device)
    pool = pretrain.load_pool(args.pool)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device: {name}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print("| preset | batch/side | precision | step faces/s | train faces/s (CPU augmentation) |")
    print("|---|---|---|---|---|")
    found = []
    for preset, batch, precision in ROWS:
        try:
            speed = faces_per_s(pool, preset, batch, precision, device, args.steps)
        except torch.OutOfMemoryError:
            print(f"| {preset} | {batch} | {precision} | out of memory | |")
            continue
        found.append({"preset": preset, "batch": batch, "precision": precision, **speed, "device": name})
        print(f"| {preset} | {batch} | {precision} | {speed['step']:.0f} | {speed['train']:.0f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(found, indent=1))


if __name__ == "__main__":
    main()
