"""Swap quality per training minute: acceptance as src by FR, and realism, as training goes on.

Usage: python benchmarks/bench_quality.py --src A.mp4 --dst B.mp4 [--preset lq] [--minutes 12] [--every 3]
       [--probe-seconds 6] [--pretrained pretrained.pt] [--identity-weight 0.1] [--sharpen 1] [--detail 1]
       [--out bench_out/quality]

Extracts src and dst once, then trains one model in segments of ``--every`` minutes (training
resumes exactly, so the segments make one run); after each segment the checkpoint is kept, the
first ``--probe-seconds`` of dst are swapped with it and measured (``quality.json``: FaceNet and
dlib acceptance as src, sharpness, seam, fringe, pose, flicker). Writes ``curve.csv`` (one row
per checkpoint) and ``curve.png``. Minutes are training wall-clock minutes with torch on
``--threads`` threads (2 by default); swapping and measuring are not counted.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import time
from pathlib import Path

COLUMNS = ("minutes", "iteration", "loss_src", "loss_dst", "facenet_accept_rate", "dlib_accept_rate",
           "similarity_to_src", "retrieval_src_share", "sharpness_ratio", "seam_colour_ratio", "seam_gradient_ratio",
           "fringe_delta_e", "fringe_ratio", "pose_error_iod", "flicker_ratio", "facenet_blind", "swap_seconds")


def probe_clip(dst: Path, seconds: float, target: Path) -> Path:
    """The first ``seconds`` of dst (video only), the clip that is swapped at every checkpoint."""
    from swaplab.core.media import iter_frames, probe, write_video

    if target.exists():
        return target
    info = probe(dst)
    frames = (f.image for f in iter_frames(dst, info) if f.index < round(seconds * info.fps))
    return write_video(frames, target, fps=info.fps)


def extract_faces(video: Path, folder: Path, max_frames: int | None, identity: str | None = None) -> Path:
    """The face manifest of one video (extraction defaults), extracted once."""
    from swaplab.datasets.outputs import ExtractOutput
    from swaplab.faces import extract

    if ExtractOutput(folder).manifest.exists():
        return ExtractOutput(folder).manifest
    # talking heads show one person: FaceNet on every 10th face is plenty for the identity clusters
    return extract.run(extract.ExtractConfig(inputs=(video,), out=folder, identity=identity or video.stem,
                                             max_frames=max_frames, embed_every=10, device="cpu"))


def checkpoint_row(work: Path, model: Path, probe: Path, probe_faces: Path, src_faces: Path, minutes: float,
                   merge: dict | None = None) -> dict:
    """Keep the checkpoint, swap the probe clip with it, measure; one row of the curve."""
    from swaplab.datasets.outputs import SwapOutput, TrainOutput
    from swaplab.generate import pipeline, swap
    from swaplab.generate.train import load_checkpoint

    payload = load_checkpoint(TrainOutput(model).checkpoint)
    snapshot = TrainOutput(model).snapshot(payload["iteration"])
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(TrainOutput(model).checkpoint, snapshot)
    out = work / f"swap_{minutes:05.1f}min"
    start = time.perf_counter()
    pipeline.swap_measured(swap.SwapConfig(model=model, dst=probe, out=out, dst_faces=probe_faces, device="cpu",
                                           **(merge or {})), src_faces)
    quality = json.loads(SwapOutput(out, probe.stem).quality.read_text())
    last = payload["log"][-1]
    return {**{key: quality.get(key, float("nan")) for key in COLUMNS}, "minutes": minutes,
            "iteration": payload["iteration"], "loss_src": last[2], "loss_dst": last[3],
            "swap_seconds": time.perf_counter() - start}


def plot(rows: list[dict], target: Path, threads: int = 2) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [row["minutes"] for row in rows]
    figure, (accept, real) = plt.subplots(1, 2, figsize=(11, 4))
    for key in ("facenet_accept_rate", "dlib_accept_rate", "retrieval_src_share"):
        accept.plot(minutes, [row[key] for row in rows], marker="o", label=key)
    accept.set(xlabel=f"training minutes (CPU, {threads} threads)", ylabel="share of swapped frames", ylim=(-0.02, 1.02),
               title="accepted as src")
    for key in ("sharpness_ratio", "seam_colour_ratio", "seam_gradient_ratio", "fringe_ratio", "flicker_ratio"):
        real.plot(minutes, [row[key] for row in rows], marker="o", label=key)
    real.axhline(1, color="grey", lw=0.5)
    real.set(xlabel=f"training minutes (CPU, {threads} threads)", ylabel="swapped / original", title="realism")
    for axis in (accept, real):
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(target, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, required=True)
    parser.add_argument("--dst", type=Path, required=True)
    parser.add_argument("--preset", default="lq")
    parser.add_argument("--minutes", type=float, default=12)
    parser.add_argument("--every", type=float, default=3)
    parser.add_argument("--probe-seconds", type=float, default=6)
    parser.add_argument("--max-frames", type=int, default=None, help="Extract at most this many frames per video.")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (minutes x threads = CPU-minutes).")
    parser.add_argument("--pretrained", type=Path, default=None, help="pretrained.pt to fine-tune from.")
    parser.add_argument("--identity-weight", type=float, default=0.0, help="Identity loss weight (0: off).")
    parser.add_argument("--sharpen", type=float, default=None, help="Swap's unsharp-mask amount (default: the swap's).")
    parser.add_argument("--detail", type=float, default=None,
                        help="Swap's weight of dst's fine texture (default: the swap's).")
    parser.add_argument("--out", type=Path, default=Path("bench_out/quality"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from swaplab.generate import pipeline

    work = args.out
    start = time.perf_counter()
    src_faces = extract_faces(args.src, work / "src_faces", args.max_frames)
    dst_faces = extract_faces(args.dst, work / "dst_faces", args.max_frames)
    probe = probe_clip(args.dst, args.probe_seconds, work / f"{args.dst.stem}_probe.mp4")
    probe_faces = extract_faces(probe, work / "probe_faces", None, args.dst.stem)
    print(f"extraction: {(time.perf_counter() - start) / 60:.1f} min", flush=True)
    rows, minutes = [], 0.0
    while minutes < args.minutes - 1e-6:
        minutes = min(args.minutes, minutes + args.every)
        pipeline.train_or_resume(src_faces, dst_faces, work / "model", preset=args.preset, iterations=None,
                                 minutes=minutes, seed=0, device="cpu", pretrained=args.pretrained,
                                 identity_weight=args.identity_weight)
        rows.append(checkpoint_row(work, work / "model", probe, probe_faces, src_faces, minutes,
                                   {key: value for key, value in (("sharpen", args.sharpen), ("detail", args.detail))
                                    if value is not None}))
        print(json.dumps(rows[-1]), flush=True)
        with open(work / "curve.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        plot(rows, work / "curve.png", args.threads)
    print(f"curve written to {work / 'curve.csv'} and {work / 'curve.png'}")


if __name__ == "__main__":
    main()
