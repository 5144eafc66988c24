"""Stage ``evaluate fr``: how often face recognition accepts deepfakes (Korshunov & Marcel).

For each FR backend: embed enrolment and probe faces, compare each probe
with the enrolled templates, then per level (frame, video) and attack tier:

* licit scenario (genuine vs zero-effort impostors): the EER threshold is
  chosen on dev; FMR, FNMR and HTER on eval at it (``eval_eer_oracle`` is the
  eval EER at eval's own threshold, for reference only);
* attacks: IAPMR on eval at the dev EER threshold (the study's "FAR on
  deepfakes"); FNMR and IAPMR on eval at the dev thresholds giving FMR = 1 %
  and 0.1 %, reported only when dev holds at least 3 / FMR impostor scores
  (else NaN, with the reason in ``metrics.json``);
* intervals (95 %): Clopper-Pearson *per comparison* (every frame taken as
  independent: too narrow when a video's frames are alike), and a bootstrap
  that resamples subjects, then videos within them, and recomputes the dev
  threshold on every resample; it is NaN (with a note) below 5 subjects.

Video level: the mean of a video's frame scores against each template; a
fake video is keyed by (generator_run, video_id), so two runs that swap the
same dst video stay two videos. Fake videos listed in ``excluded`` (e.g.
failed swaps) are left out of the attacks and counted in ``metrics.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from swaplab.core import metrics
from swaplab.core.config import save_config
from swaplab.core.errors import SwaplabError, TooFewSamplesError
from swaplab.datasets.outputs import SCORE_TABLE, FROutput
from swaplab.core.fileio import require_writable_dir, write_json_atomic, write_text_atomic
from swaplab.evaluate.protocol import (Face, Probe, assign_probes, check_inputs, choose_split, exclude_fakes,
                                       load_faces, video_key)
from swaplab.faces.backends import FR_BACKENDS, FRBackend, mean_template
from swaplab.faces.embed import embed_records

FMR_TARGETS = {"1pct": 0.01, "0p1pct": 0.001}


DEFAULT_BACKENDS = ("facenet", "dlib", "lbp")

# The columns of metrics.csv, in order, and what each holds (also written into metrics.json).
COLUMNS = {
    "backend": "FR backend (see `swaplab evaluate backends`)",
    "level": "frame (one comparison per face) or video (mean frame score per video and template)",
    "tier": "attack tier (fake set)",
    "split": "how probes were split into dev and eval: identity, video or segment",
    "dev_eer": "licit EER on dev (genuine vs zero-effort impostors); its threshold is `threshold`",
    "threshold": "the dev EER threshold, applied to eval (score >= threshold = accepted)",
    "eval_fmr": "licit FMR on eval at the dev threshold",
    "eval_fnmr": "licit FNMR on eval at the dev threshold",
    "eval_hter": "(eval_fmr + eval_fnmr) / 2 at the dev threshold",
    "eval_eer_oracle": "EER on eval at eval's own threshold: optimistic, for reference only",
    "iapmr": "HEADLINE: share of eval attack comparisons accepted at the dev threshold",
    "iapmr_cp_low": "Clopper-Pearson 95 % interval of iapmr, per comparison (frames taken as independent)",
    "iapmr_cp_high": "upper end of that Clopper-Pearson interval",
    "iapmr_boot_low": "subject+video bootstrap 95 % interval of iapmr, dev threshold recomputed per resample; "
                      "NaN below 5 subjects (reason in metrics.json)",
    "iapmr_boot_high": "upper end of that bootstrap interval",
    "fnmr_at_fmr_1pct": "eval FNMR at the dev threshold giving FMR = 1 %; NaN when dev has < 300 impostor scores",
    "iapmr_at_fmr_1pct": "eval IAPMR at that threshold; NaN likewise",
    "fnmr_at_fmr_0p1pct": "eval FNMR at the dev threshold giving FMR = 0.1 %; NaN when dev has < 3000 impostor "
                          "scores",
    "iapmr_at_fmr_0p1pct": "eval IAPMR at that threshold; NaN likewise",
    "n_subjects": "distinct subjects among the bootstrap's groups (dev licit and eval attack), fewest of them",
    "n_zei_dev": "dev zero-effort impostor comparisons",
    "n_genuine_eval": "eval genuine comparisons",
    "n_zei_eval": "eval zero-effort impostor comparisons",
    "n_attacks_eval": "eval attack comparisons",
}


@dataclass(frozen=True)
class FRConfig:
    """Settings of ``swaplab evaluate fr``.

    ``attacks`` maps a tier to its fake-face manifests. ``excluded`` names fake videos to leave out
    (failed swaps): an entry matches a fake row's ``video_id``, ``generator_run`` or
    ``generator_run/video_id``.
    """

    genuine: tuple[Path, ...]
    out: Path
    attacks: dict[str, tuple[Path, ...]] = field(default_factory=dict)
    backends: tuple[str, ...] = DEFAULT_BACKENDS
    split: str = "auto"
    bootstrap: int = 500
    seed: int = 0
    device: str = "auto"
    excluded: tuple[str, ...] = ()


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
        video = video_key(rec)
        for claimed in claims:
            kind = "attack" if probe.kind == "attack" else "genuine" if claimed == rec.identity else "zei"
            rows.append((claimed, rec.identity, f"{video}#{rec.frame_index}", video, kind,
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


def _rate(errors: int, total: int) -> dict[str, object]:
    interval = metrics.clopper_pearson_interval(errors, total)
    return {"value": errors / total if total else float("nan"), "n": total, "ci_low": interval.low,
            "ci_high": interval.high, "ci_method": interval.method}


def _parts(scores: pd.DataFrame, tier: str) -> dict[tuple[str, str], pd.DataFrame]:
    part = {(kind, split): scores[(scores.kind == kind) & (scores.split == split)
                                  & ((scores.tier == tier) | (kind != "attack"))]
            for kind in ("genuine", "zei", "attack") for split in ("dev", "eval")}
    for (kind, split), frame in part.items():
        if frame.empty:
            raise TooFewSamplesError(f"no {kind} scores in the {split} split for tier {tier!r}: add probe videos")
    return part


def iapmr_bootstrap(part: dict[tuple[str, str], pd.DataFrame], rounds: int, seed: int) -> metrics.Interval:
    """IAPMR interval over subjects (the probe's person) and their videos; the dev EER threshold is
    recomputed on every resample."""
    groups = [(f.score.to_numpy(), f.real.to_numpy(), f.video.to_numpy())
              for f in (part["zei", "dev"], part["genuine", "dev"], part["attack", "eval"])]
    return metrics.subject_bootstrap(lambda neg, pos, att: metrics.iapmr(att, metrics.eer(neg, pos)[1]), groups,
                                     rounds=rounds, seed=seed)


def operating_points(part: dict[tuple[str, str], pd.DataFrame]) -> dict[str, dict[str, object]]:
    """FNMR and IAPMR on eval at the dev thresholds of FMR_TARGETS, NaN with a reason when unresolvable."""
    dev_neg, dev_pos = part["zei", "dev"].score, part["genuine", "dev"].score
    ev_neg, ev_pos, ev_att = part["zei", "eval"].score, part["genuine", "eval"].score, part["attack", "eval"].score
    found = {}
    for name, target in FMR_TARGETS.items():
        at, reason = metrics.operating_point(dev_neg, dev_pos, target)
        nan = float("nan")
        found[name] = {"target_fmr": target, "threshold": at, "n_dev_impostors": len(dev_neg), "reason": reason,
                       "eval_fnmr": nan if reason else metrics.fmr_fnmr(ev_neg, ev_pos, at)[1],
                       "iapmr": nan if reason else metrics.iapmr(ev_att, at)}
    return found


def scenario_metrics(scores: pd.DataFrame, tier: str, rounds: int, seed: int) -> dict[str, object]:
    """Licit and attack figures for one tier, thresholds from dev applied to eval."""
    part = _parts(scores, tier)
    dev_eer, threshold = metrics.eer(part["zei", "dev"].score, part["genuine", "dev"].score)
    ev_neg, ev_pos, ev_att = part["zei", "eval"], part["genuine", "eval"], part["attack", "eval"]
    fmr, fnmr = metrics.fmr_fnmr(ev_neg.score, ev_pos.score, threshold)
    boot = iapmr_bootstrap(part, rounds, seed)
    return {
        "tier": tier, "dev_eer": dev_eer, "threshold": threshold,
        "eval_fmr": _rate(int(round(fmr * len(ev_neg))), len(ev_neg)),
        "eval_fnmr": _rate(int(round(fnmr * len(ev_pos))), len(ev_pos)), "eval_hter": (fmr + fnmr) / 2,
        "eval_eer_oracle": metrics.eer(ev_neg.score, ev_pos.score)[0],
        "iapmr": _rate(int((ev_att.score >= threshold).sum()), len(ev_att)),
        "iapmr_bootstrap": boot.as_dict(),
        "n_subjects": min(part[k].real.nunique() for k in (("zei", "dev"), ("genuine", "dev"), ("attack", "eval"))),
        "operating_points": operating_points(part),
        "counts": {f"{kind}_{split}": len(frame) for (kind, split), frame in part.items()},
    }


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


def flat_row(backend: str, level: str, split: str, m: dict) -> dict[str, object]:
    """The figures of one backend x level x tier as a metrics.csv row (columns: :data:`COLUMNS`)."""
    ops = m["operating_points"]
    row = {"backend": backend, "level": level, "tier": m["tier"], "split": split, "dev_eer": m["dev_eer"],
           "threshold": m["threshold"], "eval_fmr": m["eval_fmr"]["value"], "eval_fnmr": m["eval_fnmr"]["value"],
           "eval_hter": m["eval_hter"], "eval_eer_oracle": m["eval_eer_oracle"], "iapmr": m["iapmr"]["value"],
           "iapmr_cp_low": m["iapmr"]["ci_low"], "iapmr_cp_high": m["iapmr"]["ci_high"],
           "iapmr_boot_low": m["iapmr_bootstrap"]["low"], "iapmr_boot_high": m["iapmr_bootstrap"]["high"]}
    for name in FMR_TARGETS:
        row[f"fnmr_at_fmr_{name}"] = ops[name]["eval_fnmr"]
        row[f"iapmr_at_fmr_{name}"] = ops[name]["iapmr"]
    counts = m["counts"]
    row.update({"n_subjects": m["n_subjects"], "n_zei_dev": counts["zei_dev"], "n_genuine_eval": counts["genuine_eval"],
                "n_zei_eval": counts["zei_eval"], "n_attacks_eval": counts["attack_eval"]})
    return {column: row[column] for column in COLUMNS}


def _backend_info(backend: FRBackend) -> dict[str, object]:
    preprocessing = getattr(backend, "preprocessing", None)
    return {"preprocessing": preprocessing.as_dict() if preprocessing is not None else None,
            "licence": getattr(backend, "licence", "")}


def run(config: FRConfig) -> FROutput:
    """Run the protocol; write scores and metrics (CSV, JSON); return the record of what it wrote."""
    out = require_writable_dir(config.out)
    written = FROutput(out)
    genuine = load_faces(config.genuine, "real")
    attacks, excluded = {}, []
    for tier, paths in config.attacks.items():
        attacks[tier], dropped = exclude_fakes(load_faces(paths, "fake"), config.excluded)
        excluded += dropped
    if not attacks:
        raise SwaplabError("no attack set given: pass --attacks TIER=MANIFEST (deepfake faces)")
    videos = check_inputs(genuine, attacks)
    split = choose_split(config.split, videos, attacks)
    enrolment, probes = assign_probes(genuine, attacks, videos, split)
    rows, details = [], {"split": split, "enrolment_videos": {i: v[0] for i, v in videos.items()},
                         "excluded_fakes": len(set(excluded)), "excluded_fake_videos": sorted(set(excluded)),
                         "columns": COLUMNS, "backends": {}, "results": []}
    for name in config.backends:
        backend = FR_BACKENDS.get(name, device=config.device)
        details["backends"][name] = _backend_info(backend)
        frames = score_table(backend, enrolment, probes, split)
        for level, scores in (("frame", frames), ("video", video_level(frames))):
            write_score_files(scores, written.scores(name, level))
            for tier in sorted(attacks):
                found = scenario_metrics(scores, tier, config.bootstrap, config.seed)
                rows.append(flat_row(name, level, split, found))
                details["results"].append({"backend": name, "level": level, **found})
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    write_json_atomic(written.metrics_json, details)
    save_config(config, written.config)
    write_text_atomic(written.metrics_csv, table.to_csv(index=False))
    return written
