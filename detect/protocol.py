"""Stage ``detect train``: pair-disjoint training and evaluation of a deepfake detector.

Splits by **swap pair**. A fake involves two people: the one it claims
(``identity``) and the one filmed in its dst video (``source_identity``,
whose head, scene and camera it keeps). The model that made it was trained
on that pair, and makes fakes of both people. So identities linked by any
fake form one group (the connected components of the pairs
{identity, source_identity}); a group's real faces and every fake of its
pairs' models go to one split. A detector then never sees, in eval, a fake
from a model whose other fakes it trained on, nor a person or scene it
trained on.

With 4 or more groups, about a quarter of them is eval, a quarter dev, the
rest train; with 2 or 3 groups, the last group is eval and the second half
(by frame) of every train video is dev. When the fakes link every identity
into one group (e.g. two people swapped both ways), no pair-disjoint split
exists: the split falls back to the dst person (``source_identity``),
``pair_disjoint`` is false in metrics.csv and the reason is in metrics.json.

The headline is APCER, BPCER and HTER on eval at the threshold chosen on dev
(the dev EER threshold). Figures at eval's own thresholds are labelled
``_oracle``; AUC is threshold-free. At frame level and video level (mean,
median, max of a video's frame scores; a fake video is keyed by its
``generator_run`` and video id, so two runs that swap the same dst video stay
two videos). Training on one tier (``train_tier``) and evaluating on the
others is the cross-condition test. Fake videos listed in ``excluded``
(failed swaps) are left out and counted in metrics.json.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from swaplab.core import metrics
from swaplab.core.config import save_config
from swaplab.core.errors import SwaplabError, TooFewSamplesError
from swaplab.core.fileio import require_writable_dir, write_json_atomic, write_text_atomic
from swaplab.core.media import read_image
from swaplab.datasets.manifest import (FaceRecord, check_relative_path, faces_only, fake_video_key, matches_excluded,
                                       read_manifest)
from swaplab.datasets.outputs import DetectOutput
from swaplab.detect.base import DETECTORS, save_detector
from swaplab.faces.preprocessing import Preprocessing

AGGREGATIONS = ("mean", "median", "max")

# The columns of metrics.csv, in order, and what each holds (also written into metrics.json).
COLUMNS = {
    "detector": "detector name (see `swaplab detect list`)",
    "level": "frame, or video-mean / video-median / video-max (aggregated frame scores per video)",
    "train_tier": "tier whose fakes were trained on, or `all`",
    "condition": "pooled (trained on all tiers), in-distribution or cross-condition",
    "tier": "attack tier evaluated",
    "pair_disjoint": "true when no swap pair (model) has fakes in two splits; false for the fallback split",
    "threshold": "the dev EER threshold (score >= threshold = attack), applied to eval",
    "dev_eer": "EER on dev, where the threshold was chosen",
    "eval_apcer": "HEADLINE: share of eval attacks scored below the dev threshold (missed)",
    "eval_bpcer": "HEADLINE: share of eval bona fide faces scored at or above the dev threshold",
    "eval_hter": "HEADLINE: (eval_apcer + eval_bpcer) / 2 at the dev threshold",
    "eval_bpcer_at_dev_apcer10": "eval BPCER at the dev threshold giving APCER = 10 % (the study's FRR @ FAR 10 %)",
    "eval_apcer_at_dev_apcer10": "eval APCER at that same dev threshold",
    "eval_auc": "area under the eval ROC: threshold-free",
    "eval_eer_oracle": "EER on eval at eval's own threshold: optimistic, for reference only",
    "eval_bpcer20_oracle": "eval BPCER at eval's own APCER = 5 % threshold: optimistic, for reference only",
    "n_eval_attacks": "eval attack samples (faces or videos, by level)",
    "n_eval_bona_fide": "eval bona fide samples (faces or videos, by level)",
}


@dataclass(frozen=True)
class DetectConfig:
    """Settings of ``swaplab detect train``; ``fake`` maps each tier to its fake-face manifests.

    ``excluded`` names fake videos to leave out (failed swaps): an entry matches a fake row's
    ``video_id``, ``generator_run`` or ``generator_run/video_id``.
    """

    real: tuple[Path, ...]
    fake: dict[str, tuple[Path, ...]]
    out: Path
    detector: str = "iqm-svm"
    train_tier: str | None = None
    frame_step: int = 2
    seed: int = 0
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class FaceTable:
    """Faces and their labels: ``images`` (N, S, S, 3) and a frame with identity (the dst / filmed
    person), claimed, generator_run, video, frame, label, tier; ``excluded`` fake videos left out."""

    images: np.ndarray
    rows: pd.DataFrame
    face_type: str
    excluded: tuple[str, ...] = ()


def video_key(record: FaceRecord) -> str:
    """A video id unique across runs: ``generator_run/video_id`` for fakes, ``identity/video_id`` for real."""
    return fake_video_key(record) if record.generator_run else f"{record.identity}/{record.video_id}"


def is_excluded(record: FaceRecord, excluded: set[str]) -> bool:
    """Whether a fake row's video is listed (by video id, generator run, or ``run/video``)."""
    return bool(record.generator_run) and matches_excluded(record, excluded)


