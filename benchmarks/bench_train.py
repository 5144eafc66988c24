"""Training and swapping speed on CPU (2 threads): samples/s, peak memory, loss, swap frames/s.

Usage: python benchmarks/bench_train.py [--steps 30] [--out bench_out]

Each training configuration runs in its own process so peak memory (max RSS)
is its own. Faces/s counts both sides: 2 x batch per step. Includes the
reference model with faceswap's 'original' layout (64 px, batch 16 per side).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time, torch
torch.set_num_threads(2)
from pathlib import Path
from swaplab.generate.faceset import load_faceset
from swaplab.generate.train import TrainConfig, Batcher, new_state, train_step
cfg = TrainConfig(**json.loads(sys.argv[1]))
src = load_faceset(cfg.src, cfg.spec().resolution, 300)
dst = load_faceset(cfg.dst, cfg.spec().resolution, 300)
state = new_state(cfg, torch.device("cpu"))
batcher = Batcher(src, dst, cfg, torch.device("cpu"))
steps, losses = int(sys.argv[2]), []
for i in range(steps + 3):
    if i == 3:
        start = time.perf_counter()
    losses.append(train_step(state, batcher.draw(state.generator), cfg))
elapsed = time.perf_counter() - start
params = sum(p.numel() for p in state.model.parameters())
print(json.dumps({"faces_per_s": 2 * cfg.batch_size * steps / elapsed, "params": params,
                  "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                  "loss_first": losses[0]["src"] + losses[0]["dst"], "loss_last": losses[-1]["src"] + losses[-1]["dst"]}))
"""


def train_speed(config: dict, steps: int) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(config), str(steps)], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("bench_out"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    from swaplab.datasets import sample
    from swaplab.faces import extract
    from swaplab.generate import swap
    from swaplab.generate.train import TrainConfig, run as train

    work = args.out
    clips = sample.run(sample.SampleConfig(out=work / "sample", clips=1, seconds=6))
    faces = {name: extract.run(extract.ExtractConfig(inputs=(clips / name / f"{name}_00.mp4",),
                                                     out=work / "faces" / name, identity=name))
             for name in ("astronaut", "grace_hopper")}
    base = {"src": str(faces["astronaut"]), "dst": str(faces["grace_hopper"]), "out": str(work / "unused")}
    print(f"| model | px | batch/side | precision | params (M) | faces/s | peak RSS (GiB) | loss first -> last ({args.steps} steps) |")
    print("|---|---|---|---|---|---|---|---|")
    runs = [("lq", {"preset": "lq"}, 8), ("hq", {"preset": "hq"}, 8),
            ("liae 64", {"preset": "lq", "arch": "liae"}, 8),
            ("original (faceswap layout)", {"preset": "lq", "arch": "original"}, 16)]
    for name, extra, batch in runs:
        for precision in ("fp32", "bf16"):
            found = train_speed({**base, **extra, "batch_size": batch, "precision": precision}, args.steps)
            print(f"| {name} | {64 if 'hq' not in name else 128} | {batch} | {precision} | {found['params'] / 1e6:.1f} "
                  f"| {found['faces_per_s']:.1f} | {found['peak_rss_gib']:.2f} | "
                  f"{found['loss_first']:.3f} -> {found['loss_last']:.3f} |")
    model = work / "model"
    if not (model / "model.pt").exists():
        train(TrainConfig(src=faces["astronaut"], dst=faces["grace_hopper"], out=model, preset="lq", iterations=20))
    start = time.perf_counter()
    video = swap.run(swap.SwapConfig(model=model, dst=clips / "grace_hopper" / "grace_hopper_00.mp4",
                                     out=work / "swap")).video
    elapsed = time.perf_counter() - start
    from swaplab.core.media import probe

    frames = probe(video).frame_count
    print(f"\nswap + composite (lq, 640x360, extraction included): {frames / elapsed:.1f} frames/s "
          f"({frames} frames in {elapsed:.1f} s)")


if __name__ == "__main__":
    main()
