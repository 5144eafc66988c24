"""Stage ``detect train``: identity-disjoint training and evaluation of a deepfake detector.

Splits by identity. A fake involves two people; it counts as the person
filmed in its source video (``source_identity``: the dst whose head, scene
and camera it keeps), so a detector cannot pass by recognising scenes: with
2 people, splitting fakes by the face they claim puts every eval fake in a
train person's scene and inverts the detector (measured: EER 100 % on the
sample). With 4 or more
identities, about half train, a quarter is dev and a quarter eval; with 2 or
3, the last identity is eval and the second half (by frame) of every train
video is dev. The threshold is the detector's EER on dev, applied to eval.

For each attack tier on eval: EER, HTER (at the dev threshold), AUC, FRR at
FAR = 10 % (BPCER at APCER 10 %, the study's second figure) and BPCER20, at
frame level and video level (mean, median, max of a video's frame scores,
grouped by video id). Training on one tier (``train_tier``) and evaluating
on the others is the cross-condition test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from swaplab.core.config import save_config
from swaplab.datasets.manifest import check_relative_path, faces_only, read_manifest
from swaplab.detect.base import DETECTORS, save_detector
from swaplab.core.errors import SwaplabError
from swaplab.core import metrics
from swaplab.core.fileio import require_writable_dir, write_json_atomic, write_text_atomic
from swaplab.core.media import read_image

AGGREGATIONS = ("mean", "median", "max")


@dataclass(frozen=True)
class DetectConfig:
    """Settings of ``swaplab detect train``; ``fake`` maps each tier to its fake-face manifests."""

    real: tuple[Path, ...]
    fake: dict[str, tuple[Path, ...]]
    out: Path
    detector: str = "iqm-svm"
    train_tier: str | None = None
    frame_step: int = 2
    seed: int = 0


@dataclass(frozen=True)
class FaceTable:
    """Faces and their labels: ``images`` (N, S, S, 3) and a frame with identity, video, frame, label, tier."""

    images: np.ndarray
    rows: pd.DataFrame
    face_type: str


def load_faces(real: Sequence[Path], fake: dict[str, list[Path]], step: int) -> FaceTable:
    """Every ``step``-th face of every manifest, with labels (1 = fake)."""
    images, rows, sizes, types = [], [], set(), set()
    sources = [(m, "", 0) for m in real] + [(m, tier, 1) for tier, ms in fake.items() for m in ms]
    for manifest, tier, label in sources:
        for record in faces_only(read_manifest(manifest))[::step]:
            if (record.label == "fake") != bool(label):
                raise SwaplabError(f"{manifest}: holds {record.label} faces where {'fake' if label else 'real'} were expected")
            image = read_image(check_relative_path(record.crop_path, manifest))
            sizes.add(image.shape)
            types.add(record.face_type)
            images.append(image)
            rows.append((record.source_identity, f"{manifest.parent.name}/{record.video_id}", record.frame_index,
                         label, tier))
    if len(sizes) > 1 or len(types) > 1:
        raise SwaplabError(f"face crops of mixed sizes or face types {sorted(sizes)} {sorted(types)}: "
                           "extract all manifests alike")
    if not images:
        raise SwaplabError("no faces found in the given manifests")
    frame = pd.DataFrame(rows, columns=["identity", "video", "frame", "label", "tier"])
    return FaceTable(np.stack(images), frame, types.pop())


def assign_splits(rows: pd.DataFrame, seed: int) -> np.ndarray:
    """'train', 'dev' or 'eval' per face, identity-disjoint between train/dev and eval."""
    identities = sorted(rows.identity.unique())
    if len(identities) < 2:
        raise SwaplabError(f"faces of {len(identities)} identity: an identity-disjoint split needs at least 2")
    order = list(np.random.default_rng(seed).permutation(identities))
    if len(order) >= 4:
        n_eval = max(1, len(order) // 4)
        groups = {**{i: "eval" for i in order[:n_eval]}, **{i: "dev" for i in order[n_eval:2 * n_eval]}}
        return rows.identity.map(lambda i: groups.get(i, "train")).to_numpy()
    evaluation = set(order[-1:])
    middle = rows.groupby("video").frame.transform("median")
    split = np.where(rows.frame > middle, "dev", "train")
    return np.where(rows.identity.isin(evaluation), "eval", split)


def check_split(rows: pd.DataFrame) -> None:
    for split in ("train", "dev", "eval"):
        part = rows[rows.split == split]
        for label, name in ((0, "real"), (1, "fake")):
            if (part.label == label).sum() < 2:
                raise SwaplabError(f"too few {name} faces in the {split} split ({(part.label == label).sum()}): "
                                   "add videos or identities, or lower --frame-step")


def level_scores(rows: pd.DataFrame, level: str) -> pd.DataFrame:
    """Frame rows as they are, or one row per (video, label, tier, split) aggregated."""
    if level == "frame":
        return rows
    name = level.removeprefix("video-")
    keys = ["video", "identity", "label", "tier", "split"]
    return rows.groupby(keys, as_index=False).score.agg(name)


def tier_metrics(scores: pd.DataFrame, tier: str) -> dict[str, float]:
    """Dev threshold applied to eval for one attack tier."""
    def part(split: str, label: int) -> np.ndarray:
        sel = (scores.split == split) & (scores.label == label) & ((scores.tier == tier) | (label == 0))
        return scores[sel].score.to_numpy()

    dev_att, dev_bon, ev_att, ev_bon = part("dev", 1), part("dev", 0), part("eval", 1), part("eval", 0)
    if min(map(len, (dev_att, dev_bon, ev_att, ev_bon))) == 0:
        raise SwaplabError(f"tier {tier!r} lacks faces in dev or eval")
    dev_eer, threshold = metrics.detection_eer(dev_att, dev_bon)
    apcer, bpcer = metrics.apcer_bpcer(ev_att, ev_bon, threshold)
    return {"tier": tier, "dev_eer": dev_eer, "threshold": threshold, "eval_eer": metrics.detection_eer(ev_att, ev_bon)[0],
            "eval_hter": (apcer + bpcer) / 2, "eval_apcer": apcer, "eval_bpcer": bpcer,
            "auc": metrics.auc(ev_bon, ev_att), "frr_at_far10": metrics.bpcer_at_apcer(ev_att, ev_bon, 0.10)[0],
            "bpcer20": metrics.bpcer_at_apcer(ev_att, ev_bon, 0.05)[0], "n_eval": len(ev_att) + len(ev_bon)}


def run(config: DetectConfig) -> Path:
    """Train on the train split, threshold on dev, evaluate on eval; return ``metrics.csv``."""
    out = require_writable_dir(config.out)
    detector = DETECTORS.get(config.detector)
    fakes = {tier: list(paths) for tier, paths in config.fake.items()}
    if not fakes:
        raise SwaplabError("no fake faces given: pass --fake TIER=MANIFEST")
    if config.train_tier is not None and config.train_tier not in fakes:
        raise SwaplabError(f"--train-tier {config.train_tier!r} is not among the fake tiers {sorted(fakes)}")
    faces = load_faces(config.real, fakes, config.frame_step)
    rows = faces.rows.assign(split=assign_splits(faces.rows, config.seed))
    check_split(rows)
    train = (rows.split == "train") & ((rows.label == 0) | (config.train_tier is None) | (rows.tier == config.train_tier))
    detector.fit(faces.images[train.to_numpy()], rows.label[train].to_numpy())
    scored = rows[rows.split != "train"].copy()
    scored["score"] = detector.score(faces.images[(rows.split != "train").to_numpy()])
    results = []
    for level in ("frame", *(f"video-{a}" for a in AGGREGATIONS)):
        for tier in sorted(fakes):
            found = tier_metrics(level_scores(scored, level), tier)
            condition = "pooled" if config.train_tier is None else (
                "in-distribution" if tier == config.train_tier else "cross-condition")
            results.append({"detector": config.detector, "level": level, "train_tier": config.train_tier or "all",
                            "condition": condition, **found})
    save_detector(detector, out / "detector")
    write_json_atomic(out / "detector" / "crops.json", {"crop_size": int(faces.images.shape[1]),
                                                         "face_type": faces.face_type})
    write_text_atomic(out / "scores.csv", scored.to_csv(index=False))
    table = pd.DataFrame(results)
    write_json_atomic(out / "metrics.json", results)
    save_config(config, out / "detect_config.json")
    target = out / "metrics.csv"
    write_text_atomic(target, table.to_csv(index=False))
    return target
