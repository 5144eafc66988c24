"""Which tracks FaceNet can identify: feature norm as face quality, scored on hand-labelled real clips.

Usage: python benchmarks/identity_by_quality.py [--media ../shared/media]
           [--labels benchmarks/data/multi_identities.csv] [--norms 0 18 19 20 21 22] [--widths 32]
           [--talking-frames 200] [--photos]

Scans each labelled multi-person clip exactly as ``swaplab generate extract`` does (shots, tracks,
FaceNet on keyframes), then gives each track the hand label of the points that fall in its boxes
(``benchmarks/data/multi_identities.csv``: people, and ``fp_`` detector false positives). For each
(min width, min feature norm) setting it clusters the tracks as extraction does and prints:

* clusters, and mixed clusters (holding tracks of two labels: the failure that mixes a face set);
* genuine track pairs joined (one person in one cluster: higher is better) and impostor track pairs
  joined (two labels in one cluster: should be 0);
* for each clip, each person's labelled tracks and the clusters they fall in (``H:20/5``: 20 tracks
  in 5 clusters; 1 cluster is best).

It also prints every track's median feature norm (FaceNet's 512-d output before L2 normalisation)
and best MTCNN score (``faces.clusters.MIN_FACE_SCORE``) by label kind, and, with
``--talking-frames N``, the norms of the 17 clear talking heads (first N frames each), which a
threshold must stay below (``faces.clusters.MIN_IDENTITY_NORM``), and with
``--photos`` those of the largest face of every photo in ``photos/`` (clear frontal photos, some
scanned).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import tempfile
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np
import torch

from swaplab.faces import clusters
from swaplab.faces.extract import ExtractConfig, Extractor, Scan, summaries
from swaplab.faces.tracks import Track

ROOT = Path(__file__).resolve().parents[1]


def read_labels(path: Path) -> dict[str, list[tuple[int, float, float, str]]]:
    """clip -> [(frame, x, y, person)] from the labels CSV (comment lines start with #)."""
    with open(path, newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        points: dict[str, list[tuple[int, float, float, str]]] = defaultdict(list)
        for row in rows:
            points[row["clip"]].append((int(row["frame"]), float(row["x"]), float(row["y"]), row["person"]))
    return points


def label_tracks(tracks: list[Track], points: list[tuple[int, float, float, str]]) -> dict[int, str]:
    """Track id -> person, from the points inside its boxes; tracks with two labels are reported and left out."""
    found: dict[int, set[str]] = defaultdict(set)
    for frame, x, y, person in points:
        for track in tracks:
            det = track.faces.get(frame)
            if det is not None and det.box[0] <= x <= det.box[2] and det.box[1] <= y <= det.box[3]:
                found[track.track_id].add(person)
    for track_id, people in found.items():
        if len(people) > 1:
            print(f"  track {track_id} holds labelled points of {sorted(people)}: left out")
    return {track_id: next(iter(people)) for track_id, people in found.items() if len(people) == 1}


def score(scans: list[Scan], labels: dict[int, str], min_width: float, min_norm: float) -> dict[str, object]:
    """Cluster as extraction does with these gates; count clusters, mixes and joined pairs."""
    groups = clusters.cluster_tracks(summaries(scans, min_width, min_norm))
    people_in: dict[int, set[str]] = defaultdict(set)
    for track_id, person in labels.items():
        people_in[groups[track_id]].add(person)
    mixed = [sorted(people) for people in people_in.values() if len(people) > 1]
    spread = {person: (sum(1 for p in labels.values() if p == person),
                       len({groups[t] for t, p in labels.items() if p == person}))
              for person in sorted(set(labels.values())) if not person.startswith("fp_")}
    genuine = impostor = genuine_joined = impostor_joined = 0
    for a, b in combinations(sorted(labels), 2):
        joined = groups[a] == groups[b]
        if labels[a] != labels[b]:
            impostor, impostor_joined = impostor + 1, impostor_joined + joined
        elif not labels[a].startswith("fp_"):
            genuine, genuine_joined = genuine + 1, genuine_joined + joined
    return {"clusters": len(set(groups.values())), "mixed": mixed, "genuine": (genuine_joined, genuine),
            "impostor": (impostor_joined, impostor), "spread": spread}


def talking_norms(extractor: Extractor, media: Path, frames: int) -> list[tuple[str, float, float]]:
    """(video, median norm, width) of the longest track of each talking head's first ``frames`` frames."""
    out = []
    for video in sorted((media / "talking").glob("*.mp4")):
        scan = extractor.scan(video)
        track = max(scan.tracks, key=lambda t: len(t.faces))
        out.append((video.stem, track.feature_norm, track.median_width))
    return out


def photo_norms(extractor: Extractor, media: Path) -> list[tuple[str, float]]:
    """(photo, feature norm of its largest face) for every photo of ``media/photos``."""
    from swaplab.core.media import image_files, read_image
    from swaplab.faces.facenet import facenet_crop

    out = []
    for folder in sorted(p for p in (media / "photos").iterdir() if p.is_dir()):
        for path in image_files(folder):
            image = read_image(path)
            faces = extractor.detector.detect(image[None])[0]
            if faces:
                face = max(faces, key=lambda d: d.area)
                features = extractor.embedder.features(facenet_crop(image, face.box)[None])
                out.append((path.name, float(np.linalg.norm(features[0]))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media")
    parser.add_argument("--labels", type=Path, default=ROOT / "benchmarks" / "data" / "multi_identities.csv")
    parser.add_argument("--norms", type=float, nargs="*", default=[0, 18, 19, 20, 21, 22])
    parser.add_argument("--widths", type=float, nargs="*", default=[clusters.MIN_IDENTITY_WIDTH])
    parser.add_argument("--talking-frames", type=int, default=0)
    parser.add_argument("--photos", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as crops:  # scanning writes crops; they are not needed here
        run(args, Path(crops))


def run(args: argparse.Namespace, crops: Path) -> None:
    points = read_labels(args.labels)
    extractor = Extractor(ExtractConfig(inputs=tuple(args.media / clip for clip in points), out=crops, mesh=False,
                                        crop_size=64))
    results: dict[tuple[float, float], list[dict[str, object]]] = defaultdict(list)
    for clip, clip_points in points.items():
        scan = extractor.scan(args.media / clip)
        labels = label_tracks(scan.tracks, clip_points)
        print(f"{clip}: {len(scan.tracks)} tracks, {len(labels)} labelled")
        by_kind: dict[str, list[str]] = defaultdict(list)
        for track in scan.tracks:
            person = labels.get(track.track_id, "?")
            kind = "unlabelled" if person == "?" else "false positive" if person.startswith("fp_") else "face"
            by_kind[kind].append(f"{person}:{track.feature_norm:.1f}@{track.median_width:.0f}px/{track.best_score:.2f}")
        for kind, items in by_kind.items():
            print(f"  {kind} (person:norm@width/best MTCNN score): {' '.join(items)}")
        for width in args.widths:
            for norm in args.norms:
                scored = score([scan], labels, width, norm)
                results[(width, norm)].append({"clip": clip, **scored})
                print(f"  {width:.0f} px, {norm:g}: person tracks/clusters "
                      + " ".join(f"{p}:{n}/{c}" for p, (n, c) in scored["spread"].items()))  # type: ignore[union-attr]
    print("\nmin width, min norm | clusters | mixed clusters | genuine pairs joined | impostor pairs joined")
    for (width, norm), rows in results.items():
        mixed = [f"{Path(str(r['clip'])).stem}:{'+'.join(m)}" for r in rows for m in r["mixed"]]  # type: ignore[union-attr]
        genuine = [sum(r["genuine"][i] for r in rows) for i in (0, 1)]  # type: ignore[index]
        impostor = [sum(r["impostor"][i] for r in rows) for i in (0, 1)]  # type: ignore[index]
        print(f"{width:.0f} px, {norm:g} | {sum(r['clusters'] for r in rows)} | {len(mixed)} {' '.join(mixed)} | "  # type: ignore[misc]
              f"{genuine[0]}/{genuine[1]} | {impostor[0]}/{impostor[1]}")
    if args.talking_frames:
        extractor.config = dataclasses.replace(extractor.config, max_frames=args.talking_frames)
        norms = talking_norms(extractor, args.media, args.talking_frames)
        print("\ntalking heads (median norm @ width): " + " ".join(f"{v}:{n:.1f}@{w:.0f}" for v, n, w in norms))
        values = np.array([n for _, n, _ in norms])
        print(f"min {values.min():.1f}, median {np.median(values):.1f}, max {values.max():.1f}")
    if args.photos:
        norms = sorted(photo_norms(extractor, args.media), key=lambda item: item[1])
        values = np.array([n for _, n in norms])
        print(f"\nphotos: {len(values)}, min {values.min():.1f}, 5th pct {np.percentile(values, 5):.1f}, "
              f"median {np.median(values):.1f}, max {values.max():.1f}; under {clusters.MIN_IDENTITY_NORM:g}: "
              + (", ".join(f"{name} {n:.1f}" for name, n in norms if n < clusters.MIN_IDENTITY_NORM) or "none"))


if __name__ == "__main__":
    main()
