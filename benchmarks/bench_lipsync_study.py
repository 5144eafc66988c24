"""The lip-sync detectors on every video of a study build, with no split: EER real probes vs fakes per tier.

Usage: python benchmarks/bench_lipsync_study.py STUDY_DIR [--train-talking lp_d9 lp_d10 ...]
       [--media ../shared/media]

``study run`` evaluates the lip-sync detectors with the image detectors' pair-disjoint
train/dev/eval split; on a small study that leaves one real and one fake video per tier in eval.
Neither detector here needs the study's videos to learn from, so every video with sound can be
scored:

- ``sync-correlation`` learns nothing;
- the LSTM (``lipsync``) is trained, as in the study, on real videos only (each in sync against its
  own audio shifted by 0.5-2 s), but on talking heads of people outside the study
  (``--train-talking``: names in ``MEDIA/talking``, none of them in the build).

Prints, per detector and tier, the videos scored and skipped (no sound / no face) and the EER at the
oracle threshold (no dev set: a best case for the detector).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from swaplab.core.metrics import detection_eer
from swaplab.detect.lipsync import VIDEO_DETECTORS
from swaplab.detect.lipsync_protocol import FeatureLoader, LipsyncVideo, videos_from_manifests
from swaplab.study.measure import load_build


def features(loader: FeatureLoader, videos: list[LipsyncVideo]) -> tuple[list, int]:
    """Features of the videos that can be judged, and how many were left out."""
    found = [loader.load(video)[0] for video in videos]
    kept = [f for f in found if f is not None]
    return kept, len(found) - len(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--media", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "media")
    parser.add_argument("--train-talking", nargs="+", default=["lp_d9", "lp_d10", "lp_d14", "pyfeat_single_face"])
    args = parser.parse_args()
    study = load_build(args.study)
    people = {segment.identity for segment in study.segments}
    if people & set(args.train_talking):
        raise SystemExit(f"--train-talking names people of the study: {sorted(people & set(args.train_talking))}")
    loader = FeatureLoader(args.study / "cache" / "lipsync", "cpu")
    real, real_skipped = features(loader, videos_from_manifests([Path(p) for p in study.real_probes]))
    fakes = {tier: features(loader, videos_from_manifests([Path(p) for p in paths]))
             for tier, paths in sorted(study.fakes.items())}
    outside = [LipsyncVideo(args.media / "talking" / f"{name}.mp4", name) for name in args.train_talking]
    train, _ = features(loader, outside)
    detectors = {"sync-correlation": VIDEO_DETECTORS.get("sync-correlation"),
                 "lipsync": VIDEO_DETECTORS.get("lipsync", seed=0).fit(train, np.zeros(len(train)))}
    print(f"real probes: {len(real)} scored, {real_skipped} left out; LSTM trained on {len(train)} outside videos")
    print("| detector | tier | real | fakes (left out) | EER (oracle threshold) |")
    print("|---|---|---|---|---|")
    for name, detector in detectors.items():
        bona_fide = np.asarray(detector.score(real))
        for tier, (fake, skipped) in fakes.items():
            value, _ = detection_eer(np.asarray(detector.score(fake)), bona_fide)
            print(f"| {name} | {tier} | {len(real)} | {len(fake)} ({skipped}) | {value:.1%} |")


if __name__ == "__main__":
    main()
