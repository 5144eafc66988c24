"""FR backends on extracted faces or on photos: genuine/impostor separation and embedding speed.

Usage: python benchmarks/bench_fr.py MANIFEST [MANIFEST ...] [--threads 2]
       python benchmarks/bench_fr.py --photos ../shared/media/photos [--threads 2]

With ``--photos`` (one folder of photos per person): the largest face of each
photo is detected (MTCNN) and aligned, every backend (facenet, dlib, lbp) embeds
all faces, and every pair of photos is a genuine (same person) or impostor
comparison. Reports the pair EER with its cosine threshold, faces/s of prepare +
embed, and for dlib also the EER on dlib's own score (Euclidean distance of the
raw descriptors; dlib's documented threshold is 0.6). Each figure is given on all
photos and on the frontal ones (those where dlib's frontal HOG detector finds a
face: MEDS-II includes profile shots, e.g. S001-08-t10_02 and _03).

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


def pair_scores(embeddings: np.ndarray, people: np.ndarray, distance: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(impostor, genuine) scores of every unordered pair; higher = more genuine (distances negated)."""
    if distance:
        sims = -np.linalg.norm(embeddings[:, None] - embeddings[None], axis=2)
    else:
        sims = embeddings @ embeddings.T
    upper = np.triu(np.ones_like(sims, dtype=bool), 1)
    same = people[:, None] == people[None, :]
    return sims[upper & ~same], sims[upper & same]


def photo_faces(folder: Path) -> tuple[list, np.ndarray, np.ndarray]:
    """The aligned largest face of every photo under ``folder/<person>/``, each face's person, and
    whether the photo is frontal (dlib's frontal HOG detector finds a face in it)."""
    import dlib

    from swaplab.core.media import read_image
    from swaplab.evaluate.verify import aligned_faces
    from swaplab.faces.detector import FaceDetector

    detector, hog = FaceDetector(device="cpu"), dlib.get_frontal_face_detector()
    faces, people, frontal = [], [], []
    for person in sorted(p for p in folder.iterdir() if p.is_dir()):
        for photo in sorted(person.glob("*.jpg")):
            faces.append(aligned_faces(photo, detector, 1)[0])
            people.append(person.name)
            frontal.append(bool(hog(np.ascontiguousarray(read_image(photo)), 1)))
    return faces, np.array(people), np.array(frontal)


def _eer_cells(embedded: np.ndarray, people: np.ndarray, frontal: np.ndarray, distance: bool = False) -> str:
    cells = []
    for keep in (np.ones_like(frontal), frontal):
        impostor, genuine = pair_scores(embedded[keep], people[keep], distance)
        value, threshold = metrics.eer(impostor, genuine)
        cells.append(f"{value:.2%} at {abs(threshold):.3f} ({genuine.size} / {impostor.size})")
    return " | ".join(cells)


def photos(folder: Path) -> None:
    faces, people, frontal = photo_faces(folder)
    print(f"{len(faces)} photos of {len(set(people))} people, {frontal.sum()} frontal")
    print("| backend | pair EER at threshold (genuine / impostor pairs), all photos | same, frontal photos "
          "| faces/s (prepare + embed) |")
    print("|---|---|---|---|")
    for name in ("facenet", "dlib", "lbp"):
        backend = FR_BACKENDS.get(name, device="cpu")
        backend.embed(np.stack([backend.prepare(f) for f in faces[:2]]))  # load weights outside the timing
        start = time.perf_counter()
        inputs = np.stack([backend.prepare(face) for face in faces])
        embedded = backend.embed(inputs)
        speed_fps = len(faces) / (time.perf_counter() - start)
        print(f"| {name} (cosine) | {_eer_cells(embedded, people, frontal)} | {speed_fps:.1f} |")
        if name == "dlib":
            from swaplab.faces.dlib_fr import _models

            raw = np.asarray([np.asarray(r) for r in _models()[1].compute_face_descriptor(list(inputs))])
            print(f"| dlib (Euclidean distance) | {_eer_cells(raw, people, frontal, distance=True)} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifests", type=Path, nargs="*")
    parser.add_argument("--photos", type=Path, help="folder with one sub-folder of photos per person")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--step", type=int, default=3, help="use every n-th face")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.photos:
        photos(args.photos)
        return
    faces = [(r, m) for m in args.manifests for r in faces_only(read_manifest(m))][:: args.step]
    identities = np.array([r.identity for r, _ in faces])
    videos = np.array([r.video_id for r, _ in faces])
    print(f"{len(faces)} faces, identities {sorted(set(identities))}, torch threads {torch.get_num_threads()}")
    print("| backend | normalisation | genuine mean | impostor mean | d' | pair EER |")
    print("|---|---|---|---|---|---|")
    for name, cfg in (("facenet", {"normalisation": "fixed"}), ("facenet", {"normalisation": "prewhiten"}),
                      ("dlib", {}), ("lbp", {})):
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
