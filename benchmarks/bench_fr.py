"""FR backends on extracted faces: genuine/impostor separation and embedding speed.

Usage: python benchmarks/bench_fr.py MANIFEST [MANIFEST ...] [--threads 2]

Compares every face of one video with every face of the other videos: pairs
of the same identity are genuine, others impostors. Reports, per backend and
normalisation, mean genuine and impostor cosine scores, d' and the pair EER;
then FaceNet embeddings/s at batch 32 (fp32 and bf16 autocast) against the
OpenCV dnn runner at batch 1.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from swaplab.datasets.manifest import faces_only, read_manifest
from swaplab.core import metrics
from swaplab.faces.backends import FR_BACKENDS
from swaplab.faces.embed import embed_records


def separation(embeddings: np.ndarray, identities: np.ndarray, videos: np.ndarray) -> dict[str, float]:
    sims = embeddings @ embeddings.T
    other_video = videos[:, None] != videos[None, :]
    same = identities[:, None] == identities[None, :]
    upper = np.triu(np.ones_like(sims, dtype=bool), 1)
    genuine, impostor = sims[upper & other_video & same], sims[upper & other_video & ~same]
    d_prime = (genuine.mean() - impostor.mean()) / np.sqrt((genuine.var() + impostor.var()) / 2)
    return {"genuine": genuine.mean(), "impostor": impostor.mean(), "d'": d_prime,
            "pair EER": metrics.eer(impostor, genuine)[0], "pairs": (genuine.size, impostor.size)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifests", type=Path, nargs="+")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--step", type=int, default=3, help="use every n-th face")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    faces = [(r, m) for m in args.manifests for r in faces_only(read_manifest(m))][:: args.step]
    identities = np.array([r.identity for r, _ in faces])
    videos = np.array([r.video_id for r, _ in faces])
    print(f"{len(faces)} faces, identities {sorted(set(identities))}, torch threads {torch.get_num_threads()}")
    print("| backend | normalisation | genuine mean | impostor mean | d' | pair EER |")
    print("|---|---|---|---|---|---|")
    for name, cfg in (("facenet", {"normalisation": "fixed"}), ("facenet", {"normalisation": "prewhiten"}),
                      ("lbp", {})):
        found = separation(embed_records(FR_BACKENDS.get(name, **cfg), faces), identities, videos)
        print(f"| {name} | {cfg.get('normalisation', '-')} | {found['genuine']:.3f} | {found['impostor']:.3f} "
              f"| {found[chr(100) + chr(39)]:.2f} | {found['pair EER']:.2%} |")
    speed(faces)


def speed(faces: list) -> None:
    from swaplab.faces.facenet import FaceNetCV2, FaceNetTorch
    from swaplab.core.media import read_image
    from swaplab.datasets.manifest import check_relative_path
    from swaplab.faces.backends import AlignedFace

    torch_backend = FaceNetTorch(device="cpu")
    inputs = np.stack([torch_backend.prepare(AlignedFace.from_record(read_image(check_relative_path(r.crop_path, m)), r))
                       for r, m in faces[:64]])
    batch = np.concatenate([inputs] * 2)[:128]
    for precision in ("fp32", "bf16"):
        backend = FaceNetTorch(device="cpu", precision=precision)
        backend.embed(batch[:32])
        start = time.perf_counter()
        out = backend.embed(batch)
        print(f"facenet torch {precision}, batch 32: {len(batch) / (time.perf_counter() - start):.1f} faces/s")
        if precision == "fp32":
            reference = out
        else:
            print(f"  bf16 vs fp32 cosine: min {np.min(np.sum(out * reference, axis=1)):.5f}")
    cv2_backend = FaceNetCV2()
    cv2_backend.embed(batch[:2])
    start = time.perf_counter()
    out_cv2 = cv2_backend.embed(batch[:32])
    print(f"facenet cv2.dnn, batch 1: {32 / (time.perf_counter() - start):.1f} faces/s; "
          f"parity with torch fp32: min cosine {np.min(np.sum(out_cv2 * reference[:32], axis=1)):.6f}")


if __name__ == "__main__":
    main()
