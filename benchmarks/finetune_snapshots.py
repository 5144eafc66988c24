"""Fine-tune one pair far past a CPU budget and keep small snapshots: how swap quality grows with iterations.

Usage:
    python benchmarks/finetune_snapshots.py train --src-pool SRC.pt --dst-pool DST.pt --preset lq \
        --snapshots 3000,8000 [--minutes M] [--pretrained builtin] [--batch 8] [--precision fp32] [--device cuda] --out DIR
    python benchmarks/finetune_snapshots.py unpack DIR/snapshot_lq_0008000.pt --out MODEL_DIR

``train`` runs ``swaplab.generate.train.fit`` on the two pools (``swaplab generate pretrain``'s
``pool.pt`` format, one person each), resuming at each snapshot so the segments are one run, and
after each segment writes ``snapshot_<preset>_<iteration>.pt``: the checkpoint with fp16 weights and
without ``decoder_dst`` (a dst -> src swap does not use it), small enough to bring back from a
lent GPU machine. It needs torch, OpenCV and swaplab, not the video or detection stack.

``unpack`` turns a snapshot into a model folder that ``swaplab generate swap`` and
``benchmarks/bench_merge.py`` read (``decoder_dst`` filled from ``decoder_src``: only the swap into
src is meaningful). Iterations/s of each segment are printed and kept in ``speed.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

from swaplab.core.fileio import atomic_path
from swaplab.datasets.outputs import TrainOutput
from swaplab.generate import pretrain, train
from swaplab.generate.models import ModelSpec, build_model


def snapshot_payload(checkpoint: dict) -> dict:
    """A checkpoint without optimiser state and ``decoder_dst``, weights in fp16."""
    return {**checkpoint, "model": train.compact_weights(checkpoint["model"]), "optimiser": {},
            "generator": checkpoint["generator"].cpu()}


def finetune(args: argparse.Namespace) -> None:
    base = train.TrainConfig(src=args.src_pool, dst=args.dst_pool, out=args.out / "model", preset=args.preset,
                             minutes=args.minutes, batch_size=args.batch, precision=args.precision, device=args.device,
                             pretrained=args.pretrained, checkpoint_every=10**9, preview_every=10**9)
    resolution = base.spec().resolution
    src, dst = (pretrain.pool_faceset(pretrain.load_pool(p), resolution) for p in (args.src_pool, args.dst_pool))
    args.out.mkdir(parents=True, exist_ok=True)
    speed = []
    for i, target in enumerate(int(n) for n in args.snapshots.split(",")):
        config = dataclasses.replace(base, iterations=target, resume=i > 0)
        started = time.perf_counter()
        output = train.fit(config, src, dst)
        seconds = time.perf_counter() - started
        checkpoint = train.load_checkpoint(output.checkpoint)
        done = checkpoint["iteration"] - (speed[-1]["iteration"] if speed else 0)
        speed.append({"preset": args.preset, "iteration": checkpoint["iteration"], "segment_seconds": seconds,
                      "iterations_per_s": done / seconds, "device": checkpoint["meta"]["device"],
                      "precision": checkpoint["meta"]["precision"], "batch": args.batch,
                      "loss_src": checkpoint["log"][-1][2], "loss_dst": checkpoint["log"][-1][3]})
        print(json.dumps(speed[-1]), flush=True)
        target_path = args.out / f"snapshot_{args.preset}_{checkpoint['iteration']:07d}.pt"
        with atomic_path(target_path) as tmp:
            torch.save(snapshot_payload(checkpoint), tmp)
        (args.out / "speed.json").write_text(json.dumps(speed, indent=1))
        if checkpoint["iteration"] < target:
            print(f"stopping: --minutes {args.minutes} reached at iteration {checkpoint['iteration']}")
            break


def unpack(args: argparse.Namespace) -> None:
    payload = train.load_checkpoint(args.snapshot)
    model = build_model(ModelSpec(**payload["spec"]))
    weights = train.expand_shared_decoder({k: v.float() for k, v in payload["model"].items()}, model)
    model.load_state_dict(weights)
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(TrainOutput(args.out).checkpoint) as tmp:
        torch.save({**payload, "model": model.state_dict()}, tmp)
    print(f"{args.out}: {payload['spec']} at iteration {payload['iteration']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    fit = verbs.add_parser("train")
    fit.add_argument("--src-pool", type=Path, required=True)
    fit.add_argument("--dst-pool", type=Path, required=True)
    fit.add_argument("--preset", default="lq")
    fit.add_argument("--snapshots", required=True, help="Iterations to snapshot at, e.g. 3000,8000.")
    fit.add_argument("--pretrained", default=train.BUILTIN)
    fit.add_argument("--batch", type=int, default=8)
    fit.add_argument("--precision", default="auto")
    fit.add_argument("--device", default="auto")
    fit.add_argument("--minutes", type=float, default=None, help="Training-time cap over all segments.")
    fit.add_argument("--out", type=Path, required=True)
    back = verbs.add_parser("unpack")
    back.add_argument("snapshot", type=Path)
    back.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    finetune(args) if args.verb == "train" else unpack(args)


if __name__ == "__main__":
    main()
