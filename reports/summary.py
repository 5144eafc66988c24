"""The report's summary: what was found, in sentences written from the computed figures.

One sentence per FR system and attack tier (IAPMR at the licit-EER threshold, with its 95 % interval
and the published figure where the study has one) and per detector one on the tiers it trained on
and one across tiers (HTER at the threshold chosen on dev). Every number is printed by
:mod:`swaplab.reports.columns`, as in the tables.
"""

from __future__ import annotations

import pandas as pd

from swaplab.reports import columns as C
from swaplab.reports import published

HEADLINE_LEVEL = "frame"


def headline(frame: pd.DataFrame, level: str = C.FR_LEVEL.key, by: str | None = None) -> pd.DataFrame:
    """The rows of the headline level: frame level when present, else the first level found; per
    ``by`` group when given (a video-level detector keeps its own first level)."""
    if level not in frame.columns or frame.empty:
        return frame
    if by is not None and by in frame.columns:
        return pd.concat([headline(part, level) for _, part in frame.groupby(by, sort=False)])
    levels = list(dict.fromkeys(frame[level]))
    return frame[frame[level] == (HEADLINE_LEVEL if HEADLINE_LEVEL in levels else levels[0])]


def _published_note(value: float | None, what: str) -> str:
    return f"; published on DeepfakeTIMIT: {value * 100:.2f}% {what}" if value is not None else ""


def fr_sentence(row: dict) -> str:
    """One FR system x tier: IAPMR [95 % CI] at the licit-EER threshold, licit EER, published figure."""
    backend, tier = str(row[C.FR_BACKEND.key]), str(row[C.FR_TIER.key])
    name = C.display_name(backend)
    iapmr = C.format_cell(row, C.FR_IAPMR)
    eer = C.format_cell(row, C.FR_LICIT_EER)
    note = _published_note(published.published_iapmr(backend, tier), "IAPMR")
    if C.is_missing(row.get(C.FR_IAPMR.key)):
        return f"{name}: the share of {tier} deepfakes accepted is {iapmr} (licit EER {eer} on dev{note})."
    return (f"{name} accepted {iapmr} of {tier} deepfakes as the claimed person at its licit-EER threshold "
            f"({_bootstrap(row)}licit EER {eer} on dev{note}).")


def _bootstrap(row: dict) -> str:
    """``'subject-bootstrap interval [a–b]; '``, why there is none, or nothing when the file has no such column."""
    low = C.FR_IAPMR_BOOT.low
    if low not in row:
        return ""
    if C.is_missing(row.get(low)):
        why = C.reason(row, low)
        return f"no subject-bootstrap interval{': ' + why if why else ''}; "
    return f"subject-bootstrap interval {C.format_cell(row, C.FR_IAPMR_BOOT)}; "


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _is_cross(row: dict) -> bool:
    if not C.is_missing(row.get(C.DET_CONDITION.key)):
        return row[C.DET_CONDITION.key] == "cross-condition"
    return row.get(C.DET_TRAIN_TIER.key, "all") not in ("all", row[C.DET_TIER.key])


def _detection_clause(row: dict) -> str:
    """``'12.3% on hq (APCER ..., BPCER ..., eval EER ...; published on DeepfakeTIMIT: 8.97% EER)'``."""
    detector, tier = str(row[C.DET_DETECTOR.key]), str(row[C.DET_TIER.key])
    parts = [f"{c.header.split(' (')[0]} {C.format_cell(row, c)}" for c in (C.DET_APCER, C.DET_BPCER) if c.key in row]
    if C.DET_EER.key in row:
        parts.append(f"EER {C.format_cell(row, C.DET_EER)} at eval's own threshold")
    note = _published_note(published.published_detection_eer(detector, tier), "EER")
    return f"{C.format_cell(row, C.DET_HTER)} on {tier} ({', '.join(parts)}{note})"


def detector_sentences(rows: list[dict]) -> list[str]:
    """One detector: HTER at the dev threshold on the tiers it trained on, then across tiers."""
    name = C.display_name(rows[0][C.DET_DETECTOR.key])
    own, cross = [r for r in rows if not _is_cross(r)], [r for r in rows if _is_cross(r)]
    sentences = []
    if own:
        pooled = any(r.get(C.DET_TRAIN_TIER.key) == "all" for r in own)
        how = ("without training, on every tier" if rows[0][C.DET_DETECTOR.key] in C.TRAINING_FREE
               else "trained on every tier" if pooled else "trained and tested on each tier")
        sentences.append(f"{name}, {how}, had an HTER at its dev threshold of "
                         f"{_join([_detection_clause(r) for r in own])}.")
    if cross:
        sentences.append(f"{name} on a tier it did not train on: HTER " + _join([
            f"{C.format_cell(r, C.DET_HTER)} (trained on {r[C.DET_TRAIN_TIER.key]}, tested on {r[C.DET_TIER.key]})"
            for r in cross]) + ".")
    return sentences


def fr_sentences(fr_metrics: pd.DataFrame | None) -> list[str]:
    """One sentence per FR system and tier, at the headline level."""
    if fr_metrics is None or fr_metrics.empty:
        return []
    rows = headline(fr_metrics).sort_values([C.FR_BACKEND.key, C.FR_TIER.key]).to_dict("records")
    return [fr_sentence(row) for row in rows]


def detection_sentences(detection: pd.DataFrame | None) -> list[str]:
    """Per detector, at the headline level: HTER on the tiers it trained on, then across tiers."""
    if detection is None or detection.empty:
        return []
    keys = [c.key for c in (C.DET_DETECTOR, C.DET_TRAIN_TIER, C.DET_TIER) if c.key in detection.columns]
    top = headline(detection, C.DET_LEVEL.key, by=C.DET_DETECTOR.key).sort_values(keys)
    return [sentence for _, part in top.groupby(C.DET_DETECTOR.key, sort=True)
            for sentence in detector_sentences(part.to_dict("records"))]


def summary_sentences(fr_metrics: pd.DataFrame | None, detection: pd.DataFrame | None) -> list[str]:
    """Every summary sentence: FR systems first, then detectors."""
    return fr_sentences(fr_metrics) + detection_sentences(detection)
