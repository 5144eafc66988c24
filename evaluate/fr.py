"""Stage ``evaluate fr``: how often face recognition accepts deepfakes (Korshunov & Marcel).

For each FR backend: embed enrolment and probe faces, compare each probe
with the enrolled templates, then per level (frame, video) and attack tier:

* licit scenario (genuine vs zero-effort impostors): EER on dev sets the
  threshold; FMR, FNMR and HTER on eval at it;
* attacks: IAPMR on eval at the licit EER threshold (the study's "FAR on
  deepfakes"), and FNMR and IAPMR at thresholds giving FMR = 1 % and 0.1 % on dev;
* 95 % intervals: Clopper-Pearson for each rate, and a bootstrap over subjects.

Video level: the mean of a video's frame scores against each template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from swaplab.core.config import save_config
from swaplab.core.errors import SwaplabError
from swaplab.core import metrics
from swaplab.faces.backends import FR_BACKENDS, FRBackend, mean_template
from swaplab.faces.embed import embed_records
from swaplab.evaluate.protocol import Face, Probe, assign_probes, check_inputs, choose_split, load_faces
from swaplab.core.fileio import require_writable_dir, write_json_atomic, write_text_atomic

FMR_TARGETS = (0.01, 0.001)

SCORE_TABLE = "scores.csv"


@dataclass(frozen=True)
class FRConfig:
    """Settings of ``swaplab evaluate fr``.

    ``attacks`` entries are ``TIER=MANIFEST`` (e.g. ``hq=fakes/hq/faces.csv``).
    """

    genuine: tuple[Path, ...]
    out: Path
    attacks: dict[str, tuple[Path, ...]] = field(default_factory=dict)
    backends: tuple[str, ...] = ("facenet", "lbp")
    split: str = "auto"
    bootstrap: int = 500
    seed: int = 0
    device: str = "auto"


def templates(embeddings: np.ndarray, enrolment: Sequence[Face]) -> dict[str, np.ndarray]:
    """identity -> L2-normalised mean embedding of its enrolment faces."""
    ids = np.array([f.record.identity for f in enrolment])
    return {identity: mean_template(embeddings[ids == identity]) for identity in sorted(set(ids))}


def score_table(backend: FRBackend, enrolment: Sequence[Face], probes: Sequence[Probe], split_mode: str) -> pd.DataFrame:
    """One row per (probe face, claimed identity) comparison, frame level."""
    gallery = templates(embed_records(backend, [(f.record, f.manifest) for f in enrolment], label="enrol"),
                        enrolment)
    probe_rows = embed_records(backend, [(p.face.record, p.face.manifest) for p in probes], label="probe")
    split_of = _identity_splits(probes) if split_mode == "identity" else {}
    rows = []
    for probe, embedding in zip(probes, probe_rows, strict=True):
        rec = probe.face.record
        claims = [rec.identity] if probe.kind == "attack" else [
            c for c in gallery if not split_of or split_of.get(c) == probe.split]
        for claimed in claims:
            kind = "attack" if probe.kind == "attack" else "genuine" if claimed == rec.identity else "zei"
            rows.append((claimed, rec.identity, f"{rec.video_id}#{rec.frame_index}", rec.video_id, kind,
                         probe.split, probe.tier, float(embedding @ gallery[claimed])))
    return pd.DataFrame(rows, columns=["claimed", "real", "probe", "video", "kind", "split", "tier", "score"])


def _identity_splits(probes: Sequence[Probe]) -> dict[str, str]:
    return {p.face.record.identity: p.split for p in probes if p.kind == "genuine"}


def video_level(frames: pd.DataFrame) -> pd.DataFrame:
    """Mean frame score per (video, claimed identity)."""
    keys = ["claimed", "real", "video", "kind", "split", "tier"]
    videos = frames.groupby(keys, as_index=False)["score"].mean()
    videos["probe"] = videos["video"]
    return videos[frames.columns]


def _rate_with_ci(errors: int, total: int) -> dict[str, float]:
    low, high = metrics.clopper_pearson(errors, total)
    return {"value": errors / total if total else float("nan"), "ci_low": low, "ci_high": high, "n": total}


def scenario_metrics(scores: pd.DataFrame, tier: str, rounds: int, seed: int) -> dict[str, object]:
    """Licit and attack figures for one tier, thresholds from dev applied to eval."""
    part = {(kind, split): scores[(scores.kind == kind) & (scores.split == split)
                                  & ((scores.tier == tier) | (kind != "attack"))]
            for kind in ("genuine", "zei", "attack") for split in ("dev", "eval")}
    for (kind, split), frame in part.items():
        if frame.empty:
            raise SwaplabError(f"no {kind} scores in the {split} split for tier {tier!r}: add probe videos")
    dev_eer, threshold = metrics.eer(part["zei", "dev"].score, part["genuine", "dev"].score)
    ev_neg, ev_pos, ev_att = part["zei", "eval"], part["genuine", "eval"], part["attack", "eval"]
    fmr, fnmr = metrics.fmr_fnmr(ev_neg.score, ev_pos.score, threshold)
    result: dict[str, object] = {
        "tier": tier, "dev_eer": dev_eer, "threshold": threshold,
        "eval_eer": metrics.eer(ev_neg.score, ev_pos.score)[0], "eval_hter": (fmr + fnmr) / 2,
        "eval_fmr": _rate_with_ci(int(round(fmr * len(ev_neg))), len(ev_neg)),
        "eval_fnmr": _rate_with_ci(int(round(fnmr * len(ev_pos))), len(ev_pos)),
        "iapmr": _rate_with_ci(int((ev_att.score >= threshold).sum()), len(ev_att)),
        "iapmr_subject_ci": metrics.subject_bootstrap(
            lambda att: metrics.iapmr(att, threshold), [(ev_att.score.to_numpy(), ev_att.claimed.to_numpy())],
            rounds=rounds, seed=seed),
    }
    for target in FMR_TARGETS:
        at = metrics.threshold_at_fmr(part["zei", "dev"].score, part["genuine", "dev"].score, target)
        result[f"fmr{target:g}"] = {
            "threshold": at, "eval_fnmr": metrics.fmr_fnmr(ev_neg.score, ev_pos.score, at)[1],
            "iapmr": _rate_with_ci(int((ev_att.score >= at).sum()), len(ev_att))}
    return result


def write_score_files(scores: pd.DataFrame, folder: Path) -> None:
    """The whole score table (``scores.csv``), and four-column score files (claimed real probe score),
    bob-style, per split and scenario."""
    write_text_atomic(folder / SCORE_TABLE, scores.to_csv(index=False))
    for split in ("dev", "eval"):
        licit = scores[(scores.split == split) & scores.kind.isin(["genuine", "zei"])]
        _write_scores(licit, folder / f"licit-{split}.txt")
        for tier in sorted(t for t in scores.tier.unique() if t):
            attack = scores[(scores.split == split) & ((scores.kind == "genuine")
                                                        | ((scores.kind == "attack") & (scores.tier == tier)))]
            _write_scores(attack, folder / f"spoof-{tier}-{split}.txt")


def _write_scores(frame: pd.DataFrame, target: Path) -> None:
    lines = [f"{r.claimed} {r.real} {r.probe} {r.score:.6f}" for r in frame.itertuples()]
    write_text_atomic(target, "\n".join(lines) + "\n")


def flat_row(backend: str, level: str, m: dict) -> dict[str, object]:
    """The headline figures of one backend x level x tier, as a table row."""
    return {"backend": backend, "level": level, "tier": m["tier"], "dev_eer": m["dev_eer"],
            "eval_hter": m["eval_hter"], "iapmr": m["iapmr"]["value"],
            "iapmr_ci_low": m["iapmr"]["ci_low"], "iapmr_ci_high": m["iapmr"]["ci_high"],
            "iapmr_fmr1%": m["fmr0.01"]["iapmr"]["value"], "fnmr_fmr1%": m["fmr0.01"]["eval_fnmr"],
            "iapmr_fmr0.1%": m["fmr0.001"]["iapmr"]["value"], "fnmr_fmr0.1%": m["fmr0.001"]["eval_fnmr"],
            "n_attacks_eval": m["iapmr"]["n"]}


def run(config: FRConfig) -> Path:
    """Run the protocol; write scores, metrics (CSV, JSON) and figures; return ``metrics.csv``."""
    out = require_writable_dir(config.out)
    genuine = load_faces(config.genuine, "real")
    attacks = {tier: load_faces(paths, "fake") for tier, paths in config.attacks.items()}
    if not attacks:
        raise SwaplabError("no attack set given: pass --attacks TIER=MANIFEST (deepfake faces)")
    videos = check_inputs(genuine, attacks)
    split = choose_split(config.split, videos, attacks)
    enrolment, probes = assign_probes(genuine, attacks, videos, split)
    rows, details = [], {"split": split, "enrolment_videos": {i: v[0] for i, v in videos.items()}, "results": []}
    for name in config.backends:
        backend = FR_BACKENDS.get(name, **({"device": config.device} if name == "facenet" else {}))
        frames = score_table(backend, enrolment, probes, split)
        for level, scores in (("frame", frames), ("video", video_level(frames))):
            write_score_files(scores, out / "scores" / name / level)
            for tier in sorted(attacks):
                found = scenario_metrics(scores, tier, config.bootstrap, config.seed)
                rows.append(flat_row(name, level, found))
                details["results"].append({"backend": name, "level": level, **found})
    table = pd.DataFrame(rows)
    write_json_atomic(out / "metrics.json", details)
    save_config(config, out / "fr_config.json")
    target = out / "metrics.csv"
    write_text_atomic(target, table.to_csv(index=False))
    return target