def load_faces(real: Sequence[Path], fake: dict[str, list[Path]], step: int,
               excluded: Sequence[str] = ()) -> FaceTable:
    """Every ``step``-th face of every manifest, with labels (1 = fake); excluded fake videos left out."""
    images, rows, sizes, types, dropped = [], [], set(), set(), set()
    sources = [(m, "", 0) for m in real] + [(m, tier, 1) for tier, ms in fake.items() for m in ms]
    for manifest, tier, label in sources:
        for record in faces_only(read_manifest(manifest))[::step]:
            if (record.label == "fake") != bool(label):
                raise SwaplabError(f"{manifest}: holds {record.label} faces where {'fake' if label else 'real'} were expected")
            if is_excluded(record, set(excluded)):
                dropped.add(video_key(record))
                continue
            image = read_image(check_relative_path(record.crop_path, manifest))
            sizes.add(image.shape)
            types.add(record.face_type)
            images.append(image)
            rows.append((record.source_identity, record.identity, record.generator_run, video_key(record),
                         record.frame_index, label, tier))
    if len(sizes) > 1 or len(types) > 1:
        raise SwaplabError(f"face crops of mixed sizes or face types {sorted(sizes)} {sorted(types)}: "
                           "extract all manifests alike")
    if not images:
        raise SwaplabError("no faces found in the given manifests")
    frame = pd.DataFrame(rows, columns=["identity", "claimed", "generator_run", "video", "frame", "label", "tier"])
    return FaceTable(np.stack(images), frame, types.pop(), tuple(sorted(dropped)))


def pair_groups(rows: pd.DataFrame) -> dict[str, str]:
    """identity -> its group: identities linked by a fake (claimed and dst person) share one group
    (connected components, named by their first identity in sorted order)."""
    parent = {i: i for i in sorted(set(rows.identity) | set(rows.claimed))}

    def root(i: str) -> str:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in set(zip(rows.identity, rows.claimed, strict=True)):
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    return {i: root(i) for i in parent}


