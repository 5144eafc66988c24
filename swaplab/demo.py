"""``swaplab demo``: the study on the embedded sample, on CPU-sized budgets.

sample (2 people x 2 clips) -> extract faces -> per tier (lq 64 px, hq 128 px):
train one model on the enrolment clips (``_00``), swap the held-out clips
(``_01``) both ways -> FR vulnerability on genuine faces and both tiers of
fakes -> detectors trained on one tier and tested on both -> HTML report. ``minutes`` bounds the whole run; training gets what the
fixed steps leave.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from swaplab.config import save_config
from swaplab.datasets import sample
from swaplab.datasets.manifest import read_manifest, write_manifest
from swaplab.datasets.sample import PORTRAITS
from swaplab.detect import protocol as detection
from swaplab.evaluate import fr
from swaplab.fileio import require_writable_dir
from swaplab.generate import extract, swap, train
from swaplab.generate.quality import write_quality
from swaplab.reports import report

FIXED_MINUTES = 5.0  # sample, extraction, swaps, quality, FR evaluation and report, measured on 2 cores
TIER_SHARE = {"lq": 0.4, "hq": 0.6}
DETECTORS = ("iqm-svm", "iqm-lda", "mesoinception4")
STEPS = 6


@dataclass(frozen=True)
class DemoConfig:
    """Settings of ``swaplab demo``: output folder, time budget (minutes), seed, clip length."""

    out: Path = Path("demo_out")
    minutes: float = 15.0
    seed: int = 0
    seconds: float = 6.0
    iterations: int | None = None  # cap on training iterations (smoke tests); None = time budget only


def say(message: str) -> None:
    print(f"[swaplab demo] {message}", file=sys.stderr, flush=True)


def enrolment_faces(manifest: Path) -> Path:
    """A manifest beside ``manifest`` holding only the identity's first (enrolment) video."""
    records = read_manifest(manifest)
    first = min(r.video_id for r in records)
    return write_manifest([r for r in records if r.video_id == first], manifest.parent / "enrolment_faces.csv")


def make_tier(tier: str, faces: dict[str, Path], clips: Path, out: Path, minutes: float, seed: int,
              iterations: int | None) -> list[Path]:
    """Train one model for the pair, swap both held-out clips; return the two fake manifests."""
    src, dst = (p.name for p in PORTRAITS)
    model = out / "model"
    train.run(train.TrainConfig(src=enrolment_faces(faces[src]), dst=enrolment_faces(faces[dst]), out=model,
                                preset=tier, iterations=iterations or 1_000_000, minutes=minutes, seed=seed,
                                resume=(model / train.CHECKPOINT).exists()))
    manifests = []
    for into, video_of, face_of in (("src", dst, src), ("dst", src, dst)):
        target = out / f"{face_of}_into_{video_of}"
        video = swap.run(swap.SwapConfig(model=model, dst=clips / video_of / f"{video_of}_01.mp4", out=target,
                                         into=into))
        write_quality(target, video, clips / video_of / f"{video_of}_01.mp4", enrolment_faces(faces[face_of]))
        manifests.append(target / "fakes" / "faces.csv")
    return manifests


def run(config: DemoConfig) -> Path:
    """Run the whole demo; return the report's path."""
    started = time.perf_counter()
    out = require_writable_dir(config.out)
    save_config(config, out / "demo_config.json")
    say(f"1/{STEPS} embedded sample")
    clips = sample.run(sample.SampleConfig(out=out / "sample", seed=config.seed, seconds=config.seconds))
    say(f"2/{STEPS} face extraction")
    faces = {p.name: extract.run(extract.ExtractConfig(inputs=tuple(sorted((clips / p.name).glob("*.mp4"))),
                                                       out=out / "faces" / p.name, identity=p.name))
             for p in PORTRAITS}
    training = max(0.5, config.minutes - FIXED_MINUTES - (time.perf_counter() - started) / 60)
    attacks = []
    for step, (tier, share) in enumerate(TIER_SHARE.items(), start=3):
        say(f"{step}/{STEPS} deepfakes, tier {tier}: training {training * share:.1f} min, then swapping")
        attacks += [f"{tier}={m}" for m in make_tier(tier, faces, clips, out / "fakes" / tier,
                                                     training * share, config.seed, config.iterations)]
    say(f"5/{STEPS} face-recognition vulnerability")
    fr.run(fr.FRConfig(genuine=tuple(faces.values()), out=out / "fr", attacks=tuple(attacks)))
    say(f"6/{STEPS} deepfake detectors (trained on one tier, tested on both) and report")
    for name in DETECTORS:
        for tier in TIER_SHARE:
            detection.run(detection.DetectConfig(real=tuple(faces.values()), fake=tuple(attacks),
                                                 out=out / "detect" / f"{name}-{tier}", detector=name,
                                                 train_tier=tier, seed=config.seed))
    page = report.run(report.ReportConfig(out))
    say(f"done in {(time.perf_counter() - started) / 60:.1f} min")
    return page
