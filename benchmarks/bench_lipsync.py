"""Lip-sync detector speed (video-seconds scored per CPU-second) and its sanity set on real talking heads.

Usage: python benchmarks/bench_lipsync.py [VIDEO ...]
       python benchmarks/bench_lipsync.py --sanity OUT [--min-peak 0.2]
       (default videos: ../shared/media/talking/*.mp4 with audio)

Times CPU seconds (``time.process_time``: every thread of this process, so a loaded machine does not
inflate it; on a shared machine CPU time, not wall time, is the fair measure), per stage, before and after
in the same run:

* ``audio``: decode the sound track (PyAV), resample to 16 kHz, MFCCs, align to the 25 Hz grid;
* ``mouth static (before)``: decode every frame, MTCNN on the first, static Face Mesh on a 192 px aligned
  crop of every frame; ``mouth tracking (after)``: Face Mesh in tracking mode on whole frames;
* ``lstm``: PCA + LSTM over 1 s windows every 0.2 s, given the features, with torch on 2 intra-op threads
  (before) or 1 (after, what :meth:`LipSyncDetector.score` does now);
* ``cached``: scoring a video whose features are in the cache (audio check + npz load + LSTM).

Target (issue 13): >= 100 video-seconds per CPU-second. ``--sanity OUT`` runs instead the clip criterion
(:func:`swaplab.detect.lipsync_protocol.sanity_clips`) and the person-disjoint sanity check of the LSTM and
of the LSTM with products and of the correlation baseline, on all clips and on the passing ones, tables into OUT.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from swaplab.detect import audio
from swaplab.detect.lipsync import LipSyncDetector
from swaplab.detect.lipsync_protocol import LipsyncVideo, sanity_check, sanity_clips
from swaplab.detect.syncfeatures import MouthTracker, combine, video_features

TALKING = Path(__file__).resolve().parents[2] / "shared" / "media" / "talking"


def cpu(function, *args, **kwargs):
    start = time.process_time()
    result = function(*args, **kwargs)
    return result, time.process_time() - start


def with_audio(paths: list[Path]) -> list[Path]:
    kept = []
    for path in paths:
        try:
            audio.read_audio(path)
            kept.append(path)
        except audio.NoAudioError as err:
            print(f"left out: {err}")
    return kept


def measure(videos: list[Path]) -> None:
    """CPU seconds per stage, before (static crops, 2 torch threads) and after (tracking, 1 thread)."""
    static, tracking = MouthTracker(tracking=False), MouthTracker()
    totals = dict.fromkeys(("audio", "mouth static (before)", "mouth tracking (after)", "lstm 2 threads (before)",
                            "lstm 1 thread (after)", "cached"), 0.0)
    features, seconds = [], 0.0
    with tempfile.TemporaryDirectory() as cache:
        for path in videos:
            totals["mouth static (before)"] += cpu(static.track, path)[1]
            (times, mouth), t_mouth = cpu(tracking.track, path)
            found, t_audio = cpu(lambda p=path, t=times, m=mouth: combine(str(p), t, m, audio.read_audio(p)))
            video_features(path, tracker=tracking, cache=Path(cache))  # fill the cache
            features.append(found)
            seconds += found.duration
            totals["audio"] += t_audio
            totals["mouth tracking (after)"] += t_mouth
        detector = LipSyncDetector(epochs=2).fit(features, np.zeros(len(features)))
        for path, found in zip(videos, features, strict=True):
            totals["lstm 2 threads (before)"] += cpu(detector.window_scores, found)[1]
            totals["lstm 1 thread (after)"] += cpu(detector.score, [found])[1]
            totals["cached"] += cpu(lambda p=path: detector.score([video_features(p, tracker=tracking,
                                                                                  cache=Path(cache))]))[1]
    print(f"{len(videos)} videos, {seconds:.1f} video-seconds, torch threads {torch.get_num_threads()}")
    for name, spent in totals.items():
        print(f"{name:>24}: {spent:7.2f} CPU-s  {seconds / spent:8.1f} video-s per CPU-s")
    for name, parts in (("cold before (static + audio + lstm 2 thr)", ("mouth static (before)", "audio",
                                                                         "lstm 2 threads (before)")),
                        ("cold after (tracking + audio + lstm 1 thr)", ("mouth tracking (after)", "audio",
                                                                         "lstm 1 thread (after)")),
                        ("mouth given, after (audio + lstm)", ("audio", "lstm 1 thread (after)"))):
        spent = sum(totals[p] for p in parts)
        print(f"{name}: {seconds / spent:.1f} video-s per CPU-s")


def sanity(out: Path, min_peak: float) -> None:
    """The sanity set's clip criterion, then both detectors on all clips and on the passing clips."""
    videos = [LipsyncVideo(p, p.stem) for p in sorted(TALKING.glob("*.mp4"))]
    cache = out / "cache"
    clips, _ = sanity_clips(videos, cache=cache, min_peak=min_peak)
    print(clips.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for label, detector, settings in (("lipsync", "lipsync", {}), ("lipsync-products", "lipsync", {"products": True}),
                                      ("sync-correlation", "sync-correlation", {})):
        for name, peak in (("all", None), ("passing", min_peak)):
            table = sanity_check(videos, out / f"{label}-{name}", cache=cache, detector=detector, min_peak=peak,
                                 settings=settings)
            print(f"--- {label}, {name} clips")
            print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", type=Path, nargs="*")
    parser.add_argument("--sanity", type=Path, help="run the sanity check instead, tables into this folder")
    parser.add_argument("--min-peak", type=float, default=0.2, help="sanity set: least sync peak a clip needs")
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.sanity:
        sanity(args.sanity, args.min_peak)
    else:
        measure(with_audio(args.videos or sorted(TALKING.glob("*.mp4"))))


if __name__ == "__main__":
    main()