def _split_groups(rows: pd.DataFrame, keys: pd.Series, seed: int) -> np.ndarray:
    """train/dev/eval per row from its group key: by groups when >= 4, else last group eval and
    the second half of every other video dev."""
    order = list(np.random.default_rng(seed).permutation(sorted(keys.unique())))
    if len(order) >= 4:
        n_eval = max(1, len(order) // 4)
        groups = {**{g: "eval" for g in order[:n_eval]}, **{g: "dev" for g in order[n_eval:2 * n_eval]}}
        return keys.map(lambda g: groups.get(g, "train")).to_numpy()
    middle = rows.groupby("video").frame.transform("median")
    split = np.where(rows.frame > middle, "dev", "train")
    return np.where(keys == order[-1], "eval", split)


def assign_splits(rows: pd.DataFrame, seed: int) -> tuple[np.ndarray, bool]:
    """'train', 'dev' or 'eval' per face, and whether the split is pair-disjoint.

    Pair-disjoint when the pairs leave at least 2 groups; otherwise split by the dst person
    (``identity``), where one pair's fakes fall on both sides.
    """
    identities = sorted(rows.identity.unique())
    if len(identities) < 2:
        raise SwaplabError(f"faces of {len(identities)} identity: an identity-disjoint split needs at least 2")
    group_of = pair_groups(rows)
    keys = rows.identity.map(group_of)
    if keys.nunique() >= 2:
        return _split_groups(rows, keys, seed), True
    return _split_groups(rows, rows.identity, seed), False


def check_split(rows: pd.DataFrame) -> None:
    for split in ("train", "dev", "eval"):
        part = rows[rows.split == split]
        for label, name in ((0, "real"), (1, "fake")):
            if (part.label == label).sum() < 2:
                raise TooFewSamplesError(f"too few {name} faces in the {split} split ({(part.label == label).sum()}): "
                                   "add videos or identities, or lower --frame-step")


def level_scores(rows: pd.DataFrame, level: str) -> pd.DataFrame:
    """Frame rows as they are, or one row per (video, label, tier, split) aggregated."""
    if level == "frame":
        return rows
    name = level.removeprefix("video-")
    keys = ["video", "identity", "label", "tier", "split"]
    return rows.groupby(keys, as_index=False).score.agg(name)


def tier_metrics(scores: pd.DataFrame, tier: str) -> dict[str, float]:
    """Dev threshold applied to eval for one attack tier (columns: :data:`COLUMNS`)."""
    def part(split: str, label: int) -> np.ndarray:
        sel = (scores.split == split) & (scores.label == label) & ((scores.tier == tier) | (label == 0))
        return scores[sel].score.to_numpy()

    dev_att, dev_bon, ev_att, ev_bon = part("dev", 1), part("dev", 0), part("eval", 1), part("eval", 0)
    if min(map(len, (dev_att, dev_bon, ev_att, ev_bon))) == 0:
        raise TooFewSamplesError(f"tier {tier!r} lacks faces in dev or eval")
    dev_eer, threshold = metrics.detection_eer(dev_att, dev_bon)
    apcer, bpcer = metrics.apcer_bpcer(ev_att, ev_bon, threshold)
    at_far10 = metrics.bpcer_at_apcer(dev_att, dev_bon, 0.10)[1]
    apcer10, bpcer10 = metrics.apcer_bpcer(ev_att, ev_bon, at_far10)
    return {"tier": tier, "threshold": threshold, "dev_eer": dev_eer, "eval_apcer": apcer, "eval_bpcer": bpcer,
            "eval_hter": (apcer + bpcer) / 2, "eval_bpcer_at_dev_apcer10": bpcer10,
            "eval_apcer_at_dev_apcer10": apcer10, "eval_auc": metrics.auc(ev_bon, ev_att),
            "eval_eer_oracle": metrics.detection_eer(ev_att, ev_bon)[0],
            "eval_bpcer20_oracle": metrics.bpcer_at_apcer(ev_att, ev_bon, 0.05)[0],
            "n_eval_attacks": len(ev_att), "n_eval_bona_fide": len(ev_bon)}


def _check_tiers(config: DetectConfig) -> dict[str, list[Path]]:
    fakes = {tier: list(paths) for tier, paths in config.fake.items()}
    if not fakes:
        raise SwaplabError("no fake faces given: pass --fake TIER=MANIFEST")
    if config.train_tier is not None and config.train_tier not in fakes:
        raise SwaplabError(f"--train-tier {config.train_tier!r} is not among the fake tiers {sorted(fakes)}")
    return fakes


def _results(config: DetectConfig, scored: pd.DataFrame, tiers: Sequence[str], pair_disjoint: bool) -> list[dict]:
    results = []
    for level in ("frame", *(f"video-{a}" for a in AGGREGATIONS)):
        for tier in sorted(tiers):
            found = tier_metrics(level_scores(scored, level), tier)
            condition = "pooled" if config.train_tier is None else (
                "in-distribution" if tier == config.train_tier else "cross-condition")
            row = {"detector": config.detector, "level": level, "train_tier": config.train_tier or "all",
                   "condition": condition, "pair_disjoint": pair_disjoint, **found}
            results.append({column: row[column] for column in COLUMNS})
    return results


def run(config: DetectConfig) -> DetectOutput:
    """Train on the train split, threshold on dev, evaluate on eval; return the record of what it wrote."""
    out = require_writable_dir(config.out)
    detector = DETECTORS.get(config.detector)
    fakes = _check_tiers(config)
    faces = load_faces(config.real, fakes, config.frame_step, config.excluded)
    split, pair_disjoint = assign_splits(faces.rows, config.seed)
    rows = faces.rows.assign(split=split)
    check_split(rows)
    train = (rows.split == "train") & ((rows.label == 0) | (config.train_tier is None) | (rows.tier == config.train_tier))
    detector.fit(faces.images[train.to_numpy()], rows.label[train].to_numpy())
    scored = rows[rows.split != "train"].copy()
    scored["score"] = detector.score(faces.images[(rows.split != "train").to_numpy()])
    results = _results(config, scored, list(fakes), pair_disjoint)
    preprocessing = Preprocessing(crop_size=int(faces.images.shape[1]), face_type=faces.face_type,
                                  input_size=int(getattr(detector, "input_size", 0)))
    written = DetectOutput(out)
    save_detector(detector, written.detector, preprocessing)
    write_text_atomic(written.scores, scored.to_csv(index=False))
    note = "" if pair_disjoint else ("the fakes link every identity into one swap group: no pair-disjoint split "
                                     "exists, so the split is by dst person and one pair's fakes fall on both sides")
    write_json_atomic(written.metrics_json, {"results": results, "columns": COLUMNS, "pair_disjoint": pair_disjoint,
                                             "split_note": note, "excluded_fakes": len(faces.excluded),
                                             "excluded_fake_videos": list(faces.excluded),
                                             "preprocessing": preprocessing.as_dict()})
    save_config(config, written.config)
    write_text_atomic(written.metrics_csv, pd.DataFrame(results, columns=list(COLUMNS)).to_csv(index=False))
    return written
