"""Extraction speed of the whole ``extract`` command, per kind of input, on real media.

Usage: python benchmarks/bench_extract.py [--media ../shared/media] [--max-frames N] [--threads 2]
                                          [--no-mesh] [--detect-every 4] [--only NAME ...]

For each input kind (single-face talking head, multi-face, multi-shot, photo folder) runs
``run_extract`` (decode, shot cuts, detection, ONet tracking, FaceNet identity checks, clustering,
alignment, crops, Face Mesh, manifests, contact sheets; model loading excluded: one warm-up run on
2 frames first) and prints frames/s with the frames, faces, tracks, shots and clusters found.
Say whether the machine was shared when you quote the figures: on a shared machine wall-clock
frames/s mean little, so the CPU time of this process is printed too (frames per CPU-second;
with 2 threads an idle 2-core machine reaches at most about twice that in wall-clock frames/s).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from swaplab.faces.extract import ExtractConfig, describe, run_extract

INPUTS = (
    ("single-face talking head", "talking/lp_d6.mp4"),
    ("multi-face", "multi/hikers.mp4"),
    ("multi-face, one shot", "multi/group_one_shot.mp4"),
    ("multi-shot", "multi/tears_of_steel_multishot.mp4"),
    ("photo folder", "photos/meds_S001"),
    ("rotated phone video, two people", "multi/selfie_rotated90.mp4"),
    ("codec h264/mp3", "multi/codec_h264_mp3.mp4"),
    ("codec h265/aac", "multi/codec_h265_aac.mp4"),
    ("codec mp4v/aac", "multi/codec_mp4v_aac.mp4"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "media")
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--detect-every", type=int, default=4)
    parser.add_argument("--no-mesh", action="store_true")
    parser.add_argument("--only", nargs="*", default=None, help="Input paths (relative to --media) to run.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="swaplab-bench-"))
    kinds = dict((rel, kind) for kind, rel in INPUTS)
    chosen = [(kinds.get(rel, "other"), rel) for rel in args.only] if args.only else [(k, r) for k, r in INPUTS]
    settings = dict(device="cpu", mesh=not args.no_mesh, detect_every=args.detect_every, faces="all")
    warm = args.media / "multi" / "group_one_shot.mp4"  # faces from the first frame on
    run_extract(ExtractConfig(inputs=(warm,), out=work / "warm", max_frames=2, **settings))
    print(f"torch threads: {torch.get_num_threads()}; detect_every {args.detect_every}; mesh {not args.no_mesh}")
    print("| input kind | file | frames | faces | tracks | shots | clusters | seconds | frames/s | frames/CPU-s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind, rel in chosen:
        out = work / Path(rel).stem
        start, cpu = time.perf_counter(), time.process_time()
        output = run_extract(ExtractConfig(inputs=(args.media / rel,), out=out, max_frames=args.max_frames,
                                           **settings))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        c = describe(output)
        print(f"| {kind} | {rel} | {c['frames']} | {c['faces']} | {c['tracks']} | {c['shots']} | {c['clusters']} "
              f"| {elapsed:.1f} | {c['frames'] / elapsed:.1f} | {c['frames'] / cpu:.1f} |", flush=True)


if __name__ == "__main__":
    main()
