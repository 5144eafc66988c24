"""Training and evaluating the lip-sync detector on videos: the study's protocol, and a sanity set.

:func:`evaluate_lipsync` follows :mod:`swaplab.detect.protocol`: identity-disjoint train / dev / eval
(the same :func:`~swaplab.detect.protocol.assign_splits`, on the two halves of each video, so 2-3
identities split by time as there), the threshold is the EER threshold on dev, applied to eval, per tier,
at clip level (half videos) and video level (mean of a video's halves). Besides the fake tiers it reports
the tier ``shifted-audio``: the dev and eval real clips with their audio delayed or advanced by
``sanity_shift`` seconds, which any working lip-sync detector must catch.

A video without a usable sound track (no audio stream, silence) or without a face is left out: it gets a
``scores.csv`` row with an empty score and the reason, and is counted in ``n_skipped``.

:func:`sanity_check` validates the detector without any swap: real talking heads split by person into
folds; eval people's clips with their own audio (bona fide) against the same clips with the audio shifted
by 0.5-2 s, or with another eval speaker's audio (attacks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from swaplab.core import metrics
from swaplab.core.config import save_config
from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import require_writable_dir, write_json_atomic, write_text_atomic
from swaplab.core.progress import track as progress
from swaplab.datasets.manifest import read_manifest
from swaplab.datasets.outputs import DetectOutput
from swaplab.detect import protocol
from swaplab.detect.lipsync import VIDEO_DETECTORS, mismatch, save_video_detector, shift_audio, sync_correlation
from swaplab.detect.syncfeatures import GRID_FPS, MouthTracker, SyncFeatures, manifest_videos, video_features

SHIFTED_TIER = "shifted-audio"
LEVELS = ("clip", "video-mean")


@dataclass(frozen=True)
class LipsyncVideo:
    """One video to judge: its file, the person filmed in it (``identity``, the dst of a fake), the person
    a fake claims to show (``claimed``; empty = ``identity``; a fake's pair stays in one split), and
    optionally the face manifest that holds its aligned crops (then no face detection is run)."""

    path: Path
    identity: str
    claimed: str = ""
    manifest: Path | None = None


@dataclass(frozen=True)
class LipsyncConfig:
    """Settings of :func:`run`; ``fake`` maps each tier to its fake videos; ``detector`` a name in
    :data:`swaplab.detect.lipsync.VIDEO_DETECTORS` (``lipsync``, the LSTM, or the training-free
    ``sync-correlation``)."""

    real: tuple[LipsyncVideo, ...]
    fake: dict[str, tuple[LipsyncVideo, ...]]
    out: Path
    train_tier: str | None = None
    train_on_fakes: bool = False
    sanity_shift: float = 1.0
    cache: Path | None = None
    device: str = "cpu"
    seed: int = 0
    settings: dict = field(default_factory=dict)
    detector: str = "lipsync"


class NoSoundError(SwaplabError):
    """No video of the set has both a face and a sound track: the lip-sync detector has nothing to judge."""


def videos_from_manifests(manifests: Sequence[Path]) -> list[LipsyncVideo]:
    """One :class:`LipsyncVideo` per source video of face manifests (real or fake), identity = the person
    filmed (``source_identity`` when set, else ``identity``)."""
    found = []
    for manifest in manifests:
        for source, records in manifest_videos(read_manifest(manifest)).items():
            first = records[0]
            found.append(LipsyncVideo(Path(source), first.source_identity or first.identity, first.identity,
                                      Path(manifest)))
    return found


class FeatureLoader:
    """Features of videos, with the reason a video had to be left out."""

    def __init__(self, cache: Path | None, device: str) -> None:
        self.cache, self.tracker, self._manifests = cache, MouthTracker(device=device), {}

    def _records(self, item: LipsyncVideo):
        if item.manifest is None:
            return None
        if item.manifest not in self._manifests:
            self._manifests[item.manifest] = manifest_videos(read_manifest(item.manifest))
        return self._manifests[item.manifest].get(str(item.path))

    def load(self, item: LipsyncVideo) -> tuple[SyncFeatures | None, str]:
        """(features, "scored") or (None, reason); never raises on a bad video."""
        try:
            records = self._records(item)
            found = video_features(item.path, tracker=self.tracker, cache=self.cache,
                                   manifest=item.manifest if records else None, records=records)
        except SwaplabError as err:
            return None, str(err)
        if not np.isfinite(found.mouth).all(axis=1).any():
            return None, f"{item.path}: no face found in any frame"
        return found, "scored"


def _halves(found: SyncFeatures) -> list[SyncFeatures]:
    middle = len(found.times) // 2
    return [found.part(0, middle), found.part(middle, len(found.times))]


def _collect(config: LipsyncConfig, loader: FeatureLoader) -> tuple[pd.DataFrame, list[SyncFeatures], pd.DataFrame]:
    """Clip rows (two halves per usable video), their features, and the skipped videos."""
    rows, clips, skipped = [], [], []
    sources = [(v, "", 0) for v in config.real] + [(v, t, 1) for t, vs in config.fake.items() for v in vs]
    for item, tier, label in progress(sources, "lip-sync features", len(sources)):
        found, status = loader.load(item)
        name = f"{tier or 'real'}/{item.path.stem}"
        if found is None:
            skipped.append({"video": name, "path": str(item.path), "identity": item.identity, "label": label,
                            "tier": tier, "status": status})
            continue
        for half, clip in enumerate(_halves(found)):
            rows.append({"video": name, "path": str(item.path), "identity": item.identity,
                         "claimed": item.claimed or item.identity, "frame": half, "label": label, "tier": tier})
            clips.append(clip)
    return pd.DataFrame(rows), clips, pd.DataFrame(skipped, columns=["video", "path", "identity", "label", "tier",
                                                                     "status"])


def _add_shifted(rows: pd.DataFrame, clips: list[SyncFeatures], shift: float) -> tuple[pd.DataFrame, list]:
    """Out-of-sync copies of the dev and eval real clips (tier ``shifted-audio``), alternating the sign."""
    extra_rows, extra_clips = [], []
    chosen = rows[(rows.label == 0) & (rows.split != "train")]
    for n, (index, row) in enumerate(chosen.iterrows()):
        if len(clips[index].times) <= shift * GRID_FPS + 2:
            continue
        extra_clips.append(shift_audio(clips[index], shift if n % 2 == 0 else -shift))
        extra_rows.append({**row.to_dict(), "video": f"{row.video}#shifted", "label": 1, "tier": SHIFTED_TIER})
    return pd.concat([rows, pd.DataFrame(extra_rows)], ignore_index=True), clips + extra_clips


def _metrics(scored: pd.DataFrame, tiers: Sequence[str], config: LipsyncConfig, n_skipped: int,
             pair_disjoint: bool) -> list[dict]:
    """Rows with :data:`swaplab.detect.protocol.COLUMNS` (level ``clip`` or ``video-mean``) + ``n_skipped``."""
    results = []
    usable = scored[scored.score.notna()]
    for level in LEVELS:
        table = protocol.level_scores(usable, "frame" if level == "clip" else level)
        for tier in tiers:
            condition = "sync-only" if not config.train_on_fakes else "pooled" if config.train_tier is None else (
                "in-distribution" if tier == config.train_tier else "cross-condition")
            row = {"detector": config.detector, "level": level, "train_tier": config.train_tier or "all",
                   "condition": condition, "pair_disjoint": pair_disjoint, **protocol.tier_metrics(table, tier)}
            results.append({column: row[column] for column in protocol.COLUMNS} | {"n_skipped": n_skipped})
    return results


def run(config: LipsyncConfig) -> Path:
    """Train on the train split, threshold on dev, evaluate on eval; return ``metrics.csv``'s path."""
    output = DetectOutput(require_writable_dir(config.out))
    if not config.fake:
        raise SwaplabError("no fake videos given")
    loader = FeatureLoader(config.cache, config.device)
    rows, clips, skipped = _collect(config, loader)
    if rows.empty:
        raise NoSoundError("no video with a face and a sound track: nothing to evaluate")
    rows["split"], pair_disjoint = protocol.assign_splits(rows, config.seed)
    rows, clips = _add_shifted(rows, clips, config.sanity_shift)
    train = (rows.split == "train") & ((rows.label == 0) | (config.train_on_fakes & (
        (config.train_tier is None) | (rows.tier == config.train_tier))))
    detector = VIDEO_DETECTORS.get(config.detector, **{"seed": config.seed, **config.settings})
    detector.fit([clips[i] for i in np.flatnonzero(train)], rows.label[train].to_numpy())
    scored = rows[rows.split != "train"].copy()
    scored["score"] = detector.score([clips[i] for i in scored.index])
    scored["status"] = np.where(scored.score.isna(), "no window with a face and audio", "scored")
    results = _metrics(scored, [*sorted(config.fake), SHIFTED_TIER], config, len(skipped), pair_disjoint)
    save_video_detector(detector, output.detector)
    table = pd.concat([scored.rename(columns={"frame": "clip"}), skipped], ignore_index=True)
    write_text_atomic(output.scores, table.to_csv(index=False))
    write_json_atomic(output.metrics_json, results)
    save_config(config, output.config)
    write_text_atomic(output.metrics_csv, pd.DataFrame(results).to_csv(index=False))
    return output.metrics_csv


def evaluate_lipsync(real_videos: Sequence[LipsyncVideo], fake_videos_by_tier: Mapping[str, Sequence[LipsyncVideo]],
                     out: Path, **options) -> Path:
    """The lip-sync detector on real and fake videos (options: the fields of :class:`LipsyncConfig`).

    Returns the path of ``metrics.csv`` (one row per level x tier; see the module docstring).
    """
    fakes = {tier: tuple(videos) for tier, videos in fake_videos_by_tier.items()}
    return run(LipsyncConfig(real=tuple(real_videos), fake=fakes, out=Path(out), **options))


# --- the sanity set: real talking heads, shifted or swapped audio ---------------------------------------

def _segments(found: SyncFeatures, seconds: float) -> list[tuple[int, int]]:
    length = int(round(seconds * GRID_FPS))
    return [(s, length) for s in range(0, len(found.times) - length + 1, length)]


def _attacks(videos: Sequence[SyncFeatures], seconds: float,
             rng: np.random.Generator) -> list[tuple[str, SyncFeatures]]:
    """Per segment of each video: the audio shifted by 0.5-2 s (either way), and another video's audio."""
    out = []
    for index, found in enumerate(videos):
        for start, length in _segments(found, seconds):
            shifts = [d for d in range(13, 51) for d in (d, -d) if 0 <= start + d <= len(found.times) - length]
            if shifts:
                out.append(("shifted", mismatch(found, found, start, start + int(rng.choice(shifts)), length)))
            others = [v for i, v in enumerate(videos) if i != index and len(v.times) >= length]
            if others:
                other = others[int(rng.integers(len(others)))]
                out.append(("swapped", mismatch(found, other, start, int(rng.integers(len(other.times) - length + 1)),
                                                length)))
    return out


def _fold_scores(detector, videos: Sequence[SyncFeatures], seconds: float, rng) -> pd.DataFrame:
    bona = [("aligned", v.part(s, s + n)) for v in videos for s, n in _segments(v, seconds)]
    items = bona + _attacks(videos, seconds, rng)
    return pd.DataFrame({"kind": [k for k, _ in items], "label": [int(k != "aligned") for k, _ in items],
                         "video": [f.video for _, f in items], "score": detector.score([f for _, f in items])})


def sanity_clips(videos: Sequence[LipsyncVideo], *, cache: Path | None = None, peak_lag: float = 0.2,
                 min_peak: float | None = None) -> tuple[pd.DataFrame, list[tuple[str, SyncFeatures]]]:
    """Which talking heads are fit for the sanity set, by an objective criterion on their own data.

    ``sync_peak`` is :func:`~swaplab.detect.lipsync.sync_correlation` over lags within ``peak_lag`` seconds:
    the peak correlation between the inner-lip gap and the sound's energy. A clip whose sound follows its
    lips has a clear positive peak; music, voice-over or a re-dubbed track has none. A clip passes when it
    has a face and sound and (when ``min_peak`` is given) ``sync_peak >= min_peak``.

    Returns
    -------
    (table, usable)
        table: one row per video (video, identity, status, sync_peak, passes); usable: (identity,
        features) of the passing videos.
    """
    loader = FeatureLoader(cache, "cpu")
    rows, usable = [], []
    for item in videos:
        found, status = loader.load(item)
        peak = sync_correlation(found, int(round(peak_lag * GRID_FPS))) if found is not None else np.nan
        passes = found is not None and (min_peak is None or bool(peak >= min_peak))
        if found is not None and not passes:
            status = f"sync peak {peak:.3f} < {min_peak}"
        rows.append({"video": item.path.stem, "identity": item.identity, "status": status, "sync_peak": peak,
                     "passes": passes})
        if passes:
            usable.append((item.identity, found))
    loader.tracker.close()
    return pd.DataFrame(rows), usable


def sanity_check(videos: Sequence[LipsyncVideo], out: Path, *, folds: int = 4, segment: float = 3.0,
                 cache: Path | None = None, seed: int = 0, settings: Mapping | None = None,
                 detector: str = "lipsync", min_peak: float | None = None) -> pd.DataFrame:
    """Person-disjoint k-fold check on real talking heads; returns and writes the per-fold metrics.

    For fold k: eval = people of fold k, dev = fold k+1 (threshold), train = the rest (real videos only,
    synthetic negatives). Eval and dev: ``segment``-second clips with their own audio (bona fide) vs the
    same clips with audio shifted by 0.5-2 s or taken from another speaker of the same fold (attacks).
    ``detector`` names the :data:`~swaplab.detect.lipsync.VIDEO_DETECTORS` entry; ``min_peak`` keeps only the
    clips that pass :func:`sanity_clips`' criterion. Writes ``scores.csv`` and ``metrics.csv`` through
    :class:`DetectOutput`; rows ``fold = all`` pool the eval scores of every fold.
    """
    output = DetectOutput(require_writable_dir(Path(out)))
    _, usable = sanity_clips(videos, cache=cache, min_peak=min_peak)
    people = sorted({p for p, _ in usable})
    if len(people) < max(3, folds):
        raise SwaplabError(f"the sanity check needs at least {max(3, folds)} people with audio; got {len(people)}")
    rng = np.random.default_rng(seed)
    fold_of = {p: i % folds for i, p in enumerate(rng.permutation(people))}
    scores, rows = [], []
    for fold in range(folds):
        part = {name: [f for p, f in usable if fold_of[p] == k]
                for name, k in (("eval", fold), ("dev", (fold + 1) % folds))}
        train = [f for p, f in usable if fold_of[p] not in (fold, (fold + 1) % folds)]
        model = VIDEO_DETECTORS.get(detector, **{"seed": seed, **(settings or {})}).fit(train, np.zeros(len(train)))
        dev, ev = (_fold_scores(model, part[n], segment, rng).assign(fold=fold, split=n) for n in ("dev", "eval"))
        scores += [dev, ev]
        rows.append(_sanity_metrics(dev, ev, str(fold)))
    table = pd.concat(scores, ignore_index=True)
    evals = table[table.split == "eval"]
    rows.append(_sanity_metrics(None, evals, "all"))
    result = pd.DataFrame(rows).assign(detector=detector)
    write_text_atomic(output.scores, table.to_csv(index=False))
    write_text_atomic(output.metrics_csv, result.to_csv(index=False))
    return result


def _sanity_metrics(dev: pd.DataFrame | None, ev: pd.DataFrame, fold: str) -> dict:
    def split(frame):
        frame = frame[frame.score.notna()]
        return frame[frame.label == 1].score.to_numpy(), frame[frame.label == 0].score.to_numpy()

    attacks, bona = split(ev)
    row = {"fold": fold, "n_bona_fide": len(bona), "n_attacks": len(attacks),
           "eval_eer": metrics.detection_eer(attacks, bona)[0], "auc": metrics.auc(bona, attacks)}
    for kind in ("shifted", "swapped"):
        part = ev[ev.kind == kind].score.dropna().to_numpy()
        row[f"eer_{kind}"] = metrics.detection_eer(part, bona)[0] if len(part) else np.nan
    if dev is not None:
        apcer, bpcer = metrics.apcer_bpcer(attacks, bona, metrics.detection_eer(*split(dev))[1])
        row |= {"eval_hter": (apcer + bpcer) / 2, "eval_apcer": apcer, "eval_bpcer": bpcer}
    return row
