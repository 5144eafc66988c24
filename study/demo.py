"""``swaplab demo``: the study on the embedded sample, on CPU-sized budgets.

sample (2 people x 2 clips) -> index (folder layout, each clip cut in three
segments: per person one enrolment, three training and two probe segments) ->
``study build``: faces, one model per tier (lq 64 px, hq 128 px) trained on
the training segments, both people's probe segments swapped -> ``study run``: FR vulnerability,
detectors trained on one tier and tested on both, HTML report. ``minutes``
bounds the whole run; training gets what the fixed steps leave.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from swaplab.core.config import save_config
from swaplab.datasets import sample
from swaplab.datasets.layouts import index_dataset, segment_records
from swaplab.datasets.video_index import write_index
from swaplab.core.fileio import require_writable_dir
from swaplab.study import build, measure

FIXED_MINUTES = 5.0  # sample, extraction, swaps, quality, FR, detectors and report, measured on 2 cores
TIERS = ("lq", "hq")


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


def run(config: DemoConfig) -> Path:
    """Run the whole demo; return the report's path."""
    started = time.perf_counter()
    out = require_writable_dir(config.out)
    save_config(config, out / "demo_config.json")
    say("1/3 embedded sample")
    clips = sample.run(sample.SampleConfig(out=out / "sample", seed=config.seed, seconds=config.seconds))
    segments = segment_records(index_dataset(clips, "folder"), clips, config.seconds / 3)
    index = write_index(segments, clips, out / "sample_index.csv")
    training = max(0.5, config.minutes - FIXED_MINUTES - (time.perf_counter() - started) / 60)
    say(f"2/3 study build: faces, then {len(TIERS)} models of {training / len(TIERS):.1f} min each, then swaps")
    build.run(build.BuildConfig(index=index, out=out, tiers=TIERS, minutes=training / len(TIERS),
                                iterations=config.iterations or 1_000_000, seed=config.seed))
    say("3/3 study run: face-recognition vulnerability, detectors, report")
    page = measure.run(measure.MeasureConfig(build=out, seed=config.seed))
    say(f"done in {(time.perf_counter() - started) / 60:.1f} min")
    return page
